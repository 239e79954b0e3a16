"""Progress while a run trains: cost lines per chunk, plain progress lines off a terminal, chunk lengths."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import train
from lr_jax.config import Config
from lr_jax.errors import Interrupted
from lr_jax.pipelines import hooks, stages
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.pipelines.stages import initial_state
from lr_jax.runfolder import report


def _cost_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Cost after iteration")]


@pytest.mark.parametrize(
    "chunk_size",
    [7, *(pytest.param(c, marks=pytest.mark.slow) for c in (None, 50, 100))],  # 7: a remainder chunk
)
def test_chunked_cost_lines_are_the_report_lines(chunk_size, rng, caplog):
    x = jnp.asarray(rng.integers(0, 256, (30, 12), dtype=np.uint8))
    y = jnp.asarray(np.arange(30) % 2)
    state, hparams = initial_state(spec_from_config(Config()), 12)
    with caplog.at_level(logging.INFO):
        result = train.fit(
            state, x, y, hparams, num_steps=250, chunk_size=chunk_size, on_chunk=[hooks.CostPrinter(every=20)]
        )
        chunked = _cost_lines(caplog)
        caplog.clear()
        report.print_costs(*report.logged_costs(result.costs, 20))  # what the report printed after the loop
    assert chunked == _cost_lines(caplog) and len(chunked) == 13


def test_resumed_run_prints_its_past_cost_lines_first(caplog):
    printer = hooks.CostPrinter(every=2, past_costs=np.array([0.5, 0.4, 0.3], np.float32))

    class State:
        step = np.int32(5)

    with caplog.at_level(logging.INFO):
        printer.start(None)
        printer(State(), np.array([0.2, 0.1], np.float32))  # iterations 3 and 4
    assert _cost_lines(caplog) == [
        "Cost after iteration 0: 0.500000",
        "Cost after iteration 2: 0.300000",
        "Cost after iteration 4: 0.100000",
    ]


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_log_writes_a_line_at_most_every_interval(caplog):
    clock = _Clock()
    progress = hooks.ProgressLog(20000, every_s=5.0, clock=clock)

    class State:
        step = np.int32(0)

    progress.start(State())
    with caplog.at_level(logging.INFO, logger="lr_jax.pipelines.hooks"):
        for seconds, step in [(1.0, 500), (5.5, 1000), (7.0, 1500), (11.0, 2000)]:
            clock.now, State.step = 100.0 + seconds, np.int32(step)
            progress(State(), np.array([0.25, 0.125]))
    assert [r.getMessage() for r in caplog.records] == [
        "iteration 1000/20000, cost 0.125000, 5.5 s",
        "iteration 2000/20000, cost 0.125000, 11.0 s",
    ]


def test_a_grid_shows_its_lowest_and_highest_cost():
    assert hooks.describe_cost(np.array([[0.9, 0.5], [0.9, 0.25], [0.9, 0.75]])) == (
        "0.250000 to 0.750000 over 3 configs"
    )


def test_interrupted_run_says_the_last_cost_it_reached(tmp_path):
    class State:
        params, step = {"w": np.zeros(3, np.float32)}, np.array(7)

    with hooks.InterruptStop(None, tmp_path) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(Interrupted) as e:
            stop(State(), np.array([0.5, 0.25], np.float32))
    assert "training stopped at iteration 7 (cost 0.250000 at iteration 6), no checkpoint written" in str(e.value)


@pytest.mark.parametrize(
    "aligned, num_steps, work, expected",
    [
        (500, 2000, 3 * 209 * 12289, 500),  # the course off a terminal: checkpoints every 500, as before
        (100, 2000, 3 * 209 * 12289, 100),  # the course with its bar: every log_every
        (None, 2000, 3 * 209 * 12289, 2000),  # nothing to report: one call
        (500, 20000, 2e8, 100),  # 100 iterations at most: a divisor of 500, so checkpoints land
        (None, 20000, 2e8, 100),  # nothing to land on: a divisor of the run when one is close to the limit
        (None, 1009, 2e8, 100),  # a prime: equal chunks of the limit, a shorter last one
        (97, 1000, 2e8, 97),  # under the limit: as aligned
        (101, 1000, 2e8, 1),  # a prime over it: chunks of 1, so every logged iteration is still a boundary
    ],
)
def test_chunks_hold_a_few_seconds_of_work(aligned, num_steps, work, expected):
    assert stages.CHUNK_WORK == 2e10  # the rows with work 2e8 allow 100 iterations per chunk
    assert stages.chunk_length(aligned, num_steps, work_per_iteration=work) == expected


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_logged_to_the_console_go_around_the_bar(monkeypatch):
    console = logging.StreamHandler(sys.stdout)
    monkeypatch.setattr(logging.root, "handlers", [console])
    with hooks.ProgressBar(10, examples_per_step=1, file=_Terminal()) as bar:
        assert bar.visible and console not in logging.root.handlers  # through tqdm.write while the bar shows
    assert logging.root.handlers == [console]


def test_sweep_reports_progress_and_caps_its_chunks(tmp_path):
    from lr_jax.pipelines import sweep

    config = Config.from_dict({"sweep": {"learning_rates": [0.01, 0.001], "seeds": [0]}})
    spec = spec_from_config(config, record=sweep.checkpoint_config(config))
    points = sweep.grid_specs(sweep.grid_configs(config), like=spec)
    _, _, on_chunk, chunk = sweep.resumable_grid(spec, tmp_path, points, n_features=12, n_examples=40)
    assert isinstance(on_chunk[-1], hooks.ProgressLog) and chunk == config.train.checkpoint_every
    # 3 · 10,000 examples · 2 configs · 10,001 parameters: at most 33 iterations, and a divisor of 500: 25
    assert sweep.resumable_grid(spec, tmp_path, points, n_features=10_000, n_examples=10_000)[3] == 25
