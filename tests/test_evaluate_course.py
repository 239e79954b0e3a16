"""A run's evaluation (issue 4): metrics on train / val / test in metrics.json, the ROC plot, the split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lr_jax import data, runtime
from lr_jax.config import Config
from lr_jax.pipelines import experiment, stages
from tests.conftest import curves_in_png

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "confusion_matrix", "cost")


def test_split_validation_is_seeded_and_disjoint(course_data):
    train = course_data["train"]
    parts = [data.split_validation(train, 0.2, seed) for seed in (0, 0, 1)]
    (tr, val), (tr_again, _), (_, val_other) = parts
    assert val.y.shape == (42,) and tr.y.shape == (167,)
    assert np.array_equal(val.x_raw, parts[1][1].x_raw) and np.array_equal(tr.x_raw, tr_again.x_raw)
    assert not np.array_equal(val.x_raw, val_other.x_raw)
    rows = {r.tobytes() for r in train.x_raw}
    assert {r.tobytes() for r in tr.x_raw} | {r.tobytes() for r in val.x_raw} == rows
    assert data.split_validation(train, 0.0, 0) == (train, None)


@pytest.mark.slow  # > 2 s on 2 cores (a whole run with its figures)
def test_run_reports_every_metric_on_every_split(data_dir, tmp_path):
    config = Config.from_dict(
        {
            "data": {"dir": str(data_dir), "download": False, "val_fraction": 0.2},
            "model": {"class_weight": "balanced", "l2": 0.01},
            "train": {"num_iterations": 3, "batch_size": 64, "print_cost": False},
        }
    )
    metrics = experiment.train_and_evaluate(config, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text())["n_iter"] == metrics["n_iter"] == 3
    for split, m in (("train", 167), ("val", 42), ("test", 50)):
        for name in METRICS:
            assert f"{split}_{name}" in metrics, f"{split}_{name}"
        assert np.sum(metrics[f"{split}_confusion_matrix"]) == m
    assert metrics["converged"] is False and len(metrics["costs"]) == 1  # iteration 0 of 3, log_every=100
    assert curves_in_png(tmp_path / "roc_curve.png") == 3  # train, val, test (the diagonal is black)


@pytest.mark.parametrize("class_weight, expected", [(None, None), ("balanced", [209 / 274, 209 / 144])])
def test_balanced_weights_are_sklearns(course_data, class_weight, expected):
    from sklearn.utils.class_weight import compute_sample_weight

    y = course_data["train"].y
    with runtime.precision_scope("float64"):
        got = stages.sample_weights(class_weight, y, np.float64)
    if expected is None:
        assert got is None
    else:
        np.testing.assert_allclose(np.asarray(got), compute_sample_weight("balanced", y), rtol=1e-12)
        np.testing.assert_allclose(np.unique(np.asarray(got)), expected, rtol=1e-12)
