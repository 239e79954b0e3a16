r"""Classification metrics of predicted probabilities, in plain numpy (the splits are small).

With the confusion counts tp, fp, tn, fn at a threshold:

    accuracy = (tp + tn) / m     precision = tp / (tp + fp)     recall = tp / (tp + fn)
    F1 = 2 · precision · recall / (precision + recall)
    log-loss = -(1/m) Σᵢ (yᵢ log pᵢ + (1 - yᵢ) log(1 - pᵢ)),  pᵢ clipped to [ε, 1 - ε]
    ROC-AUC = P(p of a random positive > p of a random negative), ties counted 1/2

An undefined ratio (no predicted or no actual positives) is 0, as scikit-learn's `zero_division=0`.
`confusion_matrix` is [[tn, fp], [fn, tp]] (rows: true class 0, 1), scikit-learn's layout.

K classes (`multiclass_metrics`, probabilities P of shape (m, K)): the predicted class is argmax_k P_ik (the
first on a tie, as `np.argmax`), C_jk counts the examples of true class j predicted k, and for class k

    precision_k = C_kk / Σ_j C_jk     recall_k = C_kk / Σ_j C_kj     F1_k = 2 C_kk / (Σ_j C_jk + Σ_j C_kj)
    macro = the mean over the K classes;  micro F1 = Σ_k C_kk / m = accuracy (one label per example)
    log-loss = -(1/m) Σᵢ log P_i,yᵢ,  P clipped to [ε, 1 - ε];  ROC-AUC_k = ROC-AUC of (y = k, P_:k)

all over the K classes the model has, as scikit-learn's metrics with `labels=range(K)` and `zero_division=0`:
a class never predicted has precision 0, a class absent from y recall 0, one that is neither F1 0 (and
all of them count in the macro means). Its one-vs-rest ROC-AUC is NaN when y holds no example of it, or
only examples of it; the macro ROC-AUC is the mean of the defined ones (scikit-learn refuses such a y).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lr_jax.errors import DataError


def confusion_matrix(y_true_N, y_pred_N) -> np.ndarray:
    """[[tn, fp], [fn, tp]] as int64[2, 2]."""
    y_true_N, y_pred_N = np.asarray(y_true_N).astype(np.int64), np.asarray(y_pred_N).astype(np.int64)
    return np.bincount(2 * y_true_N + y_pred_N, minlength=4).reshape(2, 2)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def log_loss(y_true_N, proba_N) -> float:
    """Mean cross-entropy of probabilities clipped to [ε, 1 - ε] (ε of their dtype, as scikit-learn)."""
    proba_N = np.asarray(proba_N)
    proba_N = proba_N.astype(np.float64) if proba_N.dtype.kind != "f" else proba_N
    eps = np.finfo(proba_N.dtype).eps
    p_N = np.clip(proba_N, eps, 1 - eps).astype(np.float64)
    y_N = np.asarray(y_true_N, np.float64)
    return float(-np.mean(y_N * np.log(p_N) + (1 - y_N) * np.log1p(-p_N)))


def roc_curve(y_true_N, score_N) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates), from (0, 0) through each distinct score, descending."""
    y_N, s_N = np.asarray(y_true_N).astype(bool), np.asarray(score_N, np.float64)
    order = np.argsort(-s_N, kind="stable")
    y_N, s_N = y_N[order], s_N[order]
    last_of_tie = np.r_[s_N[1:] != s_N[:-1], True]  # one point per distinct threshold
    tps, fps = np.cumsum(y_N)[last_of_tie], np.cumsum(~y_N)[last_of_tie]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    return fpr, tpr


