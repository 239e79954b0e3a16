"""Validation during training on the course data: the val curve in costs.csv, metrics.json and the learning
curve agrees with the final evaluation; early stopping keeps and writes the best measured parameters."""

from __future__ import annotations

import csv

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import Config, artifacts, evaluate, models, train_and_evaluate
from lr_jax.pipelines import stages
from lr_jax.pipelines.spec import spec_from_config
from tests.conftest import curves_in_png


def _config(data_dir, **train):
    return Config.from_dict(
        {
            "data": {"dir": str(data_dir), "download": False, "val_fraction": 0.2},
            "train": {"num_iterations": 300, "log_every": 50, "checkpoint_every": 0, "print_cost": False, **train},
        }
    )


def _val_scores(config, params):
    """The validation metrics of `params` as the final evaluation computes them."""
    inputs = stages.load_inputs(spec_from_config(config))
    params = {k: jnp.asarray(v) for k, v in params.items()}
    return evaluate.evaluate_split(
        models.build(config.model), params, inputs.xs["val"], inputs.ys["val"], threshold=config.model.threshold
    )


@pytest.mark.slow
def test_val_curve_in_costs_csv_metrics_and_figure(data_dir, tmp_path):
    metrics = train_and_evaluate(_config(data_dir), tmp_path)
    curve = metrics["val_curve"]
    assert curve["iteration"] == [0, 50, 100, 150, 200, 250, 300]  # the start, every log_every, the end
    with open(tmp_path / "costs.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["iteration", "cost", "val_cost", "val_accuracy"]
    assert [int(r["iteration"]) for r in rows] == metrics["cost_iterations"] == curve["iteration"][:-1]
    for name in ("val_cost", "val_accuracy"):  # the same numbers, printed with repr: exact
        assert [float(r[name]) for r in rows] == curve[name][:-1]
    # The measurement at the end is the final evaluation's: the same function of the same parameters.
    # Two jitted programs (one split vs every split) may fuse the sum differently: 1e-6 relative in float32.
    np.testing.assert_allclose(curve["val_cost"][-1], metrics["val_cost"], rtol=1e-6)
    assert curve["val_accuracy"][-1] == metrics["val_accuracy"] and curve["val_log_loss"][-1] == pytest.approx(
        metrics["val_log_loss"], rel=1e-6
    )
    assert curve["val_cost"][0] == pytest.approx(np.log(2), rel=1e-6)  # w = 0, b = 0: p = 1/2 everywhere
    assert metrics["early_stopping"]["enabled"] is False and metrics["early_stopping"]["stopped_at"] is None
    best = int(np.argmin(curve["val_log_loss"]))
    assert metrics["early_stopping"]["best_iteration"] == curve["iteration"][best]
    assert curves_in_png(tmp_path / "learning_curve.png") == 2  # train and validation


@pytest.mark.slow
def test_early_stopping_keeps_and_writes_the_best_params(data_dir, tmp_path):
    """Validation accuracy is best at the start (all "non-cat": 26 of 42) and falls after it: with patience 3
    the run stops 3 measurements later, at 150, and keeps the parameters of iteration 0."""
    config = _config(
        data_dir,
        early_stopping=True,
        early_stopping_metric="val_accuracy",
        early_stopping_patience=3,
        early_stopping_warmup=0,  # every measurement counts: the start is the best one
    )
    metrics = train_and_evaluate(config, tmp_path)
    record, curve = metrics["early_stopping"], metrics["val_curve"]
    assert record["enabled"] and record["stopped_at"] == 150 == metrics["n_iter"] and record["best_iteration"] == 0
    assert curve["iteration"] == [0, 50, 100, 150] and max(curve["val_accuracy"][1:]) < curve["val_accuracy"][0]
    assert record["best_value"] == curve["val_accuracy"][0] == metrics["val_accuracy"] == 26 / 42
    assert metrics["converged"] is False
    params = artifacts.load_params(tmp_path / "params.npz")  # the best, not the last, parameters
    np.testing.assert_array_equal(params["w"], np.zeros(12288, np.float32))
    assert _val_scores(config, params)["accuracy"] == metrics["val_accuracy"]
    assert len(metrics["costs"]) == 3  # iterations 0, 50, 100: the costs of the iterations made


@pytest.mark.slow
def test_early_stopping_on_log_loss_keeps_a_mid_run_best(data_dir, tmp_path):
    """At α = 0.0001 the validation log-loss falls from 0.6931 to 0.6696 at iteration 50, then rises (0.6710,
    0.6719, ...): with patience 5 the run stops at 300 and keeps the parameters of iteration 50."""
    config = Config.from_dict(
        {
            **_config(data_dir, num_iterations=1000, early_stopping=True, early_stopping_warmup=0).to_dict(),
            "optim": {"learning_rate": 0.0001},
        }
    )
    metrics = train_and_evaluate(config, tmp_path)
    record, curve = metrics["early_stopping"], metrics["val_curve"]
    assert (record["best_iteration"], record["stopped_at"], metrics["n_iter"]) == (50, 300, 300)
    assert curve["iteration"] == list(range(0, 301, 50))
    assert record["best_value"] == min(curve["val_log_loss"]) == curve["val_log_loss"][1]
    assert record["best_value"] == pytest.approx(0.6696, abs=1e-4)
    scores = _val_scores(config, artifacts.load_params(tmp_path / "params.npz"))  # the kept parameters
    np.testing.assert_allclose(scores["log_loss"], record["best_value"], rtol=1e-6)
    np.testing.assert_allclose(metrics["val_log_loss"], record["best_value"], rtol=1e-6)
