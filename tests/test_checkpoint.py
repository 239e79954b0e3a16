"""Checkpoints: exact round trips, keeping the newest k, SIGKILL and resume ending bit-identical to an
uninterrupted run, and a diverging run stopping at a finite checkpoint (chunked == one call: test_train.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lr_jax import checkpoint, train
from lr_jax.errors import ConfigError, DataError


def adam_state(n: int, seed: int) -> train.TrainState:
    """A state whose every part is non-trivial: random params, Adam's moments and count, a typed key."""
    key_params, key_state = jax.random.split(jax.random.key(seed))
    params = {"w": jax.random.normal(key_params, (n,)), "b": jnp.asarray(0.25)}
    grads = jax.tree.map(lambda p: p * 0.5, params)
    opt = optax.adam(0.1)
    _, opt_state = opt.update(grads, opt.init(params), params)
    return train.TrainState(params, opt_state, jnp.asarray(7, jnp.int32), key_state)


@pytest.mark.slow  # > 2 s on 2 cores
def test_save_restore_round_trip_is_exact(tmp_path):
    state, costs = adam_state(5, seed=1), np.linspace(1.0, 0.5, 7, dtype=np.float32)
    path = checkpoint.save(tmp_path, state, costs, {"optim": {"learning_rate": 0.1}}, keep=2)
    assert path.name == "step_00000007.npz"

    restored, restored_costs = checkpoint.restore(path, adam_state(5, seed=2), {"optim": {"learning_rate": 0.1}})

    for a, b in zip(jax.tree.leaves(state._replace(key=None)), jax.tree.leaves(restored._replace(key=None))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(jax.random.normal(state.key, (4,)), jax.random.normal(restored.key, (4,)))
    np.testing.assert_array_equal(restored_costs, costs)


def test_keeps_the_newest_checkpoints_and_removes_stale_temporary_files(tmp_path):
    (tmp_path / ".step_00000003.npz.abc.tmp").write_bytes(b"half a checkpoint")  # from a killed run
    for step in (1, 2, 3, 4):
        checkpoint.save(tmp_path, adam_state(3, 0)._replace(step=jnp.asarray(step)), np.zeros(step), {}, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000003.npz", "step_00000004.npz"]


@pytest.mark.parametrize(
    "n, config, error, says",
    [
        pytest.param(
            4, {}, DataError, "state.params['w'] holds float32[3], this run needs float32[4]", id="other-shape"
        ),
        pytest.param(
            3, {"optim": {"learning_rate": 0.2}}, ConfigError, "optim.learning_rate: 0.1 -> 0.2", id="other-config"
        ),
    ],
)
def test_restore_refuses_a_checkpoint_of_another_run(tmp_path, n, config, error, says):
    path = checkpoint.save(tmp_path, adam_state(3, 0), np.zeros(7), {"optim": {"learning_rate": 0.1}}, keep=1)
    with pytest.raises(error) as info:
        checkpoint.restore(path, adam_state(n, 0), config or {"optim": {"learning_rate": 0.1}})
    assert says in str(info.value)
