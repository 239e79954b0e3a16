"""Checks of a finished fit's outcome: a run can exit 0 and still have learned nothing.

Each check is a pure function of what a run already has on the host (its cost history, the training
labels and probabilities, the early-stopping record) and returns an `Outcome` (a code and a one-line
message naming the cause and the knob to turn) or None. `check_fit` runs them all; the pipelines record
the result in metrics.json's `warnings`, the estimator raises `OutcomeWarning`s.

The rules, with their thresholds (chosen so that the course's run, which learns steadily, passes each by a
wide margin, while the degenerate runs of the tests fail each by orders of magnitude):

  learned_nothing      J(final) > J(initial) - 1e-3·|J(initial)|: the cost fell by less than 0.1 %.
  one_class            every training example predicted as one class, on a training set with both.
  early_stop_at_start  early stopping kept its first measurement (the starting parameters).
  cost_rose            the mean cost of the last 10 % of the iterations exceeds the best cost reached before
                       them by more than 10 % of the progress made by then (oscillation, slow divergence).
  weights_unbounded    no penalty, every training example on the right side of the boundary, the cost still
                       falling by more than 1 % (relative) over the last 10 % of the iterations and already
                       below 1e-3 (every training probability within about 0.1 % of its label): the minimum
                       is at infinity and the weights grow for as long as the run lasts. (A run stopped
                       earlier by its iteration count, like the course's, is regularized by that count.)
  val_too_small        a val_ metric selects or stops the run, and the validation split has fewer than
                       10 examples of a class (ROC AUC, precision, recall and F1 then move in steps of
                       1/10 or more, and log-loss is dominated by a handful of examples).
  tol_not_reached      a tolerance was set and the iteration limit came first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

LEARN_RTOL = 1e-3  # learned_nothing: the relative fall of the cost below which a run learned nothing
TAIL_FRACTION = 0.1  # cost_rose, weights_unbounded: "the end of training" is the last 10 % of iterations
RISE_FRACTION = 0.1  # cost_rose: the rise, as a fraction of the progress made, that counts as rising
FALL_RTOL = 1e-2  # weights_unbounded: a relative fall over the tail above this is "still falling"
SATURATED_COST = 1e-3  # weights_unbounded: a mean training loss below this: the predictions have saturated
MIN_PER_CLASS = 10  # val_too_small: the fewest validation examples of each class a val_ metric needs


class Outcome(NamedTuple):
    """One outcome warning: a stable `code` (for scripts and the summary) and a one-line `message`."""

    code: str
    message: str


class OutcomeWarning(UserWarning):
    """The estimator's warning for a fit that finished but produced a doubtful model (`Outcome.message`)."""


class Knobs(NamedTuple):
    """The names of the settings a message tells the user to change (the CLI's keys, or the estimator's)."""

    learning_rate: str = "optim.learning_rate"
    iterations: str = "train.num_iterations"
    penalty: str = "model.l2"
    penalty_hint: str = "e.g. model.l2=0.01"
    val_fraction: str = "data.val_fraction"
    tol: str = "train.tol"
    max_iterations: str = "train.max_iterations"
    warmup: str = "train.early_stopping_warmup"


CLI_KNOBS = Knobs()
ESTIMATOR_KNOBS = Knobs(
    learning_rate="learning_rate",
    iterations="max_iter",
    penalty="C",
    penalty_hint="a finite C, e.g. C=1.0",
    val_fraction="the validation set",
    tol="tol",
    max_iterations="max_iter",
    warmup="",
)


def _tail_start(n: int) -> int:
    """The index where the last TAIL_FRACTION of `n` iterations begins (at least one iteration in the tail)."""
    return n - max(1, math.ceil(TAIL_FRACTION * n))


def learned_nothing(initial_cost: float, final_cost: float, knobs: Knobs = CLI_KNOBS) -> Outcome | None:
    """The final training cost is not at least 0.1 % below the cost of the initial parameters."""
    if not (math.isfinite(initial_cost) and math.isfinite(final_cost)):
        return None
    if final_cost <= initial_cost - LEARN_RTOL * abs(initial_cost):
        return None
    if final_cost > initial_cost + LEARN_RTOL * abs(initial_cost):  # it got worse: the steps are too long
        fix = f"the steps overshoot: lower {knobs.learning_rate}"
    else:
        fix = f"the steps are too short or too few: raise {knobs.learning_rate} or {knobs.iterations}"
    return Outcome(
        "learned_nothing",
        f"the model learned nothing: its training cost {final_cost:.6g} is not below the initial parameters' "
        f"{initial_cost:.6g}; {fix}.",
    )


