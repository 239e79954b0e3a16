"""Final outputs become visible together: SIGKILL at every step of the commit of a resumed run leaves the
previous finished state or, once rolled forward, the new one; metrics.json always describes params.npz."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from lr_jax.runfolder import transaction as rundir
from tests.conftest import REPO_ROOT
from tests.faults.conftest import tiny_overrides

# Runs scripts/train.py with a SIGKILL injected at the K-th rename of the commit (K = -1: at the journal).
KILLER = """
import os, runpy, signal, sys
from lr_jax.runfolder import transaction as rundir
k, calls = int(sys.argv[1]), []
real_replace, real_save_json = rundir.os.replace, rundir.artifacts.save_json
def replace(src, dst):
    if rundir.STAGE_DIR in str(src) and rundir.STAGE_DIR not in str(dst):  # a rename of the commit
        if len(calls) == k:
            os.kill(os.getpid(), signal.SIGKILL)
        calls.append(src)
    real_replace(src, dst)
def save_json(path, obj):
    if k == -1 and str(path).endswith(rundir.JOURNAL):
        os.kill(os.getpid(), signal.SIGKILL)
    real_save_json(path, obj)
rundir.os.replace, rundir.artifacts.save_json = replace, save_json
sys.argv = [sys.argv[2], *sys.argv[3:]]
sys.path.insert(0, os.path.dirname(sys.argv[0]))  # as `python scripts/train.py` puts it
runpy.run_path(sys.argv[0], run_name="__main__")
"""
RESULTS = ("params.npz", "costs.csv", "metrics.json", "learning_curve.png", "roc_curve.png")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [-1, 0, 2, 6])  # at the journal, first rename, a middle one, metrics.json
def test_kill_during_the_final_writes_leaves_old_or_new(kill_at, finished_run, tiny_data):
    old = {name: rundir.sha256(finished_run / name) for name in RESULTS}
    overrides = tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(kill_at), str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    if kill_at == -1:  # before the commit point: the previous results, untouched
        assert not (finished_run / rundir.JOURNAL).exists()
        assert {name: rundir.sha256(finished_run / name) for name in RESULTS} == old
    rundir.finish_commit(finished_run)  # what the next run or predict does first
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["files_sha256"] == rundir.file_hashes(finished_run)
    assert metrics["n_iter"] == (20 if kill_at == -1 else 25)
    if kill_at == -1:
        assert {name: rundir.sha256(finished_run / name) for name in RESULTS} == old
    assert not (finished_run / rundir.STAGE_DIR).exists() or kill_at == -1
