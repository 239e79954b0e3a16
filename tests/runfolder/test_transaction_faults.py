"""A run folder as a transaction: a finished run is kept, one run at a time, unwritable or full folders
refused before training. Each case: the exit code, the one `error:` line, and every file as it was."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import types

import pytest

from lr_jax import artifacts
from lr_jax.runfolder import transaction as rundir
from tests.tiny_run import tiny_overrides

OUTPUTS = ("params.npz", "costs.csv", "metrics.json", "config.json")


def assert_one_error(code, err, expected_code=2):
    assert code == expected_code, err
    assert err.startswith("error: ") and err.count("error:") == 1 and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_finished_run_without_checkpoints_is_not_overwritten(finished_run, tiny_data, run_cli, snapshot):
    for p in (finished_run / "checkpoints").iterdir():
        p.unlink()
    before = snapshot(finished_run)

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, finished_run, "train.seed=1"))

    assert_one_error(code, err)
    assert f"{finished_run} holds a finished run (metrics.json is there)" in err and "train.overwrite=true" in err
    assert snapshot(finished_run) == before


@pytest.mark.slow  # a whole CLI run; the refusal without train.overwrite stays in the fast lane
def test_overwrite_replaces_a_finished_run(finished_run, tiny_data, run_cli):
    old = json.loads((finished_run / "metrics.json").read_text())

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, finished_run, "train.overwrite=true", "optim.name=adam"))

    assert code == 0, err
    new = json.loads((finished_run / "metrics.json").read_text())
    assert new["config"]["optim"]["name"] == "adam" != old["config"]["optim"]["name"]
    assert new["files_sha256"] == rundir.file_hashes(finished_run)
    assert not (finished_run / rundir.LOCK_FILE).exists() and not (finished_run / rundir.STAGE_DIR).exists()


def test_a_second_run_is_refused_naming_the_holder(tmp_path, tiny_data, run_cli, snapshot):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from lr_jax.runfolder import transaction as rundir\n"
            "with rundir.lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(run),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        before = snapshot(run)
        code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))
        assert_one_error(code, err)
        assert f"another run (PID {holder.pid}) is using this run folder" in err
        assert snapshot(run) == before
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_released_and_taken_again(tmp_path):
    with rundir.lock(tmp_path), pytest.raises(rundir.DataError, match=f"PID {os.getpid()}"), rundir.lock(tmp_path):
        pass
    with rundir.lock(tmp_path):
        assert (tmp_path / rundir.LOCK_FILE).read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / rundir.LOCK_FILE).exists()


def test_lock_without_fcntl_uses_an_exclusive_file(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir, "fcntl", None)
    refused = pytest.raises(rundir.DataError, match=f"PID {os.getpid()}.*If no such process runs, delete")
    with rundir.lock(tmp_path), refused, rundir.lock(tmp_path):
        pass
    assert not (tmp_path / rundir.LOCK_FILE).exists()


def test_unwritable_run_folder_is_refused_before_training(tmp_path, tiny_data, run_cli, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(rundir.tempfile, "mkstemp", refuse)  # root ignores chmod: inject the refusal
    run = tmp_path / "run"

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"{run}: the run folder cannot be written (Permission denied)" in err and "nothing was trained" in err
    assert not any(p for p in run.iterdir() if p.name not in (".hydra", "train.log"))


def test_full_disk_is_refused_before_training(tmp_path, tiny_data, run_cli, monkeypatch):
    monkeypatch.setattr(rundir.shutil, "disk_usage", lambda p: _Usage())
    run = tmp_path / "run"

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"{run}: 1.0 MiB free on its disk" in err and "Free some space" in err
    assert not any(p for p in run.iterdir() if p.name not in (".hydra", "train.log"))


class _Usage:
    free = 2**20


def test_disk_full_while_writing_results_keeps_the_previous_ones(finished_run, tiny_data, run_cli, monkeypatch):
    before = {name: rundir.sha256(finished_run / name) for name in OUTPUTS[:3]}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifacts, "save_costs_csv", full)
    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err)
    assert f"{finished_run}: writing the run's results failed (No space left on device)" in err
    assert "train.resume=true" in err
    assert {name: rundir.sha256(finished_run / name) for name in OUTPUTS[:3]} == before
    assert not (finished_run / rundir.STAGE_DIR).exists()
    assert (finished_run / "checkpoints" / "step_00000025.npz").is_file()  # the training is not lost


def test_disk_full_while_writing_a_checkpoint(tmp_path, tiny_data, run_cli, monkeypatch):
    from lr_jax.runfolder import checkpoint

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "artifacts", types.SimpleNamespace(atomic_open=full))
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"{run}/checkpoints/step_00000005.npz: writing the checkpoint failed (No space left on device)" in err
    assert not (run / "metrics.json").exists()


def test_disk_full_while_writing_config_json(tmp_path, tiny_data, run_cli, monkeypatch):
    from lr_jax.runfolder import report

    def full(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(report.artifacts, "save_json", full)
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"error: {run}/config.json: writing failed (No space left on device)" in err
    assert not any(p for p in run.iterdir() if p.name not in (".hydra", "train.log"))