def roc_auc(y_true_N, score_N) -> float:
    """Area under the ROC curve (trapezoids, so tied scores count 1/2); NaN with a single class."""
    y_N = np.asarray(y_true_N).astype(bool)
    if y_N.all() or not y_N.any():
        return float("nan")
    fpr, tpr = roc_curve(y_N, score_N)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def binary_metrics(y_true_N, proba_N, threshold: float = 0.5) -> dict:
    """accuracy, precision, recall, f1, roc_auc, log_loss and confusion_matrix (nested list) of one split."""
    y_pred_N = (np.asarray(proba_N) > threshold).astype(np.int64)  # the course's rule, as model.predict
    (tn, fp), (fn, tp) = cm = confusion_matrix(y_true_N, y_pred_N)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(tp + tn, cm.sum()),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "roc_auc": roc_auc(y_true_N, proba_N),
        "log_loss": log_loss(y_true_N, proba_N),
        "confusion_matrix": cm.tolist(),
    }


def format_table(metrics_by_split: dict[str, dict]) -> str:
    """A short text table: one row per scalar metric, one column per split (`multiclass_table` for K classes)."""
    if "per_class" in next(iter(metrics_by_split.values())):
        return multiclass_table(metrics_by_split)
    splits = list(metrics_by_split)
    names = [k for k, v in next(iter(metrics_by_split.values())).items() if np.isscalar(v)]
    lines = [f"{'metric':<16}" + "".join(f"{s:>12}" for s in splits)]
    lines += [f"{n:<16}" + "".join(_cell(metrics_by_split[s][n]) for s in splits) for n in names]
    counts = ["/".join(map(str, np.ravel(metrics_by_split[s]["confusion_matrix"]))) for s in splits]
    lines.append(f"{'tn/fp/fn/tp':<16}" + "".join(f"{c:>12}" for c in counts))
    return "\n".join(lines)


def _cell(value: float) -> str:
    """A value to 4 decimals in a 12-character column; past 1e6 (a cost that blew up) to 4 significant digits."""
    return f"{value:>12.4f}" if abs(value) < 1e6 or not np.isfinite(value) else f"{value:>12.4g}"


def multiclass_confusion_matrix(y_true_N, y_pred_N, n_classes: int) -> np.ndarray:
    """int64[K, K]: entry (j, k) counts the examples of true class j predicted k (scikit-learn's layout)."""
    y_true_N, y_pred_N = np.asarray(y_true_N).astype(np.int64), np.asarray(y_pred_N).astype(np.int64)
    return np.bincount(n_classes * y_true_N + y_pred_N, minlength=n_classes**2).reshape(n_classes, n_classes)


