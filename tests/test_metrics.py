"""lr_jax.metrics against sklearn.metrics on the same labels and probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from lr_jax import metrics


def _cases(rng):
    y = rng.integers(0, 2, 60)
    noisy = np.clip(0.35 * y + rng.uniform(0, 0.65, 60), 0, 1)
    return {
        "noisy": (y, noisy),
        "ties": (y, np.round(noisy, 1)),  # many tied scores: the AUC counts ties 1/2
        "saturated": (y, np.where(y == 1, 1.0, 0.0)),  # log-loss clipping at ε
        "float32": (y, noisy.astype(np.float32)),
        "no_predicted_positive": (y, np.full(60, 0.2)),  # precision 0/0 -> 0
    }


@pytest.mark.parametrize("case", ["noisy", "ties", "saturated", "float32", "no_predicted_positive"])
def test_binary_metrics_match_sklearn(case, rng):
    y, p = _cases(rng)[case]
    pred = (p > 0.5).astype(int)
    got = metrics.binary_metrics(y, p, threshold=0.5)
    want = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "roc_auc": skm.roc_auc_score(y, p),
        "log_loss": skm.log_loss(y, p),
    }
    rtol = 1e-12 if p.dtype == np.float64 else 1e-6  # sklearn's float32 log-loss rounds 1 - p in float32
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=1e-15, err_msg=name)
    assert got["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=[0, 1]).tolist()


def test_roc_curve_matches_sklearn(rng):
    y, p = _cases(rng)["ties"]
    fpr, tpr = metrics.roc_curve(y, p)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr, atol=1e-15)
    np.testing.assert_allclose(tpr, sk_tpr, atol=1e-15)


def test_roc_auc_is_nan_with_one_class():
    assert np.isnan(metrics.roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_format_table_lists_every_split_and_metric(rng):
    y, p = _cases(rng)["noisy"]
    table = metrics.format_table({"train": metrics.binary_metrics(y, p), "test": metrics.binary_metrics(y, p)})
    assert table.splitlines()[0].split() == ["metric", "train", "test"]
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "tn/fp/fn/tp"):
        assert name in table
