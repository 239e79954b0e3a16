"""Sweep summaries and outcome warnings: a `warnings` column, a flagged run never the best while a clean one
exists, a readable table (4 significant digits), and other tools' metrics.json files skipped."""

from __future__ import annotations

import csv
import json
import logging

import pytest

from lr_jax import artifacts
from lr_jax.runfolder import summary
from tests.runfolder.test_summary import write_job

FLAT = {"code": "learned_nothing", "message": "the model learned nothing: ..."}


def flag(folder, *warnings):
    metrics = json.loads((folder / "metrics.json").read_text())
    artifacts.save_json(folder / "metrics.json", {**metrics, "warnings": list(warnings)})


@pytest.fixture
def sweep_dir(tmp_path):
    """Job 0 has the best test accuracy but learned nothing (flagged); job 1 is clean."""
    for job, lr, acc, cost in [(0, 0.0001, 0.8, 0.6931471805599453), (1, 0.005, 0.7, 0.75044448)]:
        write_job(tmp_path / str(job), lr, 0, acc, cost)
    flag(tmp_path / "0", FLAT)
    flag(tmp_path / "1")
    return tmp_path


def test_a_flagged_run_is_never_the_best_while_a_clean_one_exists(sweep_dir):
    result = summary.summarize(sweep_dir)
    assert [r["warnings"] for r in result["rows"]] == [["learned_nothing"], []]
    assert result["best"]["run"] == "1"
    assert "flagged" not in summary.report(result) and "every run raised" not in summary.report(result)


def test_when_every_run_is_flagged_the_best_is_named_and_the_report_says_so(sweep_dir):
    flag(sweep_dir / "1", {"code": "cost_rose", "message": "..."})
    result = summary.summarize(sweep_dir)
    assert result["best"]["run"] == "0"  # the best metric among the flagged runs
    assert (
        summary.report(result)
        .splitlines()[-1]
        .endswith("; every run raised outcome warnings, this one learned_nothing: see its metrics.json")
    )


def test_the_table_rounds_to_4_significant_digits_and_the_csv_keeps_every_digit(sweep_dir):
    result = summary.summarize(sweep_dir)
    lines = summary.format_table(result["rows"]).splitlines()
    header, first = lines[0].split(), lines[1].split()
    assert header[-1] == "warnings" and first[-1] == "learned_nothing" and lines[2].split()[-1] == "-"
    assert "0.6931" in first and "0.6931471805599453" not in lines[1]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header: aligned
    with open(sweep_dir / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["test_cost"]) == 0.6931471805599453 and rows[0]["warnings"] == "learned_nothing"
    assert rows[1]["warnings"] == ""


@pytest.mark.parametrize(
    "content", ["[1, 2, 3]", '{"accuracy": 0.9}', '{"config": "not a mapping"}', "not json {"], ids=str
)
def test_another_tools_metrics_json_is_skipped_with_a_warning(sweep_dir, caplog, content):
    (sweep_dir / "other").mkdir()
    (sweep_dir / "other" / "metrics.json").write_text(content)
    with caplog.at_level(logging.WARNING, logger="lr_jax.runfolder.summary"):
        result = summary.summarize(sweep_dir)
    assert [r["run"] for r in result["rows"]] == ["0", "1"]
    assert "other/metrics.json" in caplog.text and "skipped" in caplog.text


def test_a_record_without_accuracies_is_summarized(tmp_path):
    write_job(tmp_path / "0", 0.01, 0, 0.7, 0.8)
    (tmp_path / "1").mkdir()
    artifacts.save_json(tmp_path / "1" / "metrics.json", {"config": {"optim": {"learning_rate": 0.1}}})
    text = summary.report(summary.summarize(tmp_path))
    assert "n/a" in text.splitlines()[2] and "best: run 0" in text


def test_runs_written_before_warnings_were_recorded_count_as_clean(tmp_path):
    write_job(tmp_path / "0", 0.01, 0, 0.7, 0.8)  # no `warnings` key
    assert summary.summarize(tmp_path)["rows"][0]["warnings"] == []