def _ratios(num_K: np.ndarray, den_K: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den is 0 (scikit-learn's zero_division=0)."""
    num_K, den_K = np.asarray(num_K, np.float64), np.asarray(den_K, np.float64)
    return np.divide(num_K, den_K, out=np.zeros_like(num_K), where=den_K != 0)


def multiclass_log_loss(y_true_N, proba_NK) -> float:
    """Mean of -log P_i,yᵢ, P clipped to [ε, 1 - ε] (ε of its dtype, as scikit-learn and `log_loss`)."""
    proba_NK = np.asarray(proba_NK)
    proba_NK = proba_NK.astype(np.float64) if proba_NK.dtype.kind != "f" else proba_NK
    eps = np.finfo(proba_NK.dtype).eps
    p_N = np.take_along_axis(proba_NK, np.asarray(y_true_N, np.int64)[:, None], axis=1)[:, 0]
    return float(-np.mean(np.log(np.clip(p_N, eps, 1 - eps).astype(np.float64))))


def check_multiclass(y_true_N, proba_NK, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(y int64[m], P[m, K]) checked against each other and the K class names; DataError otherwise."""
    y_N, proba_NK, k = np.asarray(y_true_N), np.asarray(proba_NK), len(class_names)
    if proba_NK.ndim != 2 or proba_NK.shape != (y_N.shape[0], k) or y_N.ndim != 1:
        raise DataError(
            f"class probabilities of shape {proba_NK.shape} for labels of shape {y_N.shape} and {k} class names: "
            f"expected probabilities (m, {k}), one row per label and one column per class name"
        )
    if y_N.size and (y_N.dtype.kind not in "iub" or y_N.min() < 0 or y_N.max() >= k):
        raise DataError(
            f"labels {np.unique(y_N)[:10].tolist()} of dtype {y_N.dtype}: expected integers 0 to {k - 1}, "
            f"the positions of the class names {list(class_names)}; map each label to its class's position"
        )
    return y_N.astype(np.int64), proba_NK


def multiclass_metrics(y_true_N, proba_NK, class_names: Sequence[str]) -> dict:
    """accuracy, macro precision, recall and f1, f1_micro, macro roc_auc (one-vs-rest), log_loss, the K x K
    confusion_matrix (nested list) and per_class ({class name: precision, recall, f1, roc_auc, support})."""
    y_N, proba_NK = check_multiclass(y_true_N, proba_NK, class_names)
    k = len(class_names)
    cm = multiclass_confusion_matrix(y_N, np.argmax(proba_NK, axis=1), k)
    tp_K, predicted_K, support_K = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    precision_K, recall_K = _ratios(tp_K, predicted_K), _ratios(tp_K, support_K)
    f1_K = _ratios(2 * tp_K, predicted_K + support_K)
    auc_K = np.array([roc_auc(y_N == c, proba_NK[:, c]) for c in range(k)])
    defined = auc_K[np.isfinite(auc_K)]
    per_class = {
        str(name): {
            "precision": float(precision_K[c]),
            "recall": float(recall_K[c]),
            "f1": float(f1_K[c]),
            "roc_auc": float(auc_K[c]),
            "support": int(support_K[c]),
        }
        for c, name in enumerate(class_names)
    }
    return {
        "accuracy": _ratio(tp_K.sum(), cm.sum()),
        "precision": float(precision_K.mean()),
        "recall": float(recall_K.mean()),
        "f1": float(f1_K.mean()),
        "f1_micro": _ratio(2 * tp_K.sum(), predicted_K.sum() + support_K.sum()),
        "roc_auc": float(defined.mean()) if defined.size else float("nan"),
        "log_loss": multiclass_log_loss(y_N, proba_NK) if y_N.size else float("nan"),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
    }


def classification_metrics(y_true_N, proba, class_names: Sequence[str], threshold: float = 0.5) -> dict:
    """`binary_metrics` of P(class 1) (shape (m,)), `multiclass_metrics` of class probabilities (m, K)."""
    if np.ndim(proba) == 1:
        return binary_metrics(y_true_N, proba, threshold)
    return multiclass_metrics(y_true_N, proba, class_names)


# The K-class table's rows per split: {metric key: row label}.
MULTICLASS_ROWS = {
    "cost": "cost",
    "accuracy": "accuracy",
    "f1": "f1 (macro)",
    "roc_auc": "roc_auc (macro)",
    "log_loss": "log_loss",
}
PER_CLASS_COLUMNS = ("precision", "recall", "f1", "roc_auc", "support")


def multiclass_table(metrics_by_split: Mapping[str, Mapping], per_class_split: str = "test") -> str:
    """The K-class table: cost, accuracy, macro F1 and ROC-AUC, log-loss per split (columns), then one row
    per class of `per_class_split` (the last split when there is none of that name) with its precision,
    recall, F1, ROC-AUC and support."""
    splits = list(metrics_by_split)
    first = metrics_by_split[splits[0]]
    lines = [f"{'metric':<16}" + "".join(f"{s:>12}" for s in splits)]
    for key, label in MULTICLASS_ROWS.items():
        if key in first:
            lines.append(f"{label:<16}" + "".join(_cell(metrics_by_split[s][key]) for s in splits))
    split = per_class_split if per_class_split in metrics_by_split else splits[-1]
    per_class = metrics_by_split[split]["per_class"]
    width = max(16, *(len(name) + 1 for name in per_class))
    lines.append(f"{split + ' class':<{width}}" + "".join(f"{c:>12}" for c in PER_CLASS_COLUMNS))
    for name, row in per_class.items():
        cells = [_cell(row[c]) for c in PER_CLASS_COLUMNS[:-1]] + [f"{row['support']:>12}"]
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)
