"""SIGINT and SIGTERM at any moment (issue 20, family 6): exit 130 / 143, one `error:` line, nothing
half-written -- during start-up, when a callback swallowed the signal, during the commit (which completes
first), and with SIGINT ignored by the parent shell (a background job), which used to lose it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lr_jax import errors
from lr_jax.pipelines import stages
from lr_jax.runfolder import journal
from lr_jax.runfolder import transaction as rundir
from tests.conftest import REPO_ROOT
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides

INTERNALS = (journal.STAGE_DIR, journal.OLD_DIR, journal.JOURNAL, journal.OVERWRITTEN, journal.SETTING_ASIDE)


def only_hydras(run) -> bool:
    return all(p.name in (".hydra", "train.log") for p in run.iterdir())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_is_one_line(signum, tmp_path, tiny_data, run_cli, monkeypatch):
    load = stages.load_inputs

    def load_then_signal(spec):  # the signal arrives while the data is read
        inputs = load(spec)
        os.kill(os.getpid(), signum)
        return inputs

    monkeypatch.setattr(stages, "load_inputs", load_then_signal)
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err, expected_code=128 + signum)
    assert err == f"error: {signal.Signals(signum).name}: stopped during start-up, before the run folder was written.\n"
    assert only_hydras(run)


def test_a_signal_a_callback_swallowed_still_stops_the_run(tmp_path, tiny_data, run_cli, monkeypatch):
    load = stages.load_inputs

    def swallowing_load(spec):  # as a garbage collector callback does ("Exception ignored in ...")
        with contextlib.suppress(errors.Stopped):
            os.kill(os.getpid(), signal.SIGTERM)
        return load(spec)

    monkeypatch.setattr(stages, "load_inputs", swallowing_load)
    run = tmp_path / "run"
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))

    assert_one_error(code, err, expected_code=143)
    assert "SIGTERM: stopped during start-up" in err and only_hydras(run)  # refused at the claim


def test_a_signal_during_the_commit_waits_for_it(finished_run, tiny_data, run_cli, monkeypatch):
    monkeypatch.setenv(journal.HOOK_ENV, "sigint:moved-3")
    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err, expected_code=130)
    assert f"SIGINT: stopped once the run's results were complete in {finished_run} (committed first)" in err
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["n_iter"] == 25 and metrics["files_sha256"] == rundir.file_hashes(finished_run)
    assert not any((finished_run / name).exists() for name in INTERNALS)


def test_signals_deferred_raise_at_the_end(capsys):
    reached = []
    with pytest.raises(SystemExit) as e, errors.exit_on_signals(), errors.signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        reached.append("the block ran on")
    assert reached and e.value.code == 143
    assert capsys.readouterr().err == "error: SIGTERM: stopped during start-up, before the run folder was written.\n"


@pytest.mark.slow
@pytest.mark.parametrize("signum, ignored", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)])
def test_a_real_signal_during_start_up(signum, ignored, tmp_path, tiny_data):
    run = tmp_path / "run"
    command = [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *tiny_overrides(tiny_data, run)]
    if ignored:  # a background job of a shell starts with SIGINT ignored: it used to be lost until training
        command = ["sh", "-c", 'trap "" INT; exec "$0" "$@"', *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / ".hydra").exists() and time.monotonic() < deadline:  # Hydra is done: lr_jax starts
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert err.strip().splitlines()[-1].startswith(f"error: {signal.Signals(signum).name}: ")
    assert not (run / "metrics.json").exists() and not any((run / name).exists() for name in INTERNALS)
    if (run / "config.json").exists():  # written atomically: whole, or not at all
        json.loads((run / "config.json").read_text())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_script_imports_is_one_line(signum):
    # Once scripts/hydra_fixes.py is imported (each script's first import), before Hydra's own imports.
    code = (
        "import os, sys, time\n"
        "sys.path.insert(0, 'scripts')\n"
        "import hydra_fixes\n"
        f"os.kill(os.getpid(), {int(signum)})\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)

    assert proc.returncode == 128 + signum
    assert (
        proc.stderr
        == f"error: {signal.Signals(signum).name}: stopped during start-up, before the run folder was written.\n"
    )
