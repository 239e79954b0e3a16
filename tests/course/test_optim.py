"""lr_jax reaches scikit-learn's solution on the course data: L2 + L-BFGS to convergence in float64
(the argument for comparing θ in norm: tests/test_optim.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from lr_jax import artifacts, experiment, loss, model, runtime, stages
from lr_jax.config import Config


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


RTOL = 1e-4  # ‖θ - θ_sk‖ / ‖θ_sk‖, θ = (w, b)


def sklearn_fit(x_ND, y_N, C, class_weight):
    with threadpool_limits(1):  # 2 shared cores: BLAS threads oversubscribe and run ~10x slower
        return LogisticRegression(C=C, class_weight=class_weight, tol=1e-10, max_iter=10_000).fit(x_ND, y_N)


def assert_same_solution(w_D, b, clf, x_NDs, objective):
    """Same θ within RTOL, a J no higher than scikit-learn's, identical predictions on every x_ND."""
    theta, theta_sk = np.r_[w_D, b], np.r_[clf.coef_[0], clf.intercept_]
    assert np.linalg.norm(theta - theta_sk) / np.linalg.norm(theta_sk) < RTOL
    params = {"w": jnp.asarray(w_D), "b": jnp.asarray(b)}
    sk_params = {"w": jnp.asarray(clf.coef_[0]), "b": jnp.asarray(clf.intercept_[0])}
    assert float(objective(params)) <= float(objective(sk_params)) + 1e-12
    for x_ND in x_NDs:
        np.testing.assert_array_equal(np.asarray(model.predict(params, jnp.asarray(x_ND))), clf.predict(x_ND))
