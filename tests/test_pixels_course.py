"""The course run on raw uint8 pixels ends where the float32-feature run does."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import train
from lr_jax.config import Config
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.pipelines.stages import initial_state


@pytest.mark.slow  # 2000 iterations, twice
def test_course_run_on_uint8_matches_the_float32_run(course_data):
    """2000 steps on raw uint8 pixels end within 1e-5 of the same run on float32 features."""
    split = course_data["train"]
    y = jnp.asarray(split.y, jnp.int32)
    state, hparams = initial_state(spec_from_config(Config()), 12288)
    runs = [
        train.fit(state, jnp.asarray(x), y, hparams, num_steps=2000)
        for x in (split.features(np.float32), split.x_raw.reshape(len(y), -1))
    ]
    np.testing.assert_allclose(runs[1].costs, runs[0].costs, atol=1e-5)
    for k in ("w", "b"):
        np.testing.assert_allclose(runs[1].state.params[k], runs[0].state.params[k], atol=1e-5)
    assert runs[1].state.params["w"].dtype == jnp.float32
