"""Every experiment file through the real CLI both ways (Hydra multirun, vmapped sweep); the launchers.

Each CLI run is a fresh process; they share one persistent compilation cache (train.compilation_cache_dir),
so programs with the same shapes compile once for the whole module.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lr_jax.runfolder import results, summary
from lr_jax.serving import predict
from tests.conftest import REPO_ROOT, assert_costs_csv_matches, curves_in_png

EXPERIMENTS = sorted(p.stem for p in (REPO_ROOT / "conf" / "experiment").glob("*.yaml"))


def run_cli(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / script), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{script} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("xla_cache")


# How each experiment file is meant to be run, and the overrides that shrink it for the test (the course's
# own lr_compare runs whole: other tests read its numbers). A new file must be added here to be run.
HOW = {
    "lr_compare": {"multirun": [], "sweep": []},
    "two_layer": {"single": ["train.num_iterations=20", "train.log_every=5", "train.checkpoint_every=0"]},
    "deep": {"single": ["train.num_iterations=20", "train.log_every=5", "train.checkpoint_every=0"]},
    "activation_study": {"study": ["study.quick=true", "train.num_iterations=20", "sweep.seeds=[0]"]},
    "scale_study": {
        "study": [
            "study.quick=true",
            "study.sizes=[50,200]",
            "study.widths=[0,8]",
            "study.updates=20",
            "sweep.seeds=[0]",
            "data.num_test=200",
        ]
    },
}
SCRIPT = {"multirun": "train.py", "sweep": "sweep.py", "single": "train.py", "study": "study.py"}
SYNTHETIC = {"scale_study"}  # generates its data: no data.dir


@pytest.fixture(scope="module")
def experiment_run(tmp_path_factory, data_dir, cache_dir):
    """`experiment_run(name, how)`: the folder of experiment `name` run as `how` (once each)."""
    folders = {}

    def get(name: str, how: str):
        if (name, how) not in folders:
            out = tmp_path_factory.mktemp(f"{name}-{how}")
            data = [] if name in SYNTHETIC else [f"data.dir={data_dir}", "data.download=false"]
            common = [
                f"experiment={name}",
                *data,
                f"train.compilation_cache_dir={cache_dir}",
                *HOW[name][how],
            ]
            folder_key = "hydra.sweep.dir" if how == "multirun" else "hydra.run.dir"
            run_cli(SCRIPT[how], *(["-m"] if how == "multirun" else []), *common, f"{folder_key}={out}")
            folders[name, how] = out
        return folders[name, how]

    return get


def test_the_course_study_is_an_experiment_and_every_file_is_run():
    assert "lr_compare" in EXPERIMENTS
    assert sorted(HOW) == EXPERIMENTS


@pytest.mark.slow
@pytest.mark.parametrize("name, how", [(name, how) for name in EXPERIMENTS for how in HOW.get(name, ())])
def test_every_experiment_runs_the_way_it_is_meant_to(experiment_run, name, how):
    folder = experiment_run(name, how)
    if how == "study":
        kind = name.removesuffix("_study")
        with open(folder / f"{kind}_study.csv") as f:
            assert list(csv.DictReader(f)), f"{kind}_study.csv holds no row"
        assert curves_in_png(folder / f"{kind}_study.png") >= 1
        record = results.read(folder / f"{kind}_study.json")  # the table the docs render, with its command
        assert record["command"].startswith(f"lr-jax study experiment={name}") and record["tables"][0]["rows"]
        return
    runs = {"0": json.loads((folder / "metrics.json").read_text())} if how == "single" else summary.read_runs(folder)
    assert runs, f"{folder} holds no run"
    for run, metrics in runs.items():
        run_dir = folder if how == "single" else folder / run
        assert_costs_csv_matches(run_dir, metrics)
        if how == "sweep":  # scripts/sweep.py draws the summary's figure only (sweep.figures=summary, the default)
            assert not (run_dir / "learning_curve.png").exists()
        else:  # every job is a run with its figures
            assert curves_in_png(run_dir / "learning_curve.png") == 1
        trained = predict.load_run(run_dir)  # the parameters fit the experiment's model
        assert type(trained.model).__name__ == ("LogisticModel" if name == "lr_compare" else "MLP")
    if how == "single":
        return
    with open(folder / "summary.csv") as f:
        assert [row["run"] for row in csv.DictReader(f)] == list(runs)
    assert [r["run"] for r in json.loads((folder / "summary.json").read_text())["rows"]] == list(runs)
    assert curves_in_png(folder / "learning_curves.png") == min(len(runs), 10)  # one per run (10 colours)


@pytest.mark.slow
def test_multirun_writes_one_folder_per_job_and_a_summary_of_their_numbers(experiment_run):
    folder = experiment_run("lr_compare", "multirun")
    jobs = {p.name: json.loads((p / "metrics.json").read_text()) for p in folder.iterdir() if p.name.isdigit()}
    assert sorted(jobs) == ["0", "1", "2"]
    assert [jobs[j]["config"]["optim"]["learning_rate"] for j in "012"] == [0.01, 0.001, 0.0001]
    assert all(m["config"]["train"]["num_iterations"] == 1500 for m in jobs.values())
    with open(folder / "summary.csv") as f:
        table = list(csv.DictReader(f))
    assert [row["run"] for row in table] == ["0", "1", "2"]
    for row in table:
        assert float(row["optim.learning_rate"]) == jobs[row["run"]]["config"]["optim"]["learning_rate"]
        for column in summary.METRIC_COLUMNS:
            assert float(row[column]) == jobs[row["run"]][column]  # the same numbers, not re-computed ones
    best = json.loads((folder / "summary.json").read_text())["best"]
    assert best["run"] == max(jobs, key=lambda j: (jobs[j]["test_accuracy"], -jobs[j]["test_cost"]))


@pytest.mark.slow
def test_vmapped_sweep_reproduces_the_multirun(experiment_run):
    """The course's study both ways: same accuracies; same costs within 1e-6 where α <= 0.001.

    At α = 0.01 float32 rounding differences grow during the early oscillation (see test_sweep.py), so there
    only the final costs are compared, within 1e-4.
    """
    multirun, vmapped = experiment_run("lr_compare", "multirun"), experiment_run("lr_compare", "sweep")
    for job in "012":
        a, b = (json.loads((folder / job / "metrics.json").read_text()) for folder in (multirun, vmapped))
        assert a["config"] == b["config"]
        assert (a["train_accuracy"], a["test_accuracy"]) == (b["train_accuracy"], b["test_accuracy"])
        if a["config"]["optim"]["learning_rate"] <= 0.001:
            np.testing.assert_allclose(a["costs"], b["costs"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(
            [a["train_cost"], a["test_cost"]], [b["train_cost"], b["test_cost"]], rtol=0, atol=1e-4
        )
    # The course's figures for this study (train / test accuracy per α).
    rows = json.loads((vmapped / "summary.json").read_text())["rows"]
    assert [(r["train_accuracy"], r["test_accuracy"]) for r in rows] == [
        (208 / 209, 0.68),
        (186 / 209, 0.64),
        (143 / 209, 0.36),
    ]


@pytest.mark.slow
def test_summarize_script_prints_the_table_and_names_the_best_run(experiment_run):
    folder = experiment_run("lr_compare", "multirun")
    before = (folder / "summary.csv").read_text()
    out = run_cli("summarize.py", str(folder)).stdout
    assert (
        "best: run 0 (learning_rate=0.01) by test_accuracy (selected on the test set: no validation split "
        "(data.val_fraction=0), so a val_ metric is taken on the test set): test accuracy 68.00 %" in out
    )
    assert (folder / "summary.csv").read_text() == before  # the callback had written the same table


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher, extra, rates",
    [
        # conf/hydra/launcher/parallel.yaml: 4 jobs on its 2 worker processes, so a worker runs a second job
        ("parallel", "joblib", (0.01, 0.001, 0.005, 0.002)),
        # the launcher of hydra/launcher=slurm, with submitit's local executor
        ("submitit_local", "submitit", (0.01, 0.001)),
    ],
)
def test_launchers_run_the_jobs_and_share_the_compilation_cache(tmp_path, data_dir, launcher, extra, rates):
    """The jobs share the persistent cache; the parallel launcher's workers stay warm: a worker's later jobs
    compile and import nothing (metrics.json's process_id, run_in_process, compile_time_s, import_time_s)."""
    pytest.importorskip(f"hydra_plugins.hydra_{extra}_launcher", reason=f"pip install -e '.[{extra}]'")
    cache = tmp_path / "xla_cache"
    run_cli(
        "train.py",
        "-m",
        f"hydra/launcher={launcher}",
        f"optim.learning_rate={','.join(map(str, rates))}",
        "train.num_iterations=20",
        f"data.dir={data_dir}",
        f"train.compilation_cache_dir={cache}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    rows = json.loads((tmp_path / "sweep" / "summary.json").read_text())["rows"]
    assert [r["optim.learning_rate"] for r in rows] == list(rates)
    assert any(p.name.startswith("jit_run_steps") for p in cache.iterdir())
    if launcher != "parallel":
        return
    jobs = [json.loads((tmp_path / "sweep" / str(i) / "metrics.json").read_text()) for i in range(len(rates))]
    runs_by_process: dict[int, list[int]] = {}
    for job in jobs:
        runs_by_process.setdefault(job["process_id"], []).append(job["run_in_process"])
    assert len(runs_by_process) <= 2 and all(sorted(r) == list(range(1, len(r) + 1)) for r in runs_by_process.values())
    for job in jobs:
        if job["run_in_process"] > 1:  # JAX's in-memory caches of a warm worker: nothing compiled or imported
            assert job["compile_time_s"] == 0.0 and job.get("import_time_s") is None, job
        else:  # a worker's first job imports lr_jax in that worker, timed from the worker's own clock
            assert 0 < job["import_time_s"] < job["process_time_s"], job
