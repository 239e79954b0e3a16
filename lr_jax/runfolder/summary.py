"""A sweep as one table and one figure, from the `metrics.json` of each of its runs.

A sweep folder holds one sub-folder per run (`0/`, `1/`, ...: Hydra's multirun jobs, or the configs of a
vmapped sweep), each written by `report.report_run`. The table's parameter columns are the config
keys whose values differ between the runs (`optim.learning_rate`, `train.seed`, ...), so a sweep over
any key is summarized the same way. The best run is the one with the best `optimized_metric` (each run's
metrics.json records which metric that was, whether larger or smaller is better, and whether it came from
the test set), ties going to the lower cost of the same split. Selecting on the test set is said plainly:
the course's data has no validation split, so there a `val_` metric falls back to the test split.
A run with outcome warnings (metrics.json's `warnings`, `lr_jax.outcomes`) shows their codes in the
`warnings` column and is the best run only when every run has some (the report then says so).
A run whose files no longer match the sha256 its metrics.json records (`files_sha256`: params.npz and
costs.csv damaged, replaced, or missing) is flagged `files_ok: false`, warned about by name and never the
best run.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lr_jax import artifacts, background, outcomes
from lr_jax.config.vocab import METRIC_DIRECTIONS
from lr_jax.errors import LrJaxError, OutcomeError
from lr_jax.runfolder import plots
from lr_jax.runfolder import transaction as rundir

METRIC_COLUMNS = ("train_accuracy", "test_accuracy", "train_cost", "test_cost")
SUMMARY_FILES = ("summary.csv", "summary.json", "learning_curves.png")

log = logging.getLogger(__name__)


def read_runs(sweep_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{run folder name: its metrics} for every `*/metrics.json` in `sweep_dir`, in job order; a file that is
    not a run's record (not a JSON object with a `config` mapping: another tool's) is skipped with a warning."""
    paths = sorted(Path(sweep_dir).glob("*/metrics.json"), key=lambda p: _job_order(p.parent.name))
    runs = {p.parent.name: m for p in paths if (m := _run_record(p)) is not None}
    if not runs:
        raise LrJaxError(
            f"{sweep_dir}: no run folder with a metrics.json (expected {sweep_dir}/0/metrics.json, ...). "
            "Pass the folder of a finished sweep: multirun/<date>/<time>, or a `scripts/sweep.py` run folder."
        )
    return runs


def _run_record(path: Path) -> dict[str, Any] | None:
    """The metrics of `path`, or None (warned about) when it is not an lr_jax run's metrics.json."""
    try:
        m = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        log.warning("%s: not readable as JSON (%s); skipped. Remove it, or train that run again.", path, e)
        return None
    if not isinstance(m, dict) or not isinstance(m.get("config"), Mapping):
        log.warning(
            "%s: not an lr_jax run's metrics (a JSON object with a `config` mapping); skipped. Move it out of the "
            "sweep folder if it belongs to another tool.",
            path,
        )
        return None
    return m


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


