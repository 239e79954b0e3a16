"""Faults outside the run folder that used to end in a traceback: each is one `error:` line, exit 2, and every
file that existed before is as it was."""

from __future__ import annotations

import errno
import os
import runpy
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides


def _no_room(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _script(name, *args, limit_kib):
    """scripts/<name>.py under `ulimit -f limit_kib` (bash's unit: 1024 bytes), through bash: no fork of
    this (multithreaded) process."""
    command = [sys.executable, str(REPO_ROOT / "scripts" / f"{name}.py"), *args]
    return subprocess.run(
        ["bash", "-c", f'ulimit -f {limit_kib} && exec "$@"', "bash", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


@pytest.mark.parametrize("fmt, name", [("onnx", "model.onnx"), ("stablehlo", "model.stablehlo.json")])
def test_export_refuses_a_target_name_taken_by_a_folder_before_converting(fmt, name, finished_run, run_cli, snapshot):
    (finished_run / name).mkdir()
    before = snapshot(finished_run)

    code, out, err = run_cli("export", f"run={finished_run}", f"format={fmt}")

    assert_one_error(code, err)
    assert err.startswith(f"error: {finished_run / name}: is a directory") and out == ""
    assert snapshot(finished_run) == before and (finished_run / name).is_dir()


def test_export_on_a_full_disk_is_one_line_and_leaves_the_files_as_they_were(
    finished_run, run_cli, snapshot, monkeypatch
):
    code, _, err = run_cli("export", f"run={finished_run}", "format=stablehlo")  # an earlier export, kept
    assert code == 0, err
    before = snapshot(finished_run)
    monkeypatch.setattr(os, "fsync", _no_room)

    code, out, err = run_cli("export", f"run={finished_run}", "format=stablehlo")

    assert_one_error(code, err)
    assert err.startswith(f"error: {finished_run / 'model.stablehlo'}: writing the export failed (No space left")
    assert snapshot(finished_run) == before and not list(finished_run.glob(".*.tmp"))


@pytest.mark.slow
def test_export_past_the_file_size_limit_is_one_line(finished_run, snapshot):
    before = snapshot(finished_run)

    proc = _script("export", f"run={finished_run}", "format=stablehlo", limit_kib=1)  # the file is ~4 kB

    assert_one_error(proc.returncode, proc.stderr)
    assert "writing the export failed (File too large)" in proc.stderr and "ulimit -f" in proc.stderr
    assert snapshot(finished_run) == before and not list(finished_run.glob(".*.tmp"))


@pytest.fixture(scope="module")
def tiny_sweep(tiny_data, tmp_path_factory):
    """A finished vmapped sweep of two learning rates (written once for the module)."""
    sweep = tmp_path_factory.mktemp("sweep") / "sweep"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "sweep.py"), *tiny_overrides(tiny_data, sweep)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    return sweep


def _runs_snapshot(snapshot, sweep):
    return {k: v for k, v in snapshot(sweep).items() if k.split("/")[0].isdigit()}


@pytest.mark.slow  # the tiny_sweep fixture trains a sweep
def test_summarize_on_a_full_disk_is_one_line(tiny_sweep, snapshot, capsys, monkeypatch):
    before = _runs_snapshot(snapshot, tiny_sweep)
    main = runpy.run_path(str(REPO_ROOT / "scripts" / "summarize.py"))["main"]
    monkeypatch.setattr(os, "fsync", _no_room)

    with pytest.raises(SystemExit) as e:
        main([str(tiny_sweep)])

    _, err = capsys.readouterr()
    assert_one_error(e.value.code, err)
    assert err.startswith(f"error: {tiny_sweep}: the summary: writing failed (No space left on device).")
    assert _runs_snapshot(snapshot, tiny_sweep) == before and not list(tiny_sweep.glob(".*.tmp"))


@pytest.mark.slow
def test_summarize_past_the_file_size_limit_is_one_line(tiny_sweep, snapshot):
    before = _runs_snapshot(snapshot, tiny_sweep)

    proc = _script("summarize", str(tiny_sweep), limit_kib=2)  # learning_curves.png is larger

    assert_one_error(proc.returncode, proc.stderr)
    assert proc.stderr.startswith(f"error: {tiny_sweep}: the summary: writing failed (File too large).")
    assert _runs_snapshot(snapshot, tiny_sweep) == before


COMMAND_LINE = {
    "train=null": "error: train=null: the train group is required (conf/config.yaml's defaults). Choose one of",
    "~model": "error: ~model: the model group is required",
    "hydra.sweeper.n_trials=0": "error: hydra.sweeper.n_trials=0: expected an integer >= 1",
    "hydra.sweeper.n_trials=-3": "error: hydra.sweeper.n_trials=-3: expected an integer >= 1",
}


@pytest.mark.parametrize("override", COMMAND_LINE)
def test_overrides_hydra_would_answer_with_a_traceback_are_one_line(override, tiny_data, tmp_path, run_cli):
    code, out, err = run_cli("train", *tiny_overrides(tiny_data, tmp_path / "run"), override)

    assert_one_error(code, err)
    assert err.startswith(COMMAND_LINE[override]) and not (tmp_path / "run").exists()


def test_an_optuna_storage_that_is_no_database_is_one_line(tiny_data, tmp_path, run_cli, snapshot):
    (tmp_path / "study.db").write_text("not a database, a note about one " * 10)
    before = snapshot(tmp_path)
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    code, _, err = run_cli("train", "hparams_search=optuna", f"hydra.sweeper.storage={storage}")

    assert_one_error(code, err)
    assert f"{tmp_path / 'study.db'} is not an SQLite database Optuna can use (file is not a database)" in err
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes a read-only file anyway")
def test_a_read_only_optuna_storage_is_one_line(tmp_path, run_cli, snapshot):
    import sqlite3

    sqlite3.connect(tmp_path / "study.db").execute("CREATE TABLE t (x)").connection.commit()
    (tmp_path / "study.db").chmod(0o444)
    before = snapshot(tmp_path)

    code, _, err = run_cli("train", "hparams_search=optuna", f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}")

    assert_one_error(code, err)
    assert "is read-only here" in err and snapshot(tmp_path) == before


HUGE = {
    "num-features-1e12": (("data=synthetic", "data.num_features=1000000000000"), "data.num_features=1000000000000"),
    "hidden-1e9": (("model=mlp", "model.hidden=[1000000000]"), "model.hidden=[1000000000]"),
    "lbfgs-memory-1e8": (("optim=lbfgs", "optim.memory_size=100000000"), "optim.memory_size=100000000"),
}


@pytest.mark.parametrize("case", HUGE)
def test_a_run_beyond_memory_is_refused_up_front_with_the_bytes_it_needs(
    case, tiny_data, tmp_path, run_cli, monkeypatch
):
    from lr_jax.pipelines import sizes

    monkeypatch.setattr(sizes, "available_memory", lambda: 16 * 2**30)  # the same answer on any machine
    extra, key = HUGE[case]
    synthetic = "data=synthetic" in extra  # no data.dir, data.image_size, ... there
    overrides = [o for o in tiny_overrides(tiny_data, tmp_path / "run") if not (synthetic and o.startswith("data."))]

    code, _, err = run_cli("train", *overrides, *extra)

    assert_one_error(code, err)
    assert err.startswith(f"error: {key}: this run needs at least ") and "more than the 16.0 GiB" in err, err
    assert f"Use a smaller {key.split('=')[0]}." in err
    assert not (tmp_path / "run" / "config.json").exists()


def test_the_memory_estimate_counts_data_parameters_and_optimizer_state():
    from lr_jax import Config
    from lr_jax.pipelines import sizes

    config = Config.from_dict(
        {"data": {"name": "synthetic", "num_features": 10, "num_examples": 6, "num_test": 4}, "optim": {"name": "adam"}}
    )
    # data 10·10 bytes; 11 float32 parameters and their gradient; Adam's two slots
    assert sizes.parts(config) == {
        "data.num_features": 100,
        "data.num_features (the weights)": 2 * 11 * 4,
        "optim.name (its state)": 2 * 11 * 4,
        "model.hidden (activations)": 0,
    }
    sizes.check_memory(config, free=1000)
    with pytest.raises(sizes.ConfigError, match=r"^data.num_features=10: this run needs at least 276 bytes"):
        sizes.check_memory(config, free=100)


def test_the_command_line_checks_leave_good_overrides_alone(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import command_line
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    good = [
        "train=course",
        "model=mlp",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweeper.storage=sqlite:///{tmp_path}/new.db",
    ]
    command_line.check_command_line(["train.py", *good])  # no SystemExit
    assert command_line._problem("hydra.sweeper.storage", f"sqlite:///{tmp_path}/missing/new.db").startswith(
        f"{tmp_path}/missing is not a folder this process can write"
    )
