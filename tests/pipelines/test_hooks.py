"""The progress bar advances between fit's compiled chunks and shows the cost and the throughput."""

from __future__ import annotations

import io

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import train
from lr_jax.config import Config
from lr_jax.pipelines import hooks
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.pipelines.stages import initial_state


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_counts_iterations_and_shows_cost_and_throughput(rng):
    x = jnp.asarray(rng.integers(0, 256, (40, 12), dtype=np.uint8))
    y = jnp.asarray(rng.integers(0, 2, 40))
    state, hparams = initial_state(spec_from_config(Config()), 12)
    out = _Terminal()
    with hooks.ProgressBar(250, examples_per_step=40, file=out) as bar:
        chunked = train.fit(state, x, y, hparams, num_steps=250, chunk_size=100, on_chunk=[bar])
        assert bar.bar.n == 250
    # chunked == one call is test_train.py's; here: the bar shows the run's last cost.
    assert "250/250" in out.getvalue() and f"cost={float(chunked.costs[-1]):.6f}" in out.getvalue()
    assert "examples_per_s=" in out.getvalue()


def test_disabled_bar_writes_nothing():
    out = _Terminal()
    with hooks.ProgressBar(10, examples_per_step=1, enabled=False, file=out) as bar:
        bar(None, np.zeros(10))
    assert out.getvalue() == ""


class _State:
    """The two fields ValidationTracker reads: params and step."""

    def __init__(self, step: int):
        self.params, self.step = {"w": np.full(2, float(step))}, np.int32(step)


def _scripted(values: dict[int, float]):
    """An evaluation whose validation log-loss at step s is values[s] (params["w"] holds the step)."""
    return lambda params: {"log_loss": values[int(params["w"][0])], "accuracy": 0.5, "confusion_matrix": [[1]]}


@pytest.mark.parametrize(
    "losses, patience, best, stopped_at",
    [
        # improves to 200, then 3 measurements without improvement: stops at 500 with patience 3
        ([0.7, 0.6, 0.5, 0.55, 0.5, 0.6, 0.4], 3, 200, 500),
        ([0.7, 0.6, 0.5, 0.55, 0.5, 0.6, 0.4], 4, 600, None),  # patience 4: 600 improves again, runs to the end
        ([0.7, 0.8, 0.9, 0.1, 0.1, 0.1, 0.1], 2, 0, 200),  # the start is a measurement: stops before 300's 0.1
        ([float("nan"), 0.9, 0.8, 0.7, 0.6, 0.5, 0.4], 1, 600, None),  # NaN never counts as the best
        ([0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6], 0, 200, None),  # no patience: measured only; ties do not improve
    ],
)
def test_tracker_keeps_the_best_params_and_stops_after_patience_measurements(losses, patience, best, stopped_at):
    values = dict(zip(range(0, 700, 100), losses))
    reported = []
    tracker = hooks.ValidationTracker(
        _scripted(values),
        every=100,
        num_steps=600,
        metric="val_log_loss",
        direction="min",
        patience=patience,
        report=[lambda step, scores: reported.append((step, scores["val_log_loss"]))],
    )
    tracker.start(_State(0))
    end = None
    for step in range(50, 650, 50):  # chunks of 50: only multiples of 100 are measured
        try:
            tracker(_State(step), np.zeros(50))
        except train.StopTraining:
            end = step
            break
    assert end == stopped_at == tracker.stopped_at
    assert tracker.best_step == best and tracker.best_params["w"][0] == best and tracker.best_value == values[best]
    measured = list(range(0, (stopped_at or 600) + 1, 100))
    assert tracker.curve()["iteration"] == measured and [s for s, _ in reported] == measured
    np.testing.assert_array_equal([v for _, v in reported], [values[s] for s in measured])
    assert "val_confusion_matrix" not in tracker.curve()  # scalars only
    assert tracker.record() == {
        "enabled": patience > 0,
        "metric": "val_log_loss",
        "direction": "min",
        "patience": patience or None,
        "best_iteration": best,
        "best_value": values[best],
        "stopped_at": stopped_at,
    }


def test_a_stopping_hook_ends_fit_with_the_state_reached(rng):
    """`StopTraining` from a hook: fit returns the state at that chunk boundary, not converged, marked stopped."""
    x = jnp.asarray(rng.normal(size=(30, 4)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 2, 30))
    state, hparams = initial_state(spec_from_config(Config()), 4)

    def stop_at_300(state, costs_n):
        if int(state.step) == 300:
            raise train.StopTraining("enough")

    stopped = train.fit(state, x, y, hparams, num_steps=1000, chunk_size=100, on_chunk=[stop_at_300])
    full = train.fit(state, x, y, hparams, num_steps=300)
    assert int(stopped.state.step) == 300 and stopped.stopped and not stopped.converged
    np.testing.assert_array_equal(np.asarray(stopped.costs), np.asarray(full.costs))  # chunks: the same numbers
    np.testing.assert_array_equal(np.asarray(stopped.state.params["w"]), np.asarray(full.state.params["w"]))


@pytest.mark.parametrize("start, end, every, steps", [(0, 100, 50, [0, 50]), (20, 130, 50, [50, 100]), (0, 7, 10, [0])])
def test_cost_reporter_hands_on_the_cost_of_every_logged_iteration(start, end, every, steps):
    reported = []
    costs_n = np.arange(start, end, dtype=np.float32) / 1000  # the cost before iteration s is s / 1000
    hooks.CostReporter(lambda step, values: reported.append((step, values)), every)(_State(end), costs_n)
    assert reported == [(s, {"train_cost": float(np.float32(s / 1000))}) for s in steps]