def selection(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What the sweep's runs were selected by: the first run's `optimized_metric` record (name, direction,
    uses_test_set); runs written before that record existed are selected by test accuracy."""
    for m in runs.values():
        if m.get("optimized_metric"):
            return {k: m["optimized_metric"][k] for k in ("name", "direction", "uses_test_set", "reason")}
    return {"name": "test_accuracy", "direction": "max", "uses_test_set": True, "reason": "runs without a record"}


def summary_rows(
    runs: Mapping[str, Mapping[str, Any]], selected_by: str = "test_accuracy", mismatched=()
) -> list[dict[str, Any]]:
    """One row per run: its folder name, the varying config keys, the METRIC_COLUMNS and `selected_by`,
    `diverged`, `files_ok` (false for the runs named in `mismatched`) and `warnings` (the codes of its
    outcome warnings, `lr_jax.outcomes`; [] for a clean run or one written before they were recorded)."""
    keys = varying_keys([m["config"] for m in runs.values()])
    extra = [] if selected_by in METRIC_COLUMNS else [selected_by]
    return [
        {
            "run": name,
            **{k: flatten(m["config"]).get(k) for k in keys},
            **{c: m.get(c) for c in (*METRIC_COLUMNS, *extra)},
            "diverged": bool(m.get("diverged", False)),
            "files_ok": name not in mismatched,
            "warnings": [w.get("code") for w in m.get("warnings") or [] if isinstance(w, Mapping)],
        }
        for name, m in runs.items()
    ]


def check_files(sweep_dir: Path, runs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The runs whose files differ from the sha256 their metrics.json records, each warned about; runs
    that record no hashes are taken as they are."""
    mismatched = []
    for name, m in runs.items():
        recorded = m.get("files_sha256")
        if not isinstance(recorded, dict):
            continue
        found = rundir.file_hashes(sweep_dir / name)
        differ = sorted(f for f in recorded if found.get(f) != recorded[f])
        if differ:
            mismatched.append(name)
            log.warning(
                "run %s: %s differ(s) from the sha256 its metrics.json records (damaged, replaced or missing); "
                "it is not considered for the best run. Train it again, or copy back its own files.",
                sweep_dir / name,
                differ,
            )
    return mismatched


def check_ranges(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """{run: its metrics out of range} (an accuracy of 1.5, a negative cost, a string), each run warned about:
    such a metrics.json was edited or damaged; the summary shows those values as n/a, and never picks the run."""
    bad_runs = {}
    for name, m in runs.items():
        bad = sorted(k for k, v in m.items() if _is_metric(k) and v is not None and not _in_range(k, v))
        if bad:
            bad_runs[name] = bad
            log.warning(
                "run %s: metrics.json holds %s, out of range (rates lie in [0, 1], costs are >= 0); it is not "
                "considered for the best run. Train it again.",
                name,
                ", ".join(f"{k}={m[k]!r}" for k in bad),
            )
    return bad_runs


def _is_metric(key: str) -> bool:
    split, _, metric = key.partition("_")
    return split in ("train", "val", "test") and metric in METRIC_DIRECTIONS


def _in_range(key: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return value >= 0 if key.endswith(("_log_loss", "_cost")) else 0 <= value <= 1


def best_row(rows: list[dict[str, Any]], by: str = "test_accuracy", direction: str = "max") -> dict[str, Any] | None:
    """The row with the best `by` (largest for direction "max", smallest for "min"); among equals, the lowest
    cost of the same split, then the first.

    Diverged runs (`diverged` true, or a metric that is null: NaN when written) and runs whose files do not
    match their record (`files_ok` false) are never the best; None when no run is left. A run with outcome
    warnings is the best only when every run left has some.
    """
    tie = f"{by.partition('_')[0]}_cost"
    finished = [r for r in rows if not r.get("diverged") and r.get("files_ok", True) and r.get(by) is not None]
    finished = [r for r in finished if not r.get("warnings")] or finished
    if not finished:
        return None
    sign = 1 if direction == "max" else -1
    return max(finished, key=lambda r: (sign * r[by], -(r.get(tie) or 0.0)))


def describe(row: Mapping[str, Any]) -> str:
    """A row's parameters as `learning_rate=0.01, seed=1` (its run folder when nothing varies)."""
    params = [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in row.items() if "." in k]
    return ", ".join(params) or f"run {row['run']}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table: accuracies in percent, other numbers to 4 significant digits
    (summary.csv keeps them whole), warnings by code."""

    def cell(key, value):
        if value is None:
            return "n/a"
        if isinstance(value, list):
            return ",".join(map(str, value)) or "-"
        if key.endswith("accuracy"):
            return f"{100 * value:.2f} %"
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    cells = [list(rows[0])] + [[cell(k, v) for k, v in row.items()] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells)


def csv_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows for summary.csv: numbers as they are, a list (the warnings) as its items joined by `;`."""
    return [{k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()} for row in rows]


def summarize(sweep_dir: str | Path) -> dict[str, Any]:
    """Write summary.csv, summary.json and learning_curves.png into `sweep_dir`; return {"rows", "best"}."""
    sweep_dir = Path(sweep_dir)
    runs = read_runs(sweep_dir)
    out_of_range = check_ranges(runs)
    runs = {name: {k: None if k in out_of_range.get(name, ()) else v for k, v in m.items()} for name, m in runs.items()}
    mismatched = check_files(sweep_dir, runs) + list(out_of_range)
    selected_by = selection(runs)
    rows = summary_rows(runs, selected_by["name"], mismatched)
    best = best_row(rows, selected_by["name"], selected_by["direction"])
    artifacts.save_table_csv(sweep_dir / "summary.csv", csv_rows(rows))
    artifacts.save_json(sweep_dir / "summary.json", {"rows": rows, "best": best, "selected_by": selected_by})
    curves = {describe(row): runs[row["run"]] for row in rows}  # drawn where the jobs' figures were: warm
    background.call_in_drawing_process(plots.save_sweep_curves, sweep_dir / "learning_curves.png", curves)
    return {"rows": rows, "best": best, "selected_by": selected_by}


def report(summary: Mapping[str, Any]) -> str:
    """The table and a line naming the best run and what it was selected by, as printed by the CLI."""
    best, by = summary["best"], summary["selected_by"]
    if best is None:
        why = (
            "every run diverged"
            if all(r["diverged"] for r in summary["rows"])
            else "no run without divergence or damaged files"
        )
        return f"{format_table(summary['rows'])}\nbest: none ({why})"
    on_test = f" (selected on the test set: {by['reason']})" if by["uses_test_set"] else ""
    flagged = (
        f"; every run raised outcome warnings, this one {','.join(best['warnings'])}: see its metrics.json"
        if best.get("warnings")
        else ""
    )
    return (
        f"{format_table(summary['rows'])}\nbest: run {best['run']} ({describe(best)}) by {by['name']}{on_test}: "
        f"test accuracy {_percent(best.get('test_accuracy'))}, train accuracy {_percent(best.get('train_accuracy'))}"
        f"{flagged}"
    )


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


class SummarizeCallback:
    """Hydra callback (`hydra.callbacks` in conf/config.yaml): summarize the sweep when a multirun ends.

    It has the methods of Hydra's `Callback` without importing Hydra, and lives in the installed package so
    that launchers which unpickle it in other processes (joblib, submitit) can import it.
    """

    def on_multirun_end(self, config, **kwargs) -> None:
        """Summarize; with train.strict=true, then exit 3 with one `error:` line if any job has a warning."""
        try:
            result = summarize(config.hydra.sweep.dir)
        except LrJaxError as e:  # e.g. every job failed: say so, and leave the jobs' own errors visible
            log.warning("no sweep summary: %s", e)
            return
        log.info("sweep summary:\n%s", report(result))  # on its own line: the header aligned after the log prefix
        flagged = [row for row in result["rows"] if row["warnings"]]
        where = f"{len(flagged)} of {len(result['rows'])} jobs"
        failure = outcomes.strict_failure([c for row in flagged for c in row["warnings"]], where)
        if failure and (config.get("train") or {}).get("strict", False):
            print(f"error: {failure}", file=sys.stderr)
            sys.exit(OutcomeError.exit_code)

    def on_run_start(self, config, **kwargs) -> None:
        """Hydra calls every hook of every callback; only the end of a multirun has work to do."""

    on_run_end = on_multirun_start = on_job_start = on_job_end = on_run_start
