"""lr_jax.metrics against sklearn.metrics on the same labels and probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from lr_jax import metrics
from lr_jax.errors import DataError


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


# K classes: every figure against sklearn.metrics with labels=range(K), zero_division=0. Both sides count the
# same integers (exact) or sum the same float64 terms, possibly in another order: rtol 1e-12 holds on any CPU.
# Plain numpy on the host: no GPU or TF32 is involved.
CLASSES = ("cat", "dog", "bird", "fish")


def _proba(rng, n: int, k: int, signal: float = 2.0, y=None) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, k, n) if y is None else y
    logits = rng.normal(size=(n, k)) + signal * np.eye(k)[y]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, p / p.sum(axis=1, keepdims=True)


def _multiclass_cases(rng):
    y, p = _proba(rng, 80, 4)
    y_rare, p_rare = _proba(rng, 40, 4, y=rng.integers(0, 3, 40))  # class 3 absent from y
    never = p.copy()
    never[:, 2] = 0.0  # class 2 never predicted (nor the argmax of a tie)
    never /= never.sum(axis=1, keepdims=True)
    return {
        "random": (y, p),
        "float32": (y, p.astype(np.float32)),
        "ties": (y, np.round(p, 1) / np.round(p, 1).sum(axis=1, keepdims=True)),
        "saturated": (y, np.eye(4)[y]),  # log-loss clipping at ε
        "never_predicted": (y, never),
        "absent_from_y": (y_rare, p_rare),
    }


MULTICLASS_CASES = ["random", "float32", "ties", "saturated", "never_predicted", "absent_from_y"]


@pytest.mark.parametrize("case", MULTICLASS_CASES)
def test_multiclass_metrics_match_sklearn(case, rng):
    y, p = _multiclass_cases(rng)[case]
    labels = list(range(len(CLASSES)))
    pred = np.argmax(p, axis=1)
    got = metrics.multiclass_metrics(y, p, CLASSES)
    averaged = {
        avg: skm.precision_recall_fscore_support(y, pred, labels=labels, average=avg, zero_division=0)
        for avg in ("macro", "micro")
    }
    want = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": averaged["macro"][0],
        "recall": averaged["macro"][1],
        "f1": skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0),
        "f1_micro": skm.f1_score(y, pred, labels=labels, average="micro", zero_division=0),
        "log_loss": skm.log_loss(y, p, labels=labels),
    }
    rtol = 1e-12 if p.dtype == np.float64 else 1e-6  # sklearn's float32 log-loss rounds 1 - p in float32
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=1e-15, err_msg=name)
    assert got["f1"] == pytest.approx(averaged["macro"][2], rel=1e-12)
    assert got["confusion_matrix"] == skm.confusion_matrix(y, pred, labels=labels).tolist()
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    assert list(got["per_class"]) == list(CLASSES)
    for c, name in enumerate(CLASSES):
        row = got["per_class"][name]
        np.testing.assert_allclose([row["precision"], row["recall"], row["f1"]], [precision[c], recall[c], f1[c]])
        assert row["support"] == support[c]
        if 0 < support[c] < len(y):
            assert row["roc_auc"] == pytest.approx(skm.roc_auc_score(y == c, p[:, c]), rel=1e-12)
        else:
            assert np.isnan(row["roc_auc"])
    if all(support):  # sklearn refuses a y missing a class: its ROC-AUC is the mean of the defined ones
        assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr", average="macro"), rel=1e-12)
    else:
        defined = [got["per_class"][n]["roc_auc"] for n, s in zip(CLASSES, support) if s]
        assert got["roc_auc"] == pytest.approx(np.mean(defined), rel=1e-12)


def test_multiclass_edge_cases_say_zero_not_nan(rng):
    y, p = _multiclass_cases(rng)["never_predicted"]
    row = metrics.multiclass_metrics(y, p, CLASSES)["per_class"]["bird"]  # never predicted: precision 0/0
    assert row["precision"] == 0.0 and row["f1"] == 0.0 and row["support"] > 0
    y, p = _multiclass_cases(rng)["absent_from_y"]
    row = metrics.multiclass_metrics(y, p, CLASSES)["per_class"]["fish"]  # absent from y: recall 0/0
    assert row["recall"] == 0.0 and row["support"] == 0 and np.isnan(row["roc_auc"])


def test_multiclass_metrics_of_two_classes_match_the_binary_counts(rng):
    y, p1 = rng.integers(0, 2, 50), rng.uniform(size=50)
    got = metrics.multiclass_metrics(y, np.stack([1 - p1, p1], axis=1), ("non-cat", "cat"))
    binary = metrics.binary_metrics(y, p1)
    assert got["confusion_matrix"] == binary["confusion_matrix"]
    assert got["accuracy"] == binary["accuracy"]
    assert got["per_class"]["cat"]["f1"] == pytest.approx(binary["f1"], rel=1e-12)
    assert got["log_loss"] == pytest.approx(binary["log_loss"], rel=1e-12)  # the same terms, log p or log(1 - p)


@pytest.mark.parametrize(
    ("y", "p", "expected"),
    [
        (np.array([0, 1, 3]), np.full((3, 3), 1 / 3), "expected integers 0 to 2"),
        (np.array([0.0, 1.0]), np.full((2, 3), 1 / 3), "expected integers 0 to 2"),
        (np.array([0, 1]), np.full((2, 4), 1 / 4), r"expected probabilities \(m, 3\)"),
        (np.array([0, 1]), np.full(2, 0.5), r"expected probabilities \(m, 3\)"),
    ],
)
def test_multiclass_metrics_refuse_mismatched_inputs(y, p, expected):
    with pytest.raises(DataError, match=expected):
        metrics.multiclass_metrics(y, p, ("a", "b", "c"))


def test_classification_metrics_dispatch_on_the_probabilities_shape(rng):
    y, p = _multiclass_cases(rng)["random"]
    assert metrics.classification_metrics(y, p, CLASSES) == metrics.multiclass_metrics(y, p, CLASSES)
    yb, pb = _cases(rng)["noisy"]
    assert metrics.classification_metrics(yb, pb, ("no", "yes"), 0.3) == metrics.binary_metrics(yb, pb, 0.3)


def test_multiclass_table_lists_splits_then_the_test_classes(rng):
    y, p = _multiclass_cases(rng)["random"]
    scores = {s: {"cost": 0.5, **metrics.multiclass_metrics(y, p, CLASSES)} for s in ("train", "test", "val")}
    lines = metrics.format_table(scores).splitlines()
    assert lines[0].split() == ["metric", "train", "test", "val"]
    assert [line[:16].strip() for line in lines[1:6]] == [
        "cost",
        "accuracy",
        "f1 (macro)",
        "roc_auc (macro)",
        "log_loss",
    ]
    assert lines[6].split() == ["test", "class", "precision", "recall", "f1", "roc_auc", "support"]
    for line, name in zip(lines[7:], CLASSES):
        row = scores["test"]["per_class"][name]
        assert line.split() == [
            name,
            *(f"{row[c]:.4f}" for c in ("precision", "recall", "f1", "roc_auc")),
            str(row["support"]),
        ]
    assert len(lines) == 7 + len(CLASSES)
