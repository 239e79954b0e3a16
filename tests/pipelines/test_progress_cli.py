"""Watching a run learn with its output in a file: cost lines arrive while it trains, each with its own time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from lr_jax.runfolder import results
from tests.conftest import REPO_ROOT

COST_LINE = re.compile(r"^Cost after iteration (\d+): ")
PROGRESS_LINE = re.compile(r"^iteration (\d+)/20000, cost \d+\.\d{6}, \d+\.\d s$")
LOG_TIME = re.compile(r"^\[([\d-]+ [\d:,]+)\]\[lr_jax\.runfolder\.report\]\[INFO\] - Cost after iteration")


@pytest.mark.slow  # 20,000 iterations of the course data through the CLI
def test_cost_lines_reach_a_redirected_stdout_while_the_run_trains(data_dir, tmp_path):
    run, out_path = tmp_path / "run", tmp_path / "stdout.txt"
    overrides = [f"data.dir={data_dir}", "data.download=false", "train.num_iterations=20000", "train.log_every=1000"]
    with open(out_path, "w") as out, open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides, f"hydra.run.dir={run}"],
            stdout=out,
            stderr=err,
            cwd=REPO_ROOT,
        )
        seen_while_running = set()  # the cost lines' counts found in the file while the process ran
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            text = out_path.read_text()
            if "train accuracy" not in text:  # still training
                seen_while_running.add(sum(bool(COST_LINE.match(line)) for line in text.splitlines()))
            time.sleep(0.02)
        assert proc.wait(timeout=60) == 0, (tmp_path / "stderr.txt").read_text()

    lines = out_path.read_text().splitlines()
    costs = [int(COST_LINE.match(line)[1]) for line in lines if COST_LINE.match(line)]
    assert costs == list(range(0, 20000, 1000))  # every line, once, in order
    # Lines were in the file before training ended, and more of them later: they arrive chunk by chunk.
    assert any(0 < n < 20 for n in seen_while_running), sorted(seen_while_running)
    # Hydra's train.log stamps each record as it is logged: the cost lines do not share one time.
    stamps = [LOG_TIME.match(line)[1] for line in (run / "train.log").read_text().splitlines() if LOG_TIME.match(line)]
    assert len(stamps) == 20 and len(set(stamps)) > 1, stamps
    # Off a terminal, no bar: plain progress lines (as many as 5-second intervals passed; none on a fast machine).
    assert "it/s" not in out_path.read_text() + (tmp_path / "stderr.txt").read_text()
    assert all(PROGRESS_LINE.match(line) for line in lines if line.startswith("iteration "))


@pytest.mark.slow  # a fresh process; a short loop
def test_chunking_benchmark_prints_its_table_and_writes_it_as_a_results_file(data_dir, tmp_path):
    results_file = tmp_path / "chunks.json"
    proc = subprocess.run(
        [sys.executable, "scripts/benchmark.py", "--suite", "chunks", "--repeats", "1", "--steps", "200"]
        + ["--results", str(results_file)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "LR_JAX_DATA_DIR": str(data_dir)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "iterations" in line]
    assert len(rows) == 2 and "| one call, no hooks |" in proc.stdout
    # The results file holds what was printed (the table the docs render is the one the suite printed) and how.
    record = results.read(results_file)
    assert record["command"] == f"lr-jax benchmark --suite chunks --repeats 1 --steps 200 --results {results_file}"
    assert record["versions"]["jax"] and "CPUs" in record["machine"] and record["date"].endswith("UTC")
    (table,) = record["tables"]
    assert table["title"].startswith("The course loop, 200 iterations") and len(table["rows"]) == 3
    printed = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert [line for line in results.render_markdown(record).splitlines() if line.startswith("|")] == printed
