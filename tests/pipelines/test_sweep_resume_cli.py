"""A vmapped sweep killed with SIGKILL after a checkpoint of its stacked grid, resumed with train.resume=true,
ends bit-identical to an uninterrupted sweep, point by point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lr_jax import artifacts
from tests.conftest import REPO_ROOT
from tests.helpers import kill_after_first_checkpoint


def sweep_command(data_dir, run_dir, *extra) -> list[str]:
    """3 learning rates x 2 seeds (normal init, so the seeds differ), 2000 iterations, checkpoints every 100."""
    return [
        sys.executable,
        str(REPO_ROOT / "scripts" / "sweep.py"),
        f"data.dir={data_dir}",
        "data.download=false",
        "sweep.learning_rates=[0.005,0.002,0.001]",
        "sweep.seeds=[0,1]",
        "model.init=normal",
        "train.checkpoint_every=100",
        "train.keep_checkpoints=3",
        "train.print_cost=false",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


def run(command) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        command, cwd=REPO_ROOT, env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_killed_and_resumed_sweep_equals_uninterrupted_sweep(tmp_path, data_dir):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run(sweep_command(data_dir, whole))

    killed_at = kill_after_first_checkpoint(sweep_command(data_dir, killed), killed, timeout_s=300)
    assert killed_at != "step_00002000.npz" and not (killed / "summary.json").exists()

    resumed = run(sweep_command(data_dir, killed, "train.resume=true"))

    assert "resuming the grid at iteration" in resumed.stdout + resumed.stderr
    for i in range(6):
        a, b = (
            artifacts.load_params(killed / str(i) / "params.npz"),
            artifacts.load_params(whole / str(i) / "params.npz"),
        )
        for name in ("w", "b"):
            np.testing.assert_array_equal(a[name], b[name], err_msg=f"grid point {i}: {name}")
        assert (killed / str(i) / "costs.csv").read_bytes() == (whole / str(i) / "costs.csv").read_bytes()
        ma, mb = (json.loads((r / str(i) / "metrics.json").read_text()) for r in (killed, whole))
        assert ma["test_accuracy"] == mb["test_accuracy"] and ma["n_iter"] == mb["n_iter"] == 2000
    final = "checkpoints/step_00002000.npz"  # the stacked grid: every point's cost of every iteration
    with np.load(killed / final) as a, np.load(whole / final) as b:
        assert a["costs"].shape == (6, 2000)
        np.testing.assert_array_equal(a["costs"], b["costs"])
    summaries = [json.loads((r / "summary.json").read_text()) for r in (killed, whole)]
    assert summaries[0]["best"] == summaries[1]["best"]
    print(f"killed after {killed_at}")


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_of_another_grid(tmp_path, data_dir):
    """The grid is part of what a checkpoint must match: another list of learning rates is refused."""
    run_dir = tmp_path / "sweep"
    run(sweep_command(data_dir, run_dir, "train.num_iterations=100"))
    proc = subprocess.run(
        sweep_command(
            data_dir, run_dir, "train.num_iterations=200", "train.resume=true", "sweep.learning_rates=[1,2,3]"
        ),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "sweep_grid.learning_rates: [0.005, 0.002, 0.001] -> [1.0, 2.0, 3.0]" in proc.stderr
