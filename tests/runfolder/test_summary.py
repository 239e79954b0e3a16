"""Sweep summaries: the table holds each run's own numbers, the varying keys, and names the best run."""

from __future__ import annotations

import csv
import json
import logging

import pytest

from lr_jax import LrJaxError, artifacts
from lr_jax.config import Config
from lr_jax.runfolder import summary
from lr_jax.runfolder import transaction as rundir


def write_job(folder, learning_rate, seed, test_accuracy, test_cost):
    config = Config.from_dict({"optim": {"learning_rate": learning_rate}, "train": {"seed": seed}}).to_dict()
    folder.mkdir(parents=True)
    artifacts.save_json(
        folder / "metrics.json",
        {
            "config": config,
            "train_accuracy": 0.9,
            "test_accuracy": test_accuracy,
            "train_cost": 0.1,
            "test_cost": test_cost,
            "cost_iterations": [0, 100],
            "costs": [0.69, 0.5 * learning_rate],
        },
    )


@pytest.fixture
def sweep_dir(tmp_path):
    # Jobs 0 and 2 tie on test accuracy; 2 has the lower test cost. Folder 10 sorts after 2 (job order).
    for job, lr, seed, acc, test_cost in [
        (0, 0.01, 0, 0.7, 0.9),
        (1, 0.001, 0, 0.64, 0.6),
        (2, 0.01, 1, 0.7, 0.8),
        (10, 0.001, 1, 0.5, 0.7),
    ]:
        write_job(tmp_path / str(job), lr, seed, acc, test_cost)
    (tmp_path / ".hydra").mkdir()  # not a run: ignored
    return tmp_path


