r"""Binary classification metrics of predicted probabilities, in plain numpy (the splits are small).

With the confusion counts tp, fp, tn, fn at a threshold:

    accuracy = (tp + tn) / m     precision = tp / (tp + fp)     recall = tp / (tp + fn)
    F1 = 2 · precision · recall / (precision + recall)
    log-loss = -(1/m) Σᵢ (yᵢ log pᵢ + (1 - yᵢ) log(1 - pᵢ)),  pᵢ clipped to [ε, 1 - ε]
    ROC-AUC = P(p of a random positive > p of a random negative), ties counted 1/2

An undefined ratio (no predicted or no actual positives) is 0, as scikit-learn's `zero_division=0`.
`confusion_matrix` is [[tn, fp], [fn, tp]] (rows: true class 0, 1), scikit-learn's layout.
"""

from __future__ import annotations

import numpy as np


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
    """A short text table: one row per scalar metric, one column per split."""
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
