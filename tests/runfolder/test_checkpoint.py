"""Checkpoints: exact round trips, keeping the newest k, refusing another run's checkpoint, and a stopped
minibatch or L-BFGS run resumed bit-identical to an uninterrupted one (chunked == one call: test_train.py;
SIGKILL of the real CLI and divergence: test_checkpoint_cli.py)."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lr_jax import artifacts, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError, DataError
from lr_jax.pipelines import experiment, stages
from lr_jax.runfolder import checkpoint


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


TRAINING_HOOKS = stages.training_hooks  # the library's, wrapped anew by each call below


class Stopped(Exception):
    """Raised by `StopAfter`: the run ends there as if killed, its checkpoints on disk."""


def record_and_stop_hooks(monkeypatch, stop_at: int | None, seen: list[int]) -> None:
    """Every run's hooks gain one that records the step after each chunk and raises Stopped at `stop_at`."""

    def stop_after(state, costs_n) -> None:
        seen.append(int(state.step))
        if stop_at is not None and int(state.step) >= stop_at:
            raise Stopped(int(state.step))

    def hooks_with_stop(*args, **kwargs):
        on_chunk, chunk = TRAINING_HOOKS(*args, **kwargs)
        return [*on_chunk, stop_after], chunk  # after the checkpoint writer: step stop_at is on disk

    monkeypatch.setattr(stages, "training_hooks", hooks_with_stop)


RESUMABLE_RUNS = {
    "minibatch": {"optim": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9}, "train": {"batch_size": 16}},
    "lbfgs": {"optim": {"name": "lbfgs", "memory_size": 3}, "model": {"l2": 0.1}},
}


@pytest.mark.slow  # three runs each; L-BFGS's line search compiles for > 10 s on 2 shared cores
@pytest.mark.parametrize("kind", sorted(RESUMABLE_RUNS))
def test_stopped_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, monkeypatch, kind):
    """Stopped after its checkpoint at iteration 6 of 12 and resumed with train.resume=true: the minibatch
    order (the state's PRNG key), momentum and L-BFGS's (s, y) memory all come back from the checkpoint."""
    sections = RESUMABLE_RUNS[kind]
    config = Config.from_dict(
        {
            **sections,
            "data": {"name": "synthetic", "num_examples": 40, "num_test": 16, "num_features": 6},
            "train": {
                **sections.get("train", {}),
                "num_iterations": 12,
                "checkpoint_every": 3,
                "log_every": 1,
                "print_cost": False,
                "progress": False,
            },
        }
    )
    seen = {"whole": [], "stopped": [], "resumed": []}
    record_and_stop_hooks(monkeypatch, None, seen["whole"])
    experiment.train_and_evaluate(config, tmp_path / "whole")
    record_and_stop_hooks(monkeypatch, 6, seen["stopped"])
    with pytest.raises(Stopped):
        experiment.train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "params.npz").exists()
    record_and_stop_hooks(monkeypatch, None, seen["resumed"])
    experiment.train_and_evaluate(
        dataclasses.replace(config, train=dataclasses.replace(config.train, resume=True)), tmp_path / "run"
    )

    assert seen == {"whole": [3, 6, 9, 12], "stopped": [3, 6], "resumed": [9, 12]}  # it did resume at 6
    got, want = (artifacts.load_params(tmp_path / r / "params.npz") for r in ("run", "whole"))
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    metrics = [json.loads((tmp_path / r / "metrics.json").read_text()) for r in ("run", "whole")]
    assert metrics[0]["costs"] == metrics[1]["costs"] and len(metrics[0]["costs"]) == 12
    for key in ("train_cost", "test_cost", "test_accuracy", "n_iter"):
        assert metrics[0][key] == metrics[1][key], key
    final = "checkpoints/step_00000012.npz"  # the state and every cost since iteration 0
    with np.load(tmp_path / "run" / final) as a, np.load(tmp_path / "whole" / final) as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            if k not in ("config", "checksum"):  # the config differs in train.resume only, and so its checksum
                np.testing.assert_array_equal(a[k], b[k], err_msg=k)
