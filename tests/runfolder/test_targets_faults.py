"""Half-applied commits (issue 20, family 3): every name a run writes is checked before it trains, a commit
that fails part-way rolls back, and a journal a killed run left never bricks the folder. Each case: the
exit code, the one `error:` line, and every file as it was."""

from __future__ import annotations

import errno
import json
import os
import shutil

import pytest

from lr_jax.runfolder import journal
from lr_jax.runfolder import transaction as rundir
from tests.helpers import random_image
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides

INTERNALS = (journal.STAGE_DIR, journal.OLD_DIR, journal.JOURNAL, journal.OVERWRITTEN, journal.SETTING_ASIDE)


@pytest.mark.parametrize(  # a CLI run each: the fast lane keeps the first
    "name",
    ["params.npz"]
    + [
        pytest.param(n, marks=pytest.mark.slow)
        for n in ("metrics.json", "learning_curve.png", "config.json", "weights.png")
    ],
)
def test_a_directory_where_a_file_goes_is_refused_before_training(name, tmp_path, tiny_data, run_cli, snapshot):
    run = tmp_path / "run"
    (run / name).mkdir(parents=True)
    (run / name / "keep.txt").write_text("the user's\n")
    before = snapshot(run)

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"{run / name} is a directory, where the run writes its file {name}" in err
    assert snapshot(run) == before and not (run / "checkpoints").exists()  # nothing trained


def test_a_file_where_a_folder_goes_is_refused_before_training(tmp_path, tiny_data, run_cli, snapshot):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoints").write_text("not a folder\n")
    before = snapshot(run)

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err)
    assert f"{run / 'checkpoints'} is a file, where the run writes its folder checkpoints" in err
    assert snapshot(run) == before


def test_a_resumed_run_checks_its_names_before_training(finished_run, tiny_data, run_cli, snapshot):
    (finished_run / "metrics.json").unlink()
    (finished_run / "metrics.json").mkdir()
    before = snapshot(finished_run)

    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err)
    assert f"{finished_run / 'metrics.json'} is a directory" in err
    assert snapshot(finished_run) == before  # no step_25 checkpoint: refused before training


@pytest.mark.parametrize("member", ["0", "1/params.npz"])
def test_a_sweep_member_blocked_is_refused_before_training(member, tmp_path, tiny_data, run_cli, snapshot):
    run = tmp_path / "sweep"
    if "/" in member:
        (run / member).mkdir(parents=True)
    else:
        run.mkdir()
        (run / member).write_text("a file where member 0's folder goes\n")
    before = snapshot(run)

    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, run, "sweep.learning_rates=[0.01,0.005]"))

    assert_one_error(code, err)
    assert f"{run / member.split('/')[0] if '/' not in member else run / member} is a" in err
    assert snapshot(run) == before and not (run / "checkpoints").exists()


def test_a_move_that_fails_rolls_the_commit_back(finished_run, tiny_data, run_cli, snapshot, monkeypatch):
    before = snapshot(finished_run, ignore=(".hydra", "train.log", "checkpoints", "config.json"))
    real_replace, moves = os.replace, []

    def failing_replace(src, dst):  # the third move of the commit fails (an I/O error, a race)
        if journal.STAGE_DIR in str(src) and journal.STAGE_DIR not in str(dst):
            moves.append(src)
            if len(moves) == 3:
                raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err)
    assert "the run's new results could not be put in place (Input/output error)" in err
    assert "the folder keeps its previous results" in err
    assert snapshot(finished_run, ignore=(".hydra", "train.log", "checkpoints", "config.json")) == before
    assert json.loads((finished_run / "config.json").read_text())["config"]["train"]["num_iterations"] == 20
    assert not any((finished_run / name).exists() for name in INTERNALS)


def _stale(finished_run, tiny_data, step: str, tmp_path, monkeypatch):
    """`finished_run` as a resumed run killed at `step` of its commit leaves it (the commit hook's snapshot)."""
    from tests.runfolder.test_journal_faults import tiny_config, train

    snapshots = tmp_path / "snapshots"
    monkeypatch.setenv(journal.HOOK_ENV, f"snapshot:{snapshots}")
    train(tiny_config(tiny_data, train={"num_iterations": 25, "resume": True}), finished_run)
    monkeypatch.delenv(journal.HOOK_ENV)
    (killed,) = snapshots.glob(f"*-{step}")
    shutil.rmtree(finished_run)
    shutil.copytree(killed, finished_run, symlinks=True)
    return finished_run


@pytest.mark.slow
def test_a_stale_journal_never_bricks_the_folder(finished_run, tiny_data, tmp_path, run_cli, snapshot, monkeypatch):
    # The state: params.npz moved in, metrics.json still staged, the journal left behind.
    run = _stale(finished_run, tiny_data, "moved-4", tmp_path, monkeypatch)
    assert (run / journal.JOURNAL).exists() and (run / journal.STAGE_DIR / "metrics.json").exists()
    image = tmp_path / "cat.png"
    random_image((8, 8), "RGB").save(image)
    before = snapshot(run)

    code, out, err = run_cli("predict", f"run={run}", f"images=[{image}]")  # read-only: reads the commit

    assert code == 0, err
    assert out.startswith(f"{image}: P(cat) = ") and snapshot(run) == before
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.resume=true", "train.num_iterations=30"))
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_iter"] == 30 and metrics["files_sha256"] == rundir.file_hashes(run)
    assert not any((run / name).exists() for name in INTERNALS)


@pytest.mark.slow
def test_a_journal_blocked_by_a_directory_rolls_back(finished_run, tiny_data, tmp_path, run_cli, snapshot, monkeypatch):
    # Killed after the commit point, then a directory appeared where a file goes: the next command rolls the
    # commit back (the previous results) and refuses to train with one line; nothing is lost.
    run = _stale(finished_run, tiny_data, "journaled", tmp_path, monkeypatch)
    old_params = rundir.sha256(run / "params.npz")
    (run / "roc_curve.png").unlink()
    (run / "roc_curve.png").mkdir()

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.resume=true", "train.num_iterations=30"))

    assert_one_error(code, err)
    assert f"{run / 'roc_curve.png'} is a directory, where the run writes its file roc_curve.png" in err
    assert rundir.sha256(run / "params.npz") == old_params
    assert json.loads((run / "metrics.json").read_text())["files_sha256"] == rundir.file_hashes(run)
    assert not any((run / name).exists() for name in INTERNALS)
