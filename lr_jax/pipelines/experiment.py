"""`train_and_evaluate(config, workdir)`: the one function the CLI, the tests and a notebook all call.

It reads as the stages of a run, in order (`lr_jax.pipelines.stages`): runtime, inputs, state, resume, placement,
fit with hooks, evaluate, report. The stages take the run spec (`lr_jax.pipelines.spec`), built once from the
config here; only the report and the run's own files read the config itself.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import jax
import numpy as np

from lr_jax import artifacts, outcomes, runtime, span
from lr_jax.config import Config
from lr_jax.config.vocab import METRIC_DIRECTIONS
from lr_jax.errors import OutcomeError
from lr_jax.pipelines import sizes, stages
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.runfolder import plots, report

log = logging.getLogger(__name__)
_RUNS_IN_PROCESS = itertools.count(1)  # a multirun's jobs in one process: the later ones find JAX's caches warm


def train_and_evaluate(
    config: Config, workdir: str | Path, *, process_started: float | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """Train on the training set, evaluate on every split, write the run's files; return the metrics.

    Args:
      config: the validated run configuration.
      workdir: the run folder (Hydra's output dir from the CLI); created if absent.
      process_started: the script's first `time.perf_counter()`, for `import_time_s` in the metrics.
      strict: whether outcome warnings raise; None: train.strict (a multirun's job passes False, and the
        sweep's summary enforces train.strict once every job has run).

    Returns:
      The metrics also written to `workdir/metrics.json`.

    Raises:
      OutcomeError: with `strict`, once the files are written, if the run raised outcome warnings.
    """
    workdir, t_start = Path(workdir), time.perf_counter()
    plots.start_plotting()  # the drawing process imports matplotlib on another core meanwhile
    spec = spec_from_config(config)  # the model, the optimizer's static part, the dtype: built once
    with stages.runtime_scope(spec), contextlib.ExitStack() as run_scope:
        sizes.check_memory(config)  # before the data or any parameter is allocated
        inputs = stages.load_inputs(spec)
        t_data = time.perf_counter()
        state, hparams = stages.initial_state(spec, inputs.n_features)
        state, parametrization = stages.parametrize(spec, inputs, state, hparams, workdir)
        state, past_costs = stages.resume_point(spec, workdir, state)
        run_scope.enter_context(stages.claim_folder(spec, workdir, inputs.n_features))  # held to the end
        # Every check on the input is done: only now does the run write anything. A resumed run's config.json
        # is replaced by the commit of its results (report_run), with them.
        if runtime.is_writer() and not (workdir / report.CONFIG_FILE).exists():
            report.write_config(workdir, config, inputs.classes, inputs.n_features)
        placed = stages.place(spec, inputs, state, hparams)
        tracked = run_scope.enter_context(stages.run_loggers(spec, workdir))  # closed even if the run fails
        tracker, tail = stages.reporting_hooks(spec, inputs, tracked)
        on_chunk, chunk = stages.training_hooks(
            spec,
            workdir,
            past_costs,
            examples=len(inputs.splits["train"].y) * jax.process_count(),
            tail=tail,
            n_params=span.work_params(state),  # in the span: K·A's m·units, not the first layer's n·units
        )  # the cost lines are printed by a hook as each chunk finishes, not by the report
        # While JAX compiles and trains: the evaluation's program in the worker thread, the empty figures in
        # the drawing process.
        evaluation_compiled = stages.compile_evaluation(spec, inputs, placed.state.params)
        figures = report.start_figures(config, list(inputs.xs)) if runtime.is_writer() else None
        result = stages.fit(spec, placed, on_chunk=on_chunk, chunk_size=chunk)
        t_evaluate = time.perf_counter()
        futures.wait([evaluation_compiled])  # an error there is the evaluation's: the call below raises it
        params = stages.kept_params(spec, result, tracker)
        evaluation = stages.evaluate_params(spec, inputs, params)
        info: dict[str, Any] = {
            "n_iter": int(result.state.step),
            "parametrization": parametrization,
            "process_id": os.getpid(),
            "run_in_process": next(_RUNS_IN_PROCESS),  # 1: this process imported and compiled for this run
            "data_time_s": t_data - t_start,
            "converged": result.converged,
            "compile_time_s": result.compile_s,
            "train_time_s": result.run_s,
            "evaluate_time_s": time.perf_counter() - t_evaluate,
        }
        if tracker is not None:
            info.update(val_curve=tracker.curve(), early_stopping=tracker.record())
        costs_T = np.concatenate([past_costs, np.asarray(result.costs)])
        metrics = report.report_run(
            workdir,
            config,
            spec.model,
            params,
            costs_T,
            inputs.splits["test"],
            evaluation,
            info,
            started=t_start,
            process_started=process_started,
            figures=figures,
            costs_printed=True,
        )
        if runtime.is_writer():
            tracked.log_final(workdir, metrics)
    codes = [w["code"] for w in metrics["warnings"]]
    strict = config.train.strict if strict is None else strict
    failure = outcomes.strict_failure(codes, "the run") if strict else None
    if failure:  # after every file of the run is written and the trackers are closed
        raise OutcomeError(failure)
    return metrics


DIVERGED_FILE = "diverged.json"


def record_divergence(config: Config, workdir: str | Path, error: Exception) -> float:
    """A job of a sweep or search whose training diverged: `workdir/diverged.json` records it (the error, the
    config), one warning says so, and the job's value is the worst one of `optimized_metric`'s direction
    (inf when minimized, -inf when maximized): what a search ranks last.

    Not NaN: hydra-optuna-sweeper 1.3 with optuna 2.10 ends the whole study on a NaN value (optuna refuses
    to be told a NaN; the sweeper then tells it again as failed, which raises).
    """
    path = Path(workdir) / DIVERGED_FILE
    direction = METRIC_DIRECTIONS[config.optimized_metric.partition("_")[2]]
    value = math.inf if direction == "min" else -math.inf
    record = {"diverged": True, "error": str(error), "optimized_metric": config.optimized_metric}
    artifacts.save_json(path, {**record, "config": config.to_dict()})
    log.warning(
        "%s: this job diverged (%s); recorded in %s, its value %s, the sweep goes on", workdir, error, path, value
    )
    return value
