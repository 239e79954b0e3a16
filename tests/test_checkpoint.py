"""Checkpoints: exact round trips, keeping the newest k, SIGKILL and resume ending bit-identical to an
uninterrupted run, and a diverging run stopping at a finite checkpoint (chunked == one call: test_train.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lr_jax import artifacts, checkpoint, train
from lr_jax.errors import ConfigError, DataError
from tests.conftest import REPO_ROOT


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


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path, data_dir, course_run, run_cli):
    """SIGKILL the real CLI after its first checkpoint, resume it, compare with `course_run` (same config)."""
    run = tmp_path / "run"
    overrides = [
        f"data.dir={data_dir}",
        "data.download=false",
        "train.checkpoint_every=100",
        "train.keep_checkpoints=3",
        "train.print_cost=false",
        f"hydra.run.dir={run}",
    ]
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not checkpoint.list_checkpoints(run / checkpoint.FOLDER) and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = checkpoint.list_checkpoints(run / checkpoint.FOLDER)[-1].name
    assert killed_at != "step_00002000.npz" and not (run / "params.npz").exists()

    code, _, err = run_cli("train", *overrides, "train.resume=true")

    assert code == 0, err
    resumed, uninterrupted = artifacts.load_params(run / "params.npz"), artifacts.load_params(course_run / "params.npz")
    for name in ("w", "b"):
        np.testing.assert_array_equal(resumed[name], uninterrupted[name])
    final = "checkpoints/step_00002000.npz"  # holds the cost of every iteration, 0 to 1999
    with np.load(run / final) as a, np.load(course_run / final) as b:
        assert a["costs"].shape == (2000,)
        np.testing.assert_array_equal(a["costs"], b["costs"])
    metrics = [json.loads((r / "metrics.json").read_text()) for r in (run, course_run)]
    assert metrics[0]["test_accuracy"] == metrics[1]["test_accuracy"] == 0.70
    print(f"killed after {killed_at}")


@pytest.mark.slow
def test_diverging_run_stops_and_keeps_the_last_finite_checkpoint(tmp_path, data_dir, run_cli):
    """Raw pixels at learning rate 1e29: the cost is finite for iterations 0 and 1, infinite from 2."""
    run = tmp_path / "run"
    code, _, err = run_cli(
        "train",
        f"data.dir={data_dir}",
        "data.download=false",
        "data.scale=false",
        "optim.learning_rate=1e29",
        "train.num_iterations=10",
        "train.checkpoint_every=1",
        "train.keep_checkpoints=5",
        f"hydra.run.dir={run}",
    )

    assert code == 2
    kept = run / "checkpoints" / "step_00000002.npz"
    assert err == (
        f"error: training diverged: the parameters or the cost became NaN or infinite between "
        f"iterations 2 and 3; the run stopped there and the last finite checkpoint is {kept}. Lower "
        "optim.learning_rate (or keep data.scale=true).\n"
    )
    assert sorted(p.name for p in run.iterdir() if p.name not in (".hydra", "train.log")) == [
        "checkpoints",
        "config.json",
    ]
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")] == [
        "step_00000001.npz",
        "step_00000002.npz",
    ]
    with np.load(kept) as npz:
        assert all(np.isfinite(npz[k]).all() for k in npz.files if k != "config")