def predicted_classes(proba: np.ndarray, threshold: float) -> np.ndarray:
    """Each example's predicted class: P(class 1) >= `threshold`, or of class probabilities (m, K) the most
    probable class."""
    p = np.asarray(proba)
    return np.argmax(p, axis=1) if p.ndim == 2 else (p >= threshold).astype(np.int64)


def one_class(train_y: np.ndarray, train_proba: np.ndarray, threshold: float, knobs: Knobs = CLI_KNOBS):
    """Every training example is predicted as one class although the training set has several."""
    y, predicted = np.asarray(train_y), predicted_classes(train_proba, threshold)
    n_classes = len(np.unique(y))
    if n_classes < 2 or len(np.unique(predicted)) != 1:
        return None
    label, has = int(predicted[0]), "both" if n_classes == 2 else f"{n_classes} classes"
    return Outcome(
        "one_class",
        f"the model predicts class {label} for every training example (the training set has {has}): it learned "
        f"no boundary; raise {knobs.learning_rate} or {knobs.iterations}, or check the data's labels.",
    )


def early_stop_at_start(record: Mapping[str, Any] | None, first_iteration: int | None, knobs: Knobs = CLI_KNOBS):
    """Early stopping kept its first measurement: the parameters the run started from."""
    if not record or not record.get("enabled") or first_iteration is None:
        return None
    if record.get("best_iteration") != first_iteration:
        return None
    return Outcome(
        "early_stop_at_start",
        f"early stopping kept its first measurement (iteration {first_iteration}, the starting parameters): "
        f"{record.get('metric')} never improved on it, so the run returns an untrained model; set "
        f"{knobs.warmup} (e.g. 500) or choose another train.early_stopping_metric.",
    )


def cost_rose(costs_T: Sequence[float] | np.ndarray, knobs: Knobs = CLI_KNOBS) -> Outcome | None:
    """The mean cost of the last 10 % of iterations is above the best cost before them by more than 10 % of
    the progress made by then (the progress of a run that never went below its start counts as 0)."""
    c = np.asarray(costs_T, dtype=np.float64)
    if c.size < 2 or not np.isfinite(c).all():  # a diverged run is reported as such elsewhere
        return None
    tail = _tail_start(c.size)
    best, recent = c[:tail].min(), c[tail:].mean()
    if recent <= best + RISE_FRACTION * (c[0] - best) + 1e-12 * abs(best):  # the last term: equal costs
        return None
    return Outcome(
        "cost_rose",
        f"the training cost rose over the last {c.size - tail} iterations (mean {recent:.6g}, best before "
        f"{best:.6g}): the steps oscillate or slowly diverge; lower {knobs.learning_rate}.",
    )


def weights_unbounded(
    costs_T: Sequence[float] | np.ndarray,
    train_y: np.ndarray,
    train_proba: np.ndarray,
    penalty: float,
    knobs: Knobs = CLI_KNOBS,
) -> Outcome | None:
    """No penalty, the training set separated, and the cost still falling at the end: the weights grow
    without bound and the result depends on when training stopped."""
    c = np.asarray(costs_T, dtype=np.float64)
    if penalty > 0 or c.size < 2 or not np.isfinite(c).all():
        return None
    y, p = np.asarray(train_y), np.asarray(train_proba)
    separated = np.all(np.argmax(p, axis=1) == y) if p.ndim == 2 else np.all((p > 0.5) == (y == 1))
    if len(np.unique(y)) < 2 or not separated:
        return None
    start = c[_tail_start(c.size) - 1]  # the cost just before the tail
    if not start > 0 or (start - c[-1]) / start <= FALL_RTOL or c[-1] >= SATURATED_COST:
        return None
    return Outcome(
        "weights_unbounded",
        f"the training set is separated and there is no penalty, so the cost has no minimum at finite weights: "
        f"the weights were still growing when the run stopped (cost {start:.3g} -> {c[-1]:.3g} over the last "
        f"{c.size - _tail_start(c.size)} iterations), the result depends on when it stopped, and its "
        f"probabilities are saturated (a confident mistake on new data costs without bound, so the cost and the "
        f"clipped log-loss disagree); add a penalty ({knobs.penalty_hint}).",
    )


