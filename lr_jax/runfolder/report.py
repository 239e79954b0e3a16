"""What a finished run leaves behind: the course's printed lines, the metrics and the run folder's files.

Files are written in a fixed order: `config.json` first (before training, so that any other tool can tell
what the folder is for), then `params.npz`, `costs.csv` and the figures, and `metrics.json` last: a folder
with a `metrics.json` holds a finished run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from lr_jax import artifacts, background, metrics, outcomes, runtime
from lr_jax.config import Config
from lr_jax.config.checks import METRIC_DIRECTIONS
from lr_jax.data import Split
from lr_jax.evaluate import Evaluation
from lr_jax.models.interface import Model
from lr_jax.runfolder import inspection, plots
from lr_jax.runfolder import transaction as rundir
from lr_jax.version import __version__

log = logging.getLogger(__name__)
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
# Every name a single run writes into its folder (files, then folders): `transaction.claim` checks them all
# before training, so that a directory named params.npz is refused then, not at the commit.
# as loggers.FIGURES; confusion_matrix.png of K > 2 classes only (a binary run's files are the course's)
FIGURES = ("learning_curve.png", "roc_curve.png", "mistakes.png", "weights.png", "confusion_matrix.png")
RUN_FILES = (CONFIG_FILE, "params.npz", "costs.csv", *FIGURES, METRICS_FILE)
RUN_FOLDERS = ("checkpoints", "logs", "tensorboard")


def write_config(workdir: Path, config: Config, classes: Sequence[str], n_features: int) -> None:
    """`config.json`: the run's config, its class names (label 0, label 1) and its number of inputs."""
    workdir.mkdir(parents=True, exist_ok=True)
    artifacts.save_json(
        workdir / CONFIG_FILE, {"config": config.to_dict(), "classes": list(classes), "n_features": int(n_features)}
    )


def logged_costs(costs_T, every: int) -> tuple[np.ndarray, np.ndarray]:
    """(iterations 0, every, 2·every, ..., the cost before each) of a run's whole cost history."""
    iterations = np.arange(0, np.shape(costs_T)[0], every)
    return iterations, np.asarray(costs_T)[::every]


def print_costs(iterations, costs) -> None:
    """The course's lines: `Cost after iteration 100: 0.584508`."""
    for i, c in zip(iterations, costs):
        log.info("Cost after iteration %i: %f", i, c)


def log_evaluation(evaluation: Evaluation, n_iter: int, converged: bool) -> None:
    """The course's accuracy lines, then the metrics table of every split."""
    log.info("train accuracy: %.2f %%", 100 * evaluation.metrics["train"]["accuracy"])
    log.info("test accuracy: %.2f %%", 100 * evaluation.metrics["test"]["accuracy"])
    log.info(
        "%s %i iterations\n%s",
        "converged after" if converged else "ran",
        n_iter,
        metrics.format_table(evaluation.metrics),
    )


