"""The outcome checks on synthetic cost curves and predictions: each fires on its degenerate case, names its
knob, and stays quiet on a run that learned (the course's own curve among them)."""

from __future__ import annotations

import numpy as np
import pytest

from lr_jax import outcomes

T = np.arange(2000)
COURSE_LIKE = 0.69 * np.exp(-T / 700) + 0.1  # falls steadily to the end, like the course's 0.693 -> 0.14
FLAT = np.full(2000, 0.693147)
RISING = np.r_[np.linspace(0.69, 0.3, 1800), np.linspace(0.3, 0.5, 200)]  # slow divergence at the end
OSCILLATING = np.r_[np.linspace(0.69, 0.2, 1800), 0.2 + 0.3 * (np.arange(200) % 2)]  # every other step 0.5
NOISY_DESCENT = COURSE_LIKE + 0.002 * np.sin(T)  # minibatch noise: small next to the progress made
SEPARATED_TAIL = 0.69 * np.exp(-T / 200)  # no penalty, separated: the cost keeps falling to 3e-5
MODERATE_TAIL = 0.69 * np.exp(-T / 600)  # still falling, but at 0.025: stopped by its iteration count
Y = np.array([0, 0, 0, 1, 1, 1])
SEPARATED_P = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
MIXED_P = np.array([0.1, 0.6, 0.3, 0.7, 0.4, 0.9])  # two mistakes: not separated


@pytest.mark.parametrize(
    "costs, expected",
    [
        (COURSE_LIKE, []),
        (NOISY_DESCENT, []),
        (FLAT, ["learned_nothing"]),
        (RISING, ["cost_rose"]),
        (OSCILLATING, ["cost_rose"]),
        (np.r_[0.693147, np.full(99, 0.6931465)], ["learned_nothing"]),  # α = 1e-9: falls by 1e-7 relative
        (np.r_[0.69, np.full(99, 1.82)], ["learned_nothing", "cost_rose"]),  # rose at once and stayed there
    ],
)
def test_cost_curves(costs, expected):
    found = outcomes.check_fit(costs_T=costs, final_cost=float(costs[-1]), train_y=Y, train_proba=MIXED_P)
    assert [w.code for w in found] == expected


def test_the_rise_is_measured_against_the_progress_made():
    """A rise of 5 % of the progress (0.69 -> 0.2: 0.0245) passes, one of 20 % (0.098) does not."""
    descent = np.linspace(0.69, 0.2, 1800)
    assert outcomes.cost_rose(np.r_[descent, np.full(200, 0.2 + 0.05 * 0.49)]) is None
    assert outcomes.cost_rose(np.r_[descent, np.full(200, 0.2 + 0.2 * 0.49)]).code == "cost_rose"


@pytest.mark.parametrize(
    "costs, proba, penalty, flagged",
    [
        (SEPARATED_TAIL, SEPARATED_P, 0.0, True),
        (SEPARATED_TAIL, SEPARATED_P, 0.01, False),  # a penalty: the minimum is finite
        (SEPARATED_TAIL, MIXED_P, 0.0, False),  # not separated
        (MODERATE_TAIL, SEPARATED_P, 0.0, False),  # the cost still above 1e-3: not saturated
        (np.r_[SEPARATED_TAIL[:1000], np.full(1000, SEPARATED_TAIL[999])], SEPARATED_P, 0.0, False),  # stopped falling
    ],
)
def test_weights_unbounded(costs, proba, penalty, flagged):
    found = outcomes.weights_unbounded(costs, Y, proba, penalty)
    assert (found is not None) == flagged
    if flagged:
        assert "model.l2" in found.message and found.code == "weights_unbounded"


def test_one_class_on_a_training_set_with_both():
    assert outcomes.one_class(Y, np.full(6, 0.5), threshold=0.5).message.startswith("the model predicts class 1")
    assert outcomes.one_class(Y, np.full(6, 0.2), threshold=0.5).code == "one_class"
    assert outcomes.one_class(Y, MIXED_P, threshold=0.5) is None
    assert outcomes.one_class(np.ones(6, int), np.full(6, 0.9), threshold=0.5) is None  # one class in the data


@pytest.mark.parametrize(
    "record, first, flagged",
    [
        ({"enabled": True, "best_iteration": 0, "metric": "val_log_loss"}, 0, True),
        ({"enabled": True, "best_iteration": 500, "metric": "val_log_loss"}, 0, False),
        ({"enabled": False, "best_iteration": 0, "metric": "val_log_loss"}, 0, False),  # measured only: last kept
        ({"enabled": True, "best_iteration": 1000, "metric": "val_log_loss"}, 1000, True),  # a resumed run's start
        (None, None, False),
    ],
)
def test_early_stop_at_start(record, first, flagged):
    found = outcomes.early_stop_at_start(record, first)
    assert (found is not None) == flagged
    if flagged:
        assert "train.early_stopping_warmup" in found.message


