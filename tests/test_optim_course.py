"""lr_jax reaches scikit-learn's solution on the course data: L2 + L-BFGS to convergence in float64
(the argument for comparing θ in norm: tests/test_optim.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import artifacts, loss, runtime
from lr_jax.config import Config
from lr_jax.pipelines import experiment, stages
from tests.test_optim import assert_same_solution, sklearn_fit


@pytest.mark.slow
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_course_data_matches_sklearn(class_weight, course_data, data_dir, tmp_path):
    x = {s: course_data[s].features(np.float64) for s in ("train", "test")}
    y_train, m = course_data["train"].y, course_data["train"].y.shape[0]
    C = 1.0
    config = Config.from_dict(
        {
            "data": {"dir": str(data_dir), "download": False},
            "model": {"l2": 1 / (C * m), "class_weight": class_weight},
            "optim": {"name": "lbfgs"},
            "train": {"precision": "float64", "tol": 1e-9, "max_iterations": 2000, "print_cost": False},
        }
    )
    metrics = experiment.train_and_evaluate(config, tmp_path)
    assert metrics["converged"] and metrics["grad_norm"] < 1e-9
    p = artifacts.load_params(tmp_path / "params.npz")
    clf = sklearn_fit(x["train"], y_train, C, class_weight)
    with runtime.precision_scope("float64"):
        weight_N = stages.sample_weights(class_weight, y_train, jnp.float64)
        objective = lambda q: loss.cost(q, jnp.asarray(x["train"]), jnp.asarray(y_train), weight_N, 1 / (C * m))
        assert_same_solution(p["w"], p["b"], clf, [x["train"], x["test"]], objective)