def test_summary_rows_are_the_jobs_metrics_with_the_varying_keys(sweep_dir):
    result = summary.summarize(sweep_dir)
    assert [r["run"] for r in result["rows"]] == ["0", "1", "2", "10"]
    assert list(result["rows"][0]) == [
        "run",
        "optim.learning_rate",
        "train.seed",
        *summary.METRIC_COLUMNS,
        "diverged",
        "files_ok",
        "warnings",
    ]
    with open(sweep_dir / "summary.csv") as f:
        table = list(csv.DictReader(f))
    for row in table:
        metrics = json.loads((sweep_dir / row["run"] / "metrics.json").read_text())
        assert float(row["optim.learning_rate"]) == metrics["config"]["optim"]["learning_rate"]
        for column in summary.METRIC_COLUMNS:
            assert float(row[column]) == metrics[column]  # exactly: repr round-trips a float
    assert json.loads((sweep_dir / "summary.json").read_text())["rows"] == result["rows"]
    assert (sweep_dir / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_best_run_is_highest_test_accuracy_then_lowest_test_cost(sweep_dir):
    best = summary.summarize(sweep_dir)["best"]
    assert (best["run"], summary.describe(best)) == ("2", "learning_rate=0.01, seed=1")
    assert (
        "best: run 2 (learning_rate=0.01, seed=1) by test_accuracy (selected on the test set: runs without a "
        "record): test accuracy 70.00 %" in summary.report(summary.summarize(sweep_dir))
    )


def test_best_run_follows_the_runs_optimized_metric_and_its_direction(sweep_dir):
    """Runs that record optimized_metric=val_log_loss (minimized) are chosen by it, not by test accuracy."""
    for job, val_log_loss in [(0, 0.5), (1, 0.3), (2, 0.6), (10, 0.4)]:
        path = sweep_dir / str(job) / "metrics.json"
        metrics = json.loads(path.read_text())
        metrics["val_log_loss"] = val_log_loss
        metrics["optimized_metric"] = {
            "name": "val_log_loss",
            "configured": "val_log_loss",
            "direction": "min",
            "value": val_log_loss,
            "uses_test_set": False,
            "reason": None,
        }
        artifacts.save_json(path, metrics)
    result = summary.summarize(sweep_dir)
    assert result["best"]["run"] == "1" and result["best"]["val_log_loss"] == 0.3
    assert result["selected_by"] == {"name": "val_log_loss", "direction": "min", "uses_test_set": False, "reason": None}
    text = summary.report(result)
    assert "best: run 1 (learning_rate=0.001, seed=0) by val_log_loss: test accuracy 64.00 %" in text
    assert "test set" not in text


@pytest.mark.parametrize(
    "configs, expected",
    [
        ([{"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}], ["a.y"]),
        ([{"a": {"x": 1}}, {"a": {"x": 1}}], []),
        ([{"a": {"x": [1, 2]}}, {"a": {"x": [1, 3]}}, {"a": {"x": [1, 2]}}], ["a.x"]),
        ([{"a": {"x": 1}}, {"a": {"x": 1}, "b": {"z": 0}}], ["b.z"]),
    ],
)
def test_varying_keys(configs, expected):
    assert summary.varying_keys(configs) == expected


def test_a_folder_without_runs_is_an_error_that_says_what_to_pass(tmp_path):
    with pytest.raises(LrJaxError, match=r"no run folder with a metrics.json .* Pass the folder of a finished"):
        summary.summarize(tmp_path)


def test_every_run_diverged_leaves_no_best_and_the_report_says_so(tmp_path):
    for job, lr in enumerate([10.0, 100.0]):
        write_job(tmp_path / str(job), lr, 0, None, None)  # NaN metrics are written as null
        metrics = json.loads((tmp_path / str(job) / "metrics.json").read_text())
        artifacts.save_json(tmp_path / str(job) / "metrics.json", {**metrics, "diverged": True})

    result = summary.summarize(tmp_path)

    assert result["best"] is None and [r["diverged"] for r in result["rows"]] == [True, True]
    assert json.loads((tmp_path / "summary.json").read_text())["best"] is None
    assert summary.report(result).splitlines()[-1] == "best: none (every run diverged)"


def record_files(run, damage=None):
    """Give `run` a params.npz and costs.csv recorded in its metrics.json's files_sha256, then `damage` them."""
    (run / "params.npz").write_bytes(b"params of " + run.name.encode())
    (run / "costs.csv").write_text("iteration,cost\n0,0.69\n")
    metrics = json.loads((run / "metrics.json").read_text())
    artifacts.save_json(run / "metrics.json", {**metrics, "files_sha256": rundir.file_hashes(run)})
    if damage:
        damage(run)


@pytest.mark.parametrize(
    "damage, differ",
    [
        (lambda run: (run / "params.npz").write_bytes(b"another run's params"), "['params.npz']"),
        (lambda run: (run / "costs.csv").unlink(), "['costs.csv']"),
        (lambda run: [(run / f).write_text("x") for f in ("params.npz", "costs.csv")], "['costs.csv', 'params.npz']"),
    ],
)
def test_a_run_whose_files_differ_from_its_record_is_flagged_and_never_the_best(sweep_dir, caplog, damage, differ):
    for job in ("0", "1", "10"):
        record_files(sweep_dir / job)
    record_files(sweep_dir / "2", damage)  # the best run, had its files been its own

    with caplog.at_level(logging.WARNING):
        result = summary.summarize(sweep_dir)

    assert [r["files_ok"] for r in result["rows"]] == [True, True, False, True]
    assert result["best"]["run"] == "0"
    assert len(caplog.records) == 1
    assert f"run {sweep_dir / '2'}: {differ} differ(s) from the sha256 its metrics.json records" in caplog.text
    assert "not considered for the best run" in caplog.text


def test_runs_that_record_no_hashes_are_taken_as_they_are(sweep_dir, caplog):
    with caplog.at_level(logging.WARNING):
        result = summary.summarize(sweep_dir)
    assert all(r["files_ok"] for r in result["rows"]) and result["best"]["run"] == "2" and caplog.records == []
