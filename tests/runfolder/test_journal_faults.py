"""Kill at EVERY step of the commit journal: the folder ends as the old state or the new one, never a mix.

The harness: the commit's test hook (`LR_JAX_COMMIT_HOOK`, lr_jax/runfolder/journal.py) with
`snapshot:<folder>` copies the run folder at every named step (staged, checked, backed-up, journaled, each
moved-<k>, dropped, unjournaled, cleaned; an overwrite's aside-<k> and set-aside too). A SIGKILL at a step
leaves exactly that copy on disk: the process's writes are whole files and renames, done before the step,
and a killed process's page cache still reaches the disk. Each copy is then recovered as the next command
would (`transaction.recover`) and compared with the state before the run and after it; before that, the
read-only view a predict takes (`predict.load_run`) must see the same results and write nothing.
`test_commit_faults.py` and `test_real_kill_matches_its_snapshot` below check real SIGKILLs at steps against this.

Four kinds of run: a fresh single run, a resumed run, a fresh vmapped sweep, an overwrite of a finished run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lr_jax import Config, LrJaxError
from lr_jax.runfolder import journal
from lr_jax.runfolder import transaction as rundir
from tests.conftest import REPO_ROOT
from tests.tiny_run import SIZE, tiny_overrides

INTERNALS = (journal.STAGE_DIR, journal.OLD_DIR, journal.JOURNAL, journal.OVERWRITTEN, journal.SETTING_ASIDE)


def tiny_config(data: Path, **sections) -> Config:
    """The tiny run of tests/tiny_run.py (20 iterations, a checkpoint every 5), with `sections` merged."""
    d = {
        "data": {"dir": str(data), "download": False, "verify": False, "image_size": SIZE},
        "train": {"num_iterations": 20, "log_every": 5, "checkpoint_every": 5, "print_cost": False, "progress": False},
    }
    for section, values in sections.items():
        d.setdefault(section, {}).update(values)
    return Config.from_dict(d)


def results(folder: Path, ignore=()) -> dict[str, str]:
    """{path: sha256} of the run's files: Hydra's, the lock and the names in `ignore` left out."""
    skip = {".hydra", rundir.LOCK_FILE, *ignore}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in skip and not p.name.endswith(".log")
    }


def train(config: Config, run: Path) -> None:
    from lr_jax import train_and_evaluate

    train_and_evaluate(config, run)


def sweep(config: Config, run: Path) -> None:
    from lr_jax.pipelines.sweep import sweep_and_evaluate

    sweep_and_evaluate(config, run)


def _fresh(data, run):
    return None, train, tiny_config(data)


def _resumed(data, run):
    train(tiny_config(data), run)
    return run, train, tiny_config(data, train={"num_iterations": 25, "resume": True})


def _sweep(data, run):
    return None, sweep, tiny_config(data, sweep={"learning_rates": [0.01, 0.005], "seeds": [0]})


def _overwrite(data, run):
    train(tiny_config(data), run)
    return run, train, tiny_config(data, optim={"name": "adam"}, train={"overwrite": True, "num_iterations": 15})


# kind: (prepare the old state -> (old folder or None, run, the new run's config), what the comparison ignores)
# A fresh run writes config.json before training (so a tool can tell what the folder is for) and every run
# writes checkpoints while it trains: progress, not results, except for an overwrite, which must also give
# back the earlier run's checkpoints and config.json when it does not commit.
KINDS = {
    "single": (_fresh, ("checkpoints", "config.json")),
    "resumed": (_resumed, ("checkpoints",)),
    "sweep": (_sweep, ("checkpoints",)),
    "overwrite": (_overwrite, ()),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_kill_at_every_journal_step_leaves_old_or_new(kind, tiny_data, tmp_path, monkeypatch):
    prepare, ignore = KINDS[kind]
    run = tmp_path / "run"
    old_run, fit, config = prepare(tiny_data, run)
    old = results(run, ignore) if old_run else {}
    snapshots = tmp_path / "snapshots"
    monkeypatch.setenv(journal.HOOK_ENV, f"snapshot:{snapshots}")
    fit(config, run)
    monkeypatch.delenv(journal.HOOK_ENV)
    new = results(run, ignore)
    assert new != old and "metrics.json" in str(new) and not any((run / name).exists() for name in INTERNALS)

    steps = sorted(snapshots.iterdir())
    names = [s.name.split("-", 1)[1] for s in steps]
    assert names[:4] == ["staged", "checked", "backed-up", "journaled"] or kind == "overwrite"
    assert names[-2:] == ["unjournaled", "cleaned"] and sum(n.startswith("moved-") for n in names) >= 8
    ends = []
    for snapshot in steps:
        before = results(snapshot, ("__none__",))
        seen = _predict_view(snapshot) if kind != "sweep" else None
        assert results(snapshot, ("__none__",)) == before, f"{snapshot.name}: a read-only view wrote"
        rundir.recover(snapshot)  # what the next train, resume or sweep does first
        assert not any((snapshot / name).exists() for name in INTERNALS), snapshot.name
        state = results(snapshot, ignore)
        assert state in (old, new), f"{kind}, killed at {snapshot.name}: neither the old state nor the new one"
        ends.append("new" if state == new else "old")
        if seen is not None:  # predict read what the folder now holds
            assert seen == _predict_view(snapshot), snapshot.name
    committed = names.index("journaled")
    assert ends == ["old"] * committed + ["new"] * (len(ends) - committed), list(zip(names, ends))


def _predict_view(folder: Path):
    """The parameters a predict on `folder` would use (sha256 of their bytes), or the error it would give."""
    from lr_jax.serving import predict

    try:
        params = predict.load_run(folder).params
    except LrJaxError as e:
        return type(e).__name__
    return {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in params.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, step",
    [("overwrite", "aside-2"), ("overwrite", "moved-4"), ("sweep", "moved-9")],
)
def test_real_kill_matches_its_snapshot(kind, step, tiny_data, tmp_path, finished_run):
    """A real SIGKILL at a step (the hook's kill:<step>) of the real CLI, then the next command recovers."""
    script, extra = ("train", ["train.overwrite=true", "optim.name=adam"]) if kind == "overwrite" else ("sweep", [])
    run = finished_run if kind == "overwrite" else tmp_path / "sweep"
    old = results(run)
    overrides = tiny_overrides(tiny_data, run, *extra, "sweep.learning_rates=[0.01,0.005]", "sweep.seeds=[0]")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / f"{script}.py"), *overrides],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, journal.HOOK_ENV: f"kill:{step}"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    rundir.recover(run)
    assert not any((run / name).exists() for name in INTERNALS)
    if step.startswith("aside"):  # before the commit point: the earlier run, checkpoints and all
        assert results(run) == old
    else:  # after it: the new run, whole
        finished = results(run)
        metrics = [name for name in finished if name.endswith("metrics.json")]
        assert len(metrics) == (1 if kind == "overwrite" else 2) and ("summary.json" in finished) == (kind == "sweep")
        if kind == "overwrite":
            assert "adam" in (run / "metrics.json").read_text() and finished["params.npz"] != old["params.npz"]
    shutil.rmtree(run)
