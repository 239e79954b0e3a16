"""`hparams_search=optuna`: a stored study that a second invocation continues, trial values from metrics.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install -e '.[optuna]'")


def search(data_dir, sweep_dir, storage, seed) -> subprocess.CompletedProcess:
    """2 trials of 20 iterations each (a tiny study), stored in `storage`, TPE seeded with `seed`."""
    return subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "train.py"),
            "hparams_search=optuna",
            "hydra.sweeper.n_trials=2",
            f"hydra.sweeper.sampler.seed={seed}",
            f"hydra.sweeper.storage={storage}",
            f"hydra.sweep.dir={sweep_dir}",
            f"data.dir={data_dir}",
            "train.num_iterations=20",
            "train.log_every=10",
            "train.checkpoint_every=0",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_a_second_search_continues_the_stored_study(tmp_path, data_dir):
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    for i in (1, 2):  # the continuation with its own seed (the same one would repeat TPE's random first trials)
        proc = search(data_dir, tmp_path / f"search{i}", storage, seed=i)
        assert proc.returncode == 0, proc.stderr

    study = optuna.load_study(study_name="lr_jax_val_roc_auc", storage=storage)
    assert len(study.trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    jobs = [tmp_path / f"search{i}" / str(j) for i in (1, 2) for j in (0, 1)]
    for trial, job in zip(study.trials, jobs):  # each trial's value is its run's validation ROC AUC
        metrics = json.loads((job / "metrics.json").read_text())
        selected = metrics["optimized_metric"]
        assert selected["name"] == "val_roc_auc" and selected["uses_test_set"] is False
        assert trial.value == selected["value"] == metrics["val_roc_auc"]
        assert trial.params["optim.learning_rate"] == metrics["config"]["optim"]["learning_rate"]
        assert 1e-4 <= trial.params["optim.learning_rate"] <= 0.1 and 1e-5 <= trial.params["model.l2"] <= 0.1
    assert len({t.params["optim.learning_rate"] for t in study.trials}) == 4  # the second search sampled anew
    summary = json.loads((tmp_path / "search2" / "summary.json").read_text())
    assert summary["selected_by"]["name"] == "val_roc_auc" and not summary["selected_by"]["uses_test_set"]
