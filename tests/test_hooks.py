"""The progress bar advances between fit's compiled chunks and shows the cost and the throughput."""

from __future__ import annotations

import io

import jax.numpy as jnp
import numpy as np

from lr_jax import hooks, train
from lr_jax.config import Config
from lr_jax.stages import initial_state


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_counts_iterations_and_shows_cost_and_throughput(rng):
    x = jnp.asarray(rng.integers(0, 256, (40, 12), dtype=np.uint8))
    y = jnp.asarray(rng.integers(0, 2, 40))
    state, hparams = initial_state(Config(), 12)
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
