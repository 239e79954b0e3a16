"""Checkpoints through the real CLI: SIGKILL and resume ending bit-identical to an uninterrupted run,
and a diverging run stopping at a finite checkpoint."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from lr_jax import artifacts
from lr_jax.runfolder import checkpoint
from tests.conftest import REPO_ROOT
from tests.helpers import kill_after_first_checkpoint


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
    killed_at = kill_after_first_checkpoint(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides], run, timeout_s=120
    )
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
