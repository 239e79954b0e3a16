"""Data parallelism on JAX's own machinery: one device mesh, the batch sharded, parameters replicated.

The mesh has one axis, "batch", over every device of every process (`jax.devices()`). Each process holds
its own block of the training rows (`data.shard_rows`), padded with zero-weight examples to a multiple of
its local device count; `jax.make_array_from_process_local_data` turns the blocks into one global array
sharded along the batch. Under `jax.set_mesh(mesh)` the unchanged training step then runs as one SPMD
program: each device computes the logits of its rows (`lr_jax.pixels`), XLA all-reduces the cost and
the gradient, and every device applies the same update to its replica of the parameters.

Several processes (hosts) are joined by `runtime.initialize_distributed`, driven by `parallel.*` in the config;
on CPU their collectives go through gloo.
"""

from __future__ import annotations

import contextlib

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lr_jax.config import ParallelConfig
from lr_jax.errors import ConfigError
from lr_jax.pixels import BATCH_AXIS


def use_mesh(cfg: ParallelConfig) -> bool:
    """Whether to shard the batch: more than one device in the run, and data parallelism on."""
    return jax.process_count() > 1 or (cfg.data_parallel and jax.device_count() > 1)


def make_mesh() -> Mesh:
    """A 1-D mesh ("batch",) over all devices of all processes, process by process."""
    return Mesh(np.asarray(jax.devices()), (BATCH_AXIS,))


def shard_batch(mesh: Mesh, x_local: np.ndarray, y_local: np.ndarray, weight_local: np.ndarray | None = None):
    """Global (x, y, weight) arrays sharded along the batch from this process's rows.

    Each process pads its block with zero-weight rows to the same length, a multiple of its local
    device count; every process must call this with blocks from `data.shard_rows`. `weight_local`
    (sample weights, default 1) is kept for the real rows.
    """
    block = _common_block_length(len(y_local))
    pad = block - len(y_local)
    real = np.ones(len(y_local), np.float32) if weight_local is None else weight_local
    weight = np.concatenate([real, np.zeros(pad, real.dtype)])
    x_pad = np.concatenate([x_local, np.zeros((pad, *x_local.shape[1:]), x_local.dtype)]) if pad else x_local
    y_pad = np.concatenate([y_local, np.zeros(pad, y_local.dtype)]) if pad else y_local
    rows = NamedSharding(mesh, P(BATCH_AXIS))
    return tuple(jax.make_array_from_process_local_data(rows, a) for a in (x_pad, y_pad, weight))


def _common_block_length(local_rows: int) -> int:
    """Rows per process after padding: the largest block, rounded up to the local device count."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        local_rows = int(np.max(multihost_utils.process_allgather(np.int64(local_rows))))
    per_device = -(-local_rows // jax.local_device_count())
    return per_device * jax.local_device_count()


def mesh_scope(mesh: Mesh | None):
    """`jax.set_mesh(mesh)` for the run's compiled steps; nothing at all without a mesh (any JAX)."""
    if mesh is None:
        return contextlib.nullcontext()
    if not hasattr(jax, "set_mesh") or not hasattr(jax, "shard_map"):
        raise ConfigError(
            f"sharding the batch over {jax.device_count()} devices needs jax.set_mesh and "
            f"jax.shard_map, which JAX {jax.__version__} lacks: upgrade JAX (pip install -U jax), "
            "or set parallel.data_parallel=false to train on one device."
        )
    return jax.set_mesh(mesh)


def replicate(mesh: Mesh, tree):
    """The same pytree (parameters, optimizer state, PRNG key) on every device of every process."""
    from jax.experimental import multihost_utils

    return multihost_utils.host_local_array_to_global_array(tree, mesh, P())