def selection_record(optimized_metric: str, scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a sweep selects this run by: `optimized_metric` of the splits the run has (a val_ metric falls
    back to the test split when there is no validation split), its direction and value, and whether it is
    a test-set number (then `reason` says why)."""
    split, _, metric = optimized_metric.partition("_")
    reason = None
    if split == "val" and "val" not in scores:
        split, reason = "test", "no validation split (data.val_fraction=0), so a val_ metric is taken on the test set"
    elif split == "test":
        reason = f"optimized_metric={optimized_metric} names a test metric"
    return {
        "name": f"{split}_{metric}",
        "configured": optimized_metric,
        "direction": METRIC_DIRECTIONS[metric],
        "value": scores[split][metric],
        "uses_test_set": split == "test",
        "reason": reason,
    }


def outcome_warnings(config: Config, evaluation: Evaluation, costs_T, info: dict[str, Any]) -> list[outcomes.Outcome]:
    """The outcome checks (`lr_jax.outcomes`) of a finished run: its whole cost history, the kept parameters'
    objective and training predictions, its early-stopping record and the val_ metrics that decided it."""
    t = config.train
    record = info.get("early_stopping")
    measured = (info.get("val_curve") or {}).get("iteration") or [None]
    return outcomes.check_fit(
        costs_T=costs_T,
        final_cost=evaluation.train_objective,
        train_y=evaluation.labels["train"],
        train_proba=evaluation.probas["train"],
        threshold=config.model.threshold,
        penalty=config.model.l2,
        tol=t.tol,
        converged=bool(info["converged"]),
        stopped=bool(record and record.get("stopped_at") is not None),
        early_stopping=record,
        first_measured=measured[0],
        val_y=evaluation.labels.get("val"),
        val_metrics=[config.optimized_metric, *([t.early_stopping_metric] if t.early_stopping else [])],
    )


def log_warnings(records) -> None:
    """One `warning:` line per outcome warning (the console shows the message alone)."""
    for w in records:
        log.warning("warning: %s [%s]", w["message"], w["code"])


def run_metrics(config: Config, evaluation: Evaluation, iterations, costs, info: dict[str, Any]) -> dict[str, Any]:
    """metrics.json's content: `<split>_<metric>`, the logged costs, `info` from the trainer, the run's setup."""
    return {
        **{f"{split}_{name}": value for split, ev in evaluation.metrics.items() for name, value in ev.items()},
        "train_objective": evaluation.train_objective,
        "grad_norm": evaluation.grad_norm,
        "cost_iterations": np.asarray(iterations).tolist(),
        "costs": [float(c) for c in costs],
        "optimized_metric": selection_record(config.optimized_metric, evaluation.metrics),
        "diverged": not (np.isfinite(costs).all() and math.isfinite(evaluation.train_objective)),
        **info,
        "lr_jax_version": __version__,  # CHANGELOG.md says what each version changed
        "jax_version": jax.__version__,
        **runtime.describe_devices(),
        "environment": runtime.environment(),
        "config": config.to_dict(),
    }


VAL_COLUMNS = ("val_cost", "val_accuracy")  # costs.csv's columns of a run measured on a validation split


def val_columns(iterations, val_curve: dict[str, list] | None) -> dict[str, list[float]]:
    """{column: value at each of `iterations`} of VAL_COLUMNS from the val curve (NaN where not measured, e.g.
    before a resumed run's restart); {} without a validation split."""
    if not val_curve:
        return {}
    at = {int(i): k for k, i in enumerate(val_curve["iteration"])}
    return {
        name: [val_curve[name][at[int(i)]] if int(i) in at else math.nan for i in iterations] for name in VAL_COLUMNS
    }


class RunFigures(NamedTuple):
    """A run's line plots, built in the drawing process (`start_figures`); `write_outputs` finishes them."""

    learning_curve: Future  # of a prepared plots.LearningCurves
    roc: Future  # of a prepared plots.RocCurves


def start_figures(config: Config, splits: Sequence[str], *, prepare: bool = True) -> RunFigures:
    """The learning curve and ROC of a run on `splits` (train, test, val), built in the drawing process
    (`background.in_drawing_process`) after matplotlib's import, and with `prepare` drawn empty there: started
    before training, on another core, they cost the run's end only their curves. With a "val" split the
    learning curve has a validation line."""
    labels = ("train", "validation") if "val" in splits else (None,)
    subject = plots.run_subject(config.to_dict())
    title = f"Cost against iterations, {config.train.iteration_limit} iterations\n{subject}"
    build = functools.partial(background.in_drawing_process, plots.build_figure, keep=True)
    return RunFigures(  # a legend (train and validation) right of the axes, off the curves
        build(plots.LearningCurves, prepare, title, labels, outside=labels != (None,)),
        build(plots.RocCurves, prepare, list(splits), subject),
    )


def _finish(figure: Future, path: Path, data) -> None:
    """In the worker thread: the figure `start_figures` built, saved with its data by the drawing process."""
    background.call_in_drawing_process(plots.save_built_figure, figure.result(), path, data)


def write_outputs(
    workdir: Path,
    config: Config,
    model: Model,
    params,
    iterations,
    costs,
    test: Split,
    evaluation: Evaluation,
    *,
    diverged: bool = False,
    figures: RunFigures | None = None,
    val_curve: dict[str, list] | None = None,
) -> None:
    """params.npz, costs.csv and, with `figures` (`start_figures`), the figures (learning curve, ROC;
    mistakes and weights of image data). With a `val_curve` (`hooks.ValidationTracker.curve()`), costs.csv
    has VAL_COLUMNS and the learning curve a validation line.

    The line plots are finished in the drawing process while this one writes the rest; this returns once
    every file is written. A diverged run (a sweep's point; a single run stops before) writes its costs
    only: no parameters, no figures.
    """
    params = jax.device_get(params)
    extra = val_columns(iterations, val_curve)
    if diverged:
        artifacts.save_costs_csv(workdir / "costs.csv", iterations, costs, extra)
        return
    drawn = []
    k_class = evaluation.probas["test"].ndim == 2  # class probabilities (m, K): K-class figures
    if figures is not None:
        curves: dict[str | None, tuple] = {None: (iterations, costs)}
        if val_curve:
            curves = {"train": (iterations, costs), "validation": (val_curve["iteration"], val_curve["val_cost"])}
        rocs = (
            {}
            if k_class
            else {n: metrics.roc_curve(evaluation.labels[n], evaluation.probas[n]) for n in evaluation.probas}
        )
        drawn = [
            background.in_background(_finish, figures.learning_curve, workdir / "learning_curve.png", curves),
            *([] if k_class else [background.in_background(_finish, figures.roc, workdir / "roc_curve.png", rocs)]),
        ]
    artifacts.save_params(workdir / "params.npz", params)
    artifacts.save_costs_csv(workdir / "costs.csv", iterations, costs, extra)
    if figures is not None and k_class:
        write_class_outputs(
            workdir,
            evaluation.labels["test"],
            evaluation.probas["test"],
            test.classes,
            np.asarray(model.unit_weights(params)),
            x_raw=test.x_raw,
            rows_are_classes=not config.model.hidden,
            subject=plots.run_subject(config.to_dict()),
        )
    elif figures is not None and test.x_raw.ndim == 4:  # images (synthetic features have no picture to show)
        inspection.save_inspection(
            workdir,
            test.x_raw,
            test.y,
            evaluation.probas["test"],
            np.asarray(model.unit_weights(params)),
            threshold=config.model.threshold,
            image_size=config.data.image_size,
            classes=test.classes,
            subject=plots.run_subject(config.to_dict()),
        )
    for plot in drawn:
        plot.result()


def write_class_outputs(
    workdir: Path,
    y_N,
    proba_NK,
    class_names: Sequence[str],
    weights_RD,
    *,
    x_raw=None,
    rows_are_classes: bool = True,
    subject: str = "",
    split: str = "test",
) -> dict[str, Any]:
    """The figures of a K-class split (labels y_N in [0, K), class probabilities proba_NK, the class names in
    label order): confusion_matrix.png, roc_curve.png (one-vs-rest, a curve per class; up to 11 classes, a
    legend entry each) and, with images (`x_raw` (m, H, W[, C]), the rows of `weights_RD` one per pixel
    value), mistakes.png and weights.png (`inspection.save_class_inspection`). Returns
    `metrics.multiclass_metrics` of the split. The matplotlib figures are drawn in the drawing process (after
    what it was given before: a run's learning curve), the others here meanwhile."""
    y_N, proba_NK = np.asarray(y_N), np.asarray(proba_NK)
    scores = metrics.multiclass_metrics(y_N, proba_NK, class_names)
    plotted = background.in_drawing_process(
        plots.plot_class_figures, workdir, y_N, proba_NK, class_names, scores["confusion_matrix"], subject, split
    )
    if x_raw is not None and np.ndim(x_raw) >= 3:  # images (synthetic features have no picture to show)
        inspection.save_class_inspection(
            workdir,
            x_raw,
            y_N,
            proba_NK,
            weights_RD,
            classes=class_names,
            rows_are_classes=rows_are_classes,
            subject=subject,
        )
    plotted.result()
    return scores


def write_metrics(workdir: Path, run_metrics: dict[str, Any]) -> None:
    """metrics.json, the last file of a run."""
    artifacts.save_json(workdir / METRICS_FILE, run_metrics)


def report_run(
    workdir: Path,
    config: Config,
    model: Model,
    params,
    costs_T,
    test: Split,
    evaluation: Evaluation,
    info: dict[str, Any],
    *,
    started: float,
    process_started: float | None = None,
    figures: RunFigures | None = None,
    costs_printed: bool = False,
    commit: bool = True,
) -> dict[str, Any]:
    """Print the costs and the evaluation, write the run's files (metrics.json last); return the metrics.

    `costs_T` is the whole cost history since iteration 0; `info` holds what only the trainer knows
    (n_iter, converged, timings; `val_curve` and `early_stopping` with a validation split, the curve also
    going to costs.csv and the learning curve) and goes into the metrics as it is. What the outcome checks
    find goes into `warnings` ([{"code", "message"}]) and is logged, one `warning:` line each. `run_time_s`
    counts from `started` (a `time.perf_counter()` value) to the writing of metrics.json, `files_time_s` the files
    alone. Without `figures` (`start_figures`) no figure is written (a sweep's points). With
    `process_started` (the script's first `time.perf_counter()`), `import_time_s` is the time from it to
    `started` (imports, Hydra's config) and `process_time_s` the time from it to metrics.json. With
    `costs_printed` (a single run, whose `hooks.CostPrinter` printed each chunk's lines as it finished) the
    cost lines are not printed again. The files, config.json too, are committed into `workdir` together
    (`rundir.staged_outputs`); without `commit`, `workdir` is a folder of a stage the caller commits (a
    sweep's member).
    """
    iterations, costs = logged_costs(costs_T, config.train.log_every)
    if config.train.print_cost and not costs_printed:
        print_costs(iterations, costs)
    log_evaluation(evaluation, info["n_iter"], info["converged"])
    result = run_metrics(config, evaluation, iterations, costs, info)
    result["warnings"] = outcomes.as_records(outcome_warnings(config, evaluation, costs_T, info))
    selected = result["optimized_metric"]
    log.info(
        "optimized metric: %s = %.6f%s",
        selected["name"],
        selected["value"],
        f" (selection uses the test set: {selected['reason']})" if selected["uses_test_set"] else "",
    )
    log_warnings(result["warnings"])
    if not runtime.is_writer():  # one process writes the run's files
        result["run_time_s"] = time.perf_counter() - started
        return result
    staged = rundir.staged_outputs(workdir, rundir.resume_hint(workdir)) if commit else contextlib.nullcontext(workdir)
    with staged as stage:  # moved into workdir together, metrics.json last
        t_files = time.perf_counter()
        write_config(stage, config, test.classes, int(np.prod(test.x_raw.shape[1:])))
        write_outputs(
            stage,
            config,
            model,
            params,
            iterations,
            costs,
            test,
            evaluation,
            diverged=result["diverged"],
            figures=figures,
            val_curve=info.get("val_curve"),
        )
        result["files_time_s"] = time.perf_counter() - t_files
        result["files_sha256"] = rundir.file_hashes(stage)
        result["run_time_s"] = time.perf_counter() - started
        if process_started is not None:  # the script's first line, before its imports
            result["import_time_s"] = started - process_started
            result["process_time_s"] = time.perf_counter() - process_started
        write_metrics(stage, result)
    log.info("wrote %s", workdir)
    return result
