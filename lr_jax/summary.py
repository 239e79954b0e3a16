"""A sweep as one table and one figure, from the `metrics.json` of each of its runs.

A sweep folder holds one sub-folder per run (`0/`, `1/`, ...: Hydra's multirun jobs, or the configs of a
vmapped sweep), each written by `experiment.record_run`. The table's parameter columns are the config
keys whose values differ between the runs (`optim.learning_rate`, `train.seed`, ...), so a sweep over
any key is summarized the same way. The best run is the one with the highest test accuracy, ties going to
the lower test cost (the course's data has no validation split; choose on it only for the course's study).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lr_jax import artifacts
from lr_jax.errors import LrJaxError

METRIC_COLUMNS = ("train_accuracy", "test_accuracy", "train_cost", "test_cost")
SUMMARY_FILES = ("summary.csv", "summary.json", "learning_curves.png")

log = logging.getLogger(__name__)


def read_runs(sweep_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{run folder name: its metrics} for every `*/metrics.json` in `sweep_dir`, in job order."""
    paths = sorted(Path(sweep_dir).glob("*/metrics.json"), key=lambda p: _job_order(p.parent.name))
    if not paths:
        raise LrJaxError(
            f"{sweep_dir}: no run folder with a metrics.json (expected {sweep_dir}/0/metrics.json, ...). "
            "Pass the folder of a finished sweep: multirun/<date>/<time>, or a `scripts/sweep.py` run folder."
        )
    return {p.parent.name: json.loads(p.read_text()) for p in paths}


def _job_order(name: str) -> tuple:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optim": {"learning_rate": 0.01}} -> {"optim.learning_rate": 0.01}."""
    flat = {}
    for key, value in d.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def varying_keys(configs: list[Mapping[str, Any]]) -> list[str]:
    """The flattened config keys whose values are not the same in every run, in config order."""
    flats = [flatten(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    return [k for k in keys if len({json.dumps(flat.get(k)) for flat in flats}) > 1]


def summary_rows(runs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run: its folder name, the varying config keys, and the METRIC_COLUMNS."""
    keys = varying_keys([m["config"] for m in runs.values()])
    return [
        {
            "run": name,
            **{k: flatten(m["config"]).get(k) for k in keys},
            **{c: m.get(c) for c in METRIC_COLUMNS},
            "diverged": bool(m.get("diverged", False)),
        }
        for name, m in runs.items()
    ]


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row with the highest test accuracy; among equals, the lowest test cost, then the first.

    Diverged runs (`diverged` true, or a metric that is null: NaN when written) are never the best; None
    when every run diverged.
    """
    finished = [r for r in rows if not r.get("diverged") and all(r[c] is not None for c in METRIC_COLUMNS)]
    return max(finished, key=lambda r: (r["test_accuracy"], -r["test_cost"])) if finished else None


def describe(row: Mapping[str, Any]) -> str:
    """A row's parameters as `learning_rate=0.01, seed=1` (its run folder when nothing varies)."""
    params = [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in row.items() if k not in ("run", "diverged", *METRIC_COLUMNS)]
    return ", ".join(params) or f"run {row['run']}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table, accuracies in percent."""

    def cell(key, value):
        if value is None:
            return "n/a"
        if key.endswith("accuracy"):
            return f"{100 * value:.2f} %"
        return f"{value:.6f}" if key.endswith("cost") else str(value)

    cells = [list(rows[0])] + [[cell(k, v) for k, v in row.items()] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells)


def summarize(sweep_dir: str | Path) -> dict[str, Any]:
    """Write summary.csv, summary.json and learning_curves.png into `sweep_dir`; return {"rows", "best"}."""
    sweep_dir = Path(sweep_dir)
    runs = read_runs(sweep_dir)
    rows = summary_rows(runs)
    best = best_row(rows)
    artifacts.save_table_csv(sweep_dir / "summary.csv", rows)
    artifacts.save_json(sweep_dir / "summary.json", {"rows": rows, "best": best})
    curves = {
        describe(row): (runs[row["run"]]["cost_iterations"], np.asarray(runs[row["run"]]["costs"], float))
        for row in rows
    }  # a diverged run's costs hold nulls: NaN, a gap in its curve
    artifacts.plot_learning_curves(sweep_dir / "learning_curves.png", curves, f"{len(rows)} runs")
    return {"rows": rows, "best": best}


def report(summary: Mapping[str, Any]) -> str:
    """The table and a line naming the best run, as printed by the CLI."""
    best = summary["best"]
    if best is None:
        return f"{format_table(summary['rows'])}\nbest: none (every run diverged)"
    return (
        f"{format_table(summary['rows'])}\nbest: run {best['run']} ({describe(best)}): "
        f"test accuracy {100 * best['test_accuracy']:.2f} %, "
        f"train accuracy {100 * best['train_accuracy']:.2f} %"
    )


class SummarizeCallback:
    """Hydra callback (`hydra.callbacks` in conf/config.yaml): summarize the sweep when a multirun ends.

    It has the methods of Hydra's `Callback` without importing Hydra, and lives in the installed package so
    that launchers which unpickle it in other processes (joblib, submitit) can import it.
    """

    def on_multirun_end(self, config, **kwargs) -> None:
        try:
            log.info("%s", report(summarize(config.hydra.sweep.dir)))
        except LrJaxError as e:  # e.g. every job failed: say so, and leave the jobs' own errors visible
            log.warning("no sweep summary: %s", e)

    def on_run_start(self, config, **kwargs) -> None:
        """Hydra calls every hook of every callback; only the end of a multirun has work to do."""

    on_run_end = on_multirun_start = on_job_start = on_job_end = on_run_start
