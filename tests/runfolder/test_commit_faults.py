"""Final outputs become visible together: a real SIGKILL (the commit's test hook, LR_JAX_COMMIT_HOOK) at
steps of the commit of a resumed run leaves the previous finished state or, once rolled forward, the new
one; metrics.json always describes params.npz. tests/runfolder/test_journal_faults.py covers every step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from lr_jax.runfolder import journal
from lr_jax.runfolder import transaction as rundir
from tests.conftest import REPO_ROOT
from tests.tiny_run import tiny_overrides

RESULTS = ("params.npz", "costs.csv", "metrics.json", "learning_curve.png", "roc_curve.png")


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["backed-up", "journaled", "moved-3", "moved-8"])  # moved-8: metrics.json
def test_kill_during_the_final_writes_leaves_old_or_new(kill_at, finished_run, tiny_data):
    old = {name: rundir.sha256(finished_run / name) for name in RESULTS}
    overrides = tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, journal.HOOK_ENV: f"kill:{kill_at}"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    if kill_at == "backed-up":  # before the commit point: the previous results, untouched
        assert not (finished_run / rundir.JOURNAL).exists()
        assert {name: rundir.sha256(finished_run / name) for name in RESULTS} == old
    rundir.finish_commit(finished_run)  # what the next run or predict does first
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["files_sha256"] == rundir.file_hashes(finished_run)
    assert metrics["n_iter"] == (20 if kill_at == "backed-up" else 25)
    if kill_at == "backed-up":
        assert {name: rundir.sha256(finished_run / name) for name in RESULTS} == old
    assert not any((finished_run / name).exists() for name in (rundir.STAGE_DIR, journal.OLD_DIR, rundir.JOURNAL))