def val_too_small(val_y: np.ndarray | None, metrics_used: Sequence[str], knobs: Knobs = CLI_KNOBS, n_classes: int = 2):
    """A val_ metric decides (selection or early stopping) on a split with fewer than MIN_PER_CLASS of a class."""
    used = sorted({m for m in metrics_used if m.startswith("val_")})
    if val_y is None or not used:
        return None
    counts = np.bincount(np.asarray(val_y).astype(np.int64), minlength=n_classes)
    if counts.min() >= MIN_PER_CLASS:
        return None
    has = f"{counts[0]} examples of class 0 and {counts[1]} of class 1"
    if counts.size > 2:
        has = f"{counts.min()} examples of class {int(counts.argmin())} (of {counts.size} classes)"
    return Outcome(
        "val_too_small",
        f"the validation split has {has}, too few for {', '.join(used)} (at least {MIN_PER_CLASS} of each "
        f"class): the metric moves in large steps and the choice it makes is noise; raise {knobs.val_fraction}.",
    )


def tol_not_reached(tol: float, converged: bool, stopped: bool, n_iter: int, knobs: Knobs = CLI_KNOBS):
    """A tolerance was set, and the run ended at its iteration limit instead."""
    if tol <= 0 or converged or stopped:
        return None
    return Outcome(
        "tol_not_reached",
        f"{knobs.tol}={tol:g} was not reached in {n_iter} iterations: the result depends on the iteration limit; "
        f"raise {knobs.max_iterations}, loosen {knobs.tol}, or add a penalty.",
    )


def check_fit(
    *,
    costs_T: Sequence[float],
    final_cost: float,
    train_y: np.ndarray,
    train_proba: np.ndarray,
    threshold: float = 0.5,
    penalty: float = 0.0,
    tol: float = 0.0,
    converged: bool = False,
    stopped: bool = False,
    early_stopping: Mapping[str, Any] | None = None,
    first_measured: int | None = None,
    val_y: np.ndarray | None = None,
    val_metrics: Sequence[str] = (),
    from_start: bool = True,
    knobs: Knobs = CLI_KNOBS,
) -> list[Outcome]:
    """Every check that applies to a fit, in a fixed order; [] for a run with nothing to flag.

    `train_proba` holds P(class 1) (m,) or class probabilities (m, K). `costs_T` is the training cost before
    each iteration since iteration 0, `final_cost` the objective of the parameters the run keeps;
    `from_start` is False for a warm start (whose initial parameters may rightly be the optimum already:
    learned_nothing is not checked).
    """
    costs = np.asarray(costs_T, dtype=np.float64)
    found = [
        learned_nothing(float(costs[0]), final_cost, knobs) if costs.size and from_start else None,
        one_class(train_y, train_proba, threshold, knobs),
        early_stop_at_start(early_stopping, first_measured, knobs),
        cost_rose(costs, knobs),
        weights_unbounded(costs, train_y, train_proba, penalty, knobs),
        val_too_small(val_y, val_metrics, knobs, np.shape(train_proba)[1] if np.ndim(train_proba) == 2 else 2),
        tol_not_reached(tol, converged, stopped, costs.size, knobs),
    ]
    return [w for w in found if w is not None]


def as_records(found: Sequence[Outcome]) -> list[dict[str, str]]:
    """metrics.json's `warnings`: [{"code", "message"}, ...]."""
    return [w._asdict() for w in found]


def strict_failure(codes: Sequence[str], where: str) -> str | None:
    """The one-line error of `train.strict=true` for the warnings' `codes` (None when there are none)."""
    if not codes:
        return None
    return (
        f"train.strict=true and {where} raised {len(codes)} outcome warning(s) ({', '.join(dict.fromkeys(codes))}); "
        "the files are written, and metrics.json lists them under `warnings`. Act on the warnings above, or "
        "set train.strict=false to accept the result."
    )