@pytest.mark.parametrize(
    "counts, metrics, flagged",
    [
        ((26, 16), ["val_log_loss"], False),  # the course's 20 % split
        ((30, 9), ["val_roc_auc"], True),
        ((9, 30), ["val_accuracy", "test_accuracy"], True),
        ((30, 9), ["test_accuracy"], False),  # no val_ metric decides
        ((40, 0), ["val_roc_auc"], True),
    ],
)
def test_val_too_small(counts, metrics, flagged):
    val_y = np.r_[np.zeros(counts[0], int), np.ones(counts[1], int)]
    found = outcomes.val_too_small(val_y, metrics)
    assert (found is not None) == flagged
    if flagged:
        assert "data.val_fraction" in found.message and f"{counts[1]} of class 1" in found.message
    assert outcomes.val_too_small(None, ["val_roc_auc"]) is None


def test_tol_not_reached_only_when_a_tolerance_was_set_and_nothing_else_stopped_the_run():
    assert outcomes.tol_not_reached(1e-5, converged=False, stopped=False, n_iter=1000).code == "tol_not_reached"
    assert outcomes.tol_not_reached(0.0, converged=False, stopped=False, n_iter=1000) is None
    assert outcomes.tol_not_reached(1e-5, converged=True, stopped=False, n_iter=10) is None
    assert outcomes.tol_not_reached(1e-5, converged=False, stopped=True, n_iter=10) is None


def test_estimator_knobs_name_the_estimators_parameters():
    found = outcomes.check_fit(
        costs_T=FLAT, final_cost=0.693147, train_y=Y, train_proba=MIXED_P, knobs=outcomes.ESTIMATOR_KNOBS
    )
    assert "raise learning_rate or max_iter" in found[0].message and "optim." not in found[0].message
    assert outcomes.weights_unbounded(SEPARATED_TAIL, Y, SEPARATED_P, 0.0, outcomes.ESTIMATOR_KNOBS).message.endswith(
        "(a finite C, e.g. C=1.0)."
    )


def test_a_warm_start_is_not_checked_for_learning_and_non_finite_costs_are_left_to_the_divergence_guard():
    found = outcomes.check_fit(costs_T=FLAT, final_cost=0.693147, train_y=Y, train_proba=MIXED_P, from_start=False)
    assert found == []
    nan = np.r_[COURSE_LIKE[:10], np.nan]
    assert outcomes.cost_rose(nan) is None and outcomes.weights_unbounded(nan, Y, SEPARATED_P, 0.0) is None


def test_records_and_the_strict_error_line():
    found = outcomes.check_fit(costs_T=FLAT, final_cost=0.693147, train_y=Y, train_proba=np.full(6, 0.5))
    records = outcomes.as_records(found)
    assert [r["code"] for r in records] == ["learned_nothing", "one_class"] and set(records[0]) == {"code", "message"}
    line = outcomes.strict_failure([r["code"] for r in records], "the run")
    assert "\n" not in line and "learned_nothing, one_class" in line and "train.strict=false" in line
    assert outcomes.strict_failure([], "the run") is None


THREE_Y = np.array([0, 0, 1, 1, 2, 2])
THREE_SEPARATED_P = np.eye(3)[THREE_Y] * 0.8 + 0.2 / 3  # every example's own class the most probable


def test_k_class_checks_read_the_most_probable_class():
    assert outcomes.one_class(THREE_Y, THREE_SEPARATED_P, threshold=0.5) is None
    found = outcomes.one_class(THREE_Y, np.tile([0.2, 0.5, 0.3], (6, 1)), threshold=0.5)
    assert (
        found.message.startswith("the model predicts class 1") and "(the training set has 3 classes)" in found.message
    )
    assert outcomes.weights_unbounded(SEPARATED_TAIL, THREE_Y, THREE_SEPARATED_P, 0.0).code == "weights_unbounded"
    assert outcomes.weights_unbounded(SEPARATED_TAIL, THREE_Y, THREE_SEPARATED_P[::-1], 0.0) is None
    found = outcomes.val_too_small(np.r_[np.zeros(20, int), np.ones(20, int)], ["val_f1"], n_classes=3)
    assert "0 examples of class 2 (of 3 classes)" in found.message  # a class absent from the split counts 0
    fit = outcomes.check_fit(
        costs_T=COURSE_LIKE,
        final_cost=0.1,
        train_y=THREE_Y,
        train_proba=THREE_SEPARATED_P,
        val_y=THREE_Y,
        val_metrics=["val_f1"],
        penalty=0.1,
    )
    assert [w.code for w in fit] == ["val_too_small"]
