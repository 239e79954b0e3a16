"""The run folder Hydra is given (issue 20, families 8 and 10): an empty `hydra.run.dir=`, a folder under
/proc, a path that is a file, a read-only folder or a log file Hydra cannot open are each one `error:` line
and exit 2 before anything runs (scripts/hydra_fixes.py); advice to resume is given only where a checkpoint
exists to resume from, and following the advice works."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import types

import pytest

from lr_jax.runfolder import checkpoint, report
from tests.conftest import REPO_ROOT
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides

# scripts/<script>.py with Hydra's log file refused, as a read-only folder refuses it to a user who is not root.
REFUSED_LOG = """
import errno, logging, os, runpy, sys
def refuse(self):
    raise PermissionError(errno.EACCES, "Permission denied", self.baseFilename)
logging.FileHandler._open = refuse
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("script", ["train", "sweep"])
def test_an_empty_run_dir_is_refused(script, tmp_path, tiny_data, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = [o for o in tiny_overrides(tiny_data, tmp_path) if not o.startswith("hydra.run.dir=")]

    code, _, err = run_cli(script, *overrides, "hydra.run.dir=")

    assert_one_error(code, err)
    assert "hydra.run.dir is empty: the run's files would be written into the working directory" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["proc", "file"])
def test_a_run_dir_that_cannot_be_a_folder_is_refused(where, tmp_path, tiny_data, run_cli):
    run = "/proc/lr_jax-run" if where == "proc" else tmp_path / "a-file"
    if where == "file":
        run.write_text("the user's\n")

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"error: {run}: the run folder cannot be written (" in err and "nothing was trained" in err
    if where == "file":
        assert run.read_text() == "the user's\n"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["log-refused", "log-is-a-folder", "read-only"])
def test_hydras_log_file_failing_is_one_line(how, tmp_path, tiny_data):
    run = tmp_path / "run"
    run.mkdir()
    command = [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *tiny_overrides(tiny_data, run)]
    if how == "log-refused":
        command = [sys.executable, "-c", REFUSED_LOG, *command[1:]]
    elif how == "log-is-a-folder":
        (run / "train.log").mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder: the log-refused case injects the refusal instead")
        run.chmod(0o555)
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    run.chmod(0o755)

    assert_one_error(proc.returncode, proc.stderr)
    if how == "read-only":
        assert f"{run}: the run folder cannot be written (Permission denied)" in proc.stderr
    else:
        assert f"{run / 'train.log'}: Hydra cannot open the run's log file there" in proc.stderr
    assert [p.name for p in run.iterdir()] == (["train.log"] if how == "log-is-a-folder" else [])


def test_the_first_checkpoint_failing_does_not_advise_resuming(tmp_path, tiny_data, run_cli, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    real = checkpoint.artifacts
    monkeypatch.setattr(checkpoint, "artifacts", types.SimpleNamespace(atomic_open=full))
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert "writing the checkpoint failed (No space left on device)" in err
    assert "run the same command again: no checkpoint was kept yet, so it starts over" in err
    assert "train.resume" not in err
    monkeypatch.setattr(checkpoint, "artifacts", real)  # the advice, followed, works
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))
    assert code == 0, err


@pytest.mark.slow  # a whole CLI run; test_the_first_checkpoint_failing_does_not_advise_resuming is the fast one
def test_results_failing_without_checkpoints_does_not_advise_resuming(tmp_path, tiny_data, run_cli, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report.artifacts, "save_costs_csv", full)
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.checkpoint_every=0"))

    assert_one_error(code, err)
    assert "writing the run's results failed (No space left on device)" in err and "train.resume" not in err
    monkeypatch.undo()
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.checkpoint_every=0"))
    assert code == 0, err
