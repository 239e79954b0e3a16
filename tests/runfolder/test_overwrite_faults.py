"""train.overwrite=true is a transaction (issue 20, family 5): the earlier run, whatever it was (a single run,
a whole sweep), is set aside until the new one commits; a new run that fails, diverges or is stopped gives
it back byte for byte, checkpoints and config.json included; one that commits replaces it whole, never
leaving a single run mixed with a sweep's members."""

from __future__ import annotations

import json
import os
import signal

import pytest

from lr_jax.runfolder import journal
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides

INTERNALS = (journal.STAGE_DIR, journal.OLD_DIR, journal.JOURNAL, journal.OVERWRITTEN, journal.SETTING_ASIDE)
SWEEP = ("sweep.learning_rates=[0.01,0.005]", "sweep.seeds=[0]")


def test_a_diverging_overwrite_keeps_the_earlier_run(finished_run, tiny_data, run_cli, snapshot):
    before = snapshot(finished_run)

    code, _, err = run_cli(
        # In the weights (float32 throughout) a step of 1e38 overflows; the span parametrization computes in
        # float64 and would survive it on this separable data, so the test asks for weights.
        "train",
        *tiny_overrides(
            tiny_data, finished_run, "train.overwrite=true", "optim.learning_rate=1e38", "train.parametrization=weights"
        ),
    )

    assert_one_error(code, err)
    assert "training diverged" in err and f"The earlier run in {finished_run} is kept" in err
    assert snapshot(finished_run) == before  # checkpoints, config.json, results: the earlier run, whole
    assert not any((finished_run / name).exists() for name in INTERNALS)


def test_a_stopped_overwrite_keeps_the_earlier_run(finished_run, tiny_data, run_cli, snapshot, monkeypatch):
    before = snapshot(finished_run)
    monkeypatch.setenv(journal.HOOK_ENV, "sigterm:set-aside")  # SIGTERM once the earlier run is set aside

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, finished_run, "train.overwrite=true"))

    assert_one_error(code, err, expected_code=128 + signal.SIGTERM)
    assert f"SIGTERM: the run stopped before it finished; {finished_run} keeps the run it held before" in err
    assert snapshot(finished_run) == before and not any((finished_run / name).exists() for name in INTERNALS)


@pytest.mark.slow
def test_an_overwrite_killed_before_its_commit_is_undone_by_the_next_command(finished_run, tiny_data, tmp_path):
    import subprocess
    import sys

    from lr_jax.runfolder import transaction as rundir
    from tests.conftest import REPO_ROOT, _snapshot

    before = _snapshot(finished_run)
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py")]
        + tiny_overrides(tiny_data, finished_run, "train.overwrite=true", "optim.name=adam"),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, journal.HOOK_ENV: "kill:staged"},  # trained, results staged, not committed
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (finished_run / journal.OVERWRITTEN).is_dir()

    rundir.recover(finished_run)
    assert _snapshot(finished_run) == before


@pytest.mark.slow
def test_an_overwrite_replaces_a_sweep_whole(tmp_path, tiny_data, run_cli):
    run = tmp_path / "run"
    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, run, *SWEEP))
    assert code == 0, err
    assert (run / "summary.json").is_file() and (run / "1" / "metrics.json").is_file()

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run))  # without overwrite: refused
    assert_one_error(code, err)
    assert f"{run / 'checkpoints'} already holds checkpoints" in err and "train.overwrite=true" in err

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.overwrite=true"))
    assert code == 0, err
    left = sorted(p.name for p in run.iterdir() if p.name not in (".hydra", "train.log"))
    assert left == sorted(["checkpoints", "config.json", "costs.csv", "learning_curve.png", "metrics.json",
                           "mistakes.png", "params.npz", "roc_curve.png", "weights.png"])  # fmt: skip


@pytest.mark.slow  # a sweep through the CLI
def test_a_sweep_overwrite_replaces_a_single_run_whole(finished_run, tiny_data, run_cli):
    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, finished_run, *SWEEP, "train.overwrite=true"))

    assert code == 0, err
    left = sorted(p.name for p in finished_run.iterdir() if p.name not in (".hydra", "train.log"))
    assert left == ["0", "1", "checkpoints", "learning_curves.png", "summary.csv", "summary.json"]
    assert json.loads((finished_run / "0" / "metrics.json").read_text())["n_iter"] == 20


def test_an_overwrite_interrupted_in_training_keeps_the_earlier_run(
    finished_run, tiny_data, run_cli, snapshot, monkeypatch
):
    from lr_jax.pipelines import hooks

    before = snapshot(finished_run)
    write = hooks.CheckpointWriter.__call__

    def signalled(self, state, costs_n):  # SIGINT after the first chunk: InterruptStop, next, stops the run
        write(self, state, costs_n)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(hooks.CheckpointWriter, "__call__", signalled)
    code, _, err = run_cli("train", *tiny_overrides(tiny_data, finished_run, "train.overwrite=true"))

    assert_one_error(code, err, expected_code=130)
    assert f"SIGINT: training stopped; {finished_run} keeps the run it held before" in err and "resume" not in err
    assert snapshot(finished_run) == before and not any((finished_run / name).exists() for name in INTERNALS)
