"""One-process sweeps: every (learning rate, seed) of `config.sweep` trained by one jitted, vmapped call.

It runs the stages of a single run (`lr_jax.pipelines.stages`) with a batched fit: grid point i starts exactly where a
single run with its learning rate and seed starts (`stages.initial_state` of its spec, `grid_specs`, which shares
the grid's model); the C initial states and
hyperparameters are stacked along a new leading axis and `run_steps_batched` maps `train.run_steps` over
it with `jax.vmap`. The whole grid is one XLA program, compiled once, in which the C matrix-vector
products of a step become one matrix product; it trains on one device. The stacked state of the grid is
checkpointed every train.checkpoint_every iterations like a single run's (`checkpoint.save`, atomically), and
train.resume=true continues it: a killed sweep ends bit-identical to an uninterrupted one.
The trained grid is evaluated in one vmapped call and each point reported like a single run (`workdir/<i>/`,
its figures only with `sweep.figures=all`) and the folder is summarized
like a multirun sweep (`summary.summarize`), so both ways of sweeping leave the same files. A point
whose training diverged is reported as such (`diverged: true` in its metrics) and the summary's best
run ignores it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Sequence
from concurrent import futures
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import optim, outcomes, pixels, runtime, span, train
from lr_jax.config import Config
from lr_jax.errors import OutcomeError
from lr_jax.models.interface import Model
from lr_jax.models.logistic import LOGISTIC
from lr_jax.pipelines import hooks, sizes, stages
from lr_jax.pipelines.spec import RunSpec, hparams_of, same_model, spec_from_config
from lr_jax.runfolder import checkpoint, plots, report, summary
from lr_jax.runfolder import transaction as rundir

log = logging.getLogger(__name__)


def grid_configs(config: Config) -> list[Config]:
    """One Config per (learning rate, seed) of `config.sweep`, learning rates outermost."""
    return [
        dataclasses.replace(
            config,
            optim=dataclasses.replace(config.optim, learning_rate=lr),
            train=dataclasses.replace(config.train, seed=seed),
        )
        for lr in config.sweep.learning_rates
        for seed in config.sweep.seeds
    ]


def grid_specs(configs: Sequence[Config], like: RunSpec | None = None) -> list[RunSpec]:
    """The run spec of each grid point. Points that configure the same model (`spec.same_model`) share one:
    `like`'s, or the first such point's; a model is built only for a point that configures another."""
    points: list[RunSpec] = []
    for c in configs:
        known = next((p for p in points if same_model(p.model_config, c.model)), like)
        points.append(spec_from_config(c, like=known))
    return points


def stack(trees: Sequence[Any]) -> Any:
    """Pytrees of one structure stacked leaf by leaf along a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any, i: int) -> Any:
    """Entry `i` along the leading axis of every leaf."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


@functools.partial(jax.jit, static_argnames=("num_steps", "optim", "batch_size", "model"))
def run_steps_batched(
    states: train.TrainState,
    x_ND,
    y_N,
    hparams: optim.HParams,
    *,
    num_steps: int,
    optim: str | optim.OptimSpec = "sgd",
    weight_N=None,
    batch_size: int | None = None,
    model: Model = LOGISTIC,
):
    """`train.run_steps` for C states and hparams stacked on axis 0: (final states, costs f[C, num_steps])."""
    run = functools.partial(
        train.run_steps,
        x_ND=x_ND,
        y_N=y_N,
        num_steps=num_steps,
        optim=optim,
        weight_N=weight_N,
        batch_size=batch_size,
        model=model,
    )
    return jax.vmap(lambda state, hp: run(state, hparams=hp))(states, hparams)


def initial_states(points: Sequence[RunSpec], n_features: int) -> tuple[train.TrainState, optim.HParams]:
    """The grid points' initial states and hyperparameters, stacked along a leading axis.

    One `stages.initial_state` per distinct seed: a state depends on the seed, while the learning rate
    enters only the hparams (optax's `init` reads the parameters, never the hyperparameter values).
    """
    by_seed = {}
    for p in points:
        if p.train.seed not in by_seed:
            by_seed[p.train.seed] = stages.initial_state(p, n_features)[0]
    return stack([by_seed[p.train.seed] for p in points]), stack([hparams_of(p) for p in points])


def train_grid(
    points: Sequence[RunSpec],
    x_ND,
    y_N,
    weight_N=None,
    *,
    start: tuple[train.TrainState, optim.HParams] | None = None,
    on_chunk: Sequence = (),
    chunk_size: int | None = None,
) -> train.FitResult:
    """Train every grid point (`grid_specs`) from its own initial state (or the stacked `start`, a resumed grid)
    in one compiled call, on one device (they differ in learning rate and seed only); `on_chunk` hooks see
    the stacked state."""
    states, hparams = start or initial_states(points, x_ND.shape[1])  # x may be uint8
    x_ND = pixels.for_training(x_ND, points[0].dtype)
    placed = stages.Placed(None, x_ND, y_N, weight_N, states, hparams)
    return stages.fit(points[0], placed, on_chunk=list(on_chunk), chunk_size=chunk_size, run=run_steps_batched)


def checkpoint_config(config: Config) -> dict[str, Any]:
    """What a grid checkpoint must match to be resumed: the config and the grid itself (which a single run's
    checkpoint ignores)."""
    s = config.sweep
    return {**config.to_dict(), "sweep_grid": {"learning_rates": list(s.learning_rates), "seeds": list(s.seeds)}}


def resumable_grid(
    spec: RunSpec,
    workdir: Path,
    points: Sequence[RunSpec],
    n_features: int,
    n_examples: int = 1,
    *,
    inputs: stages.Inputs | None = None,
):
    """((stacked states, hparams), costs so far f[C, t], the hooks, the chunk length): the grid from its newest
    checkpoint with train.resume=true, else from its initial states, in the span of the data where
    train.parametrization picks it for `inputs` (`stages.parametrize`: one K for the whole grid); written
    every train.checkpoint_every
    iterations (atomically, the newest train.keep_checkpoints kept); with train.progress, a line every few
    seconds (`hooks.ProgressLog`: the grid's costs from lowest to highest); chunks of a few seconds of work
    at most (`stages.chunk_length`). `spec.record` is what the checkpoints must match (`checkpoint_config`)."""
    t, saved_config = spec.train, spec.record
    rundir.recover(workdir, enabled=runtime.is_writer())  # what a killed run left, before its checkpoints are read
    states, hparams = initial_states(points, n_features)
    if inputs is not None:
        states, _ = stages.parametrize(spec, inputs, states, hparams, workdir)
    states, past_costs = checkpoint.starting_point(
        workdir,
        states,
        saved_config,
        resume=t.resume,
        num_steps=t.iteration_limit,
        overwrite=t.overwrite,
        diverged_ok=True,  # a diverged member is a result: it stays marked so, the others train on
    )
    if t.resume:
        log.info("resuming the grid at iteration %i", train.steps_done(states))
        diverged = [i for i in range(len(points)) if not np.isfinite(past_costs[i]).all()]
        if diverged:
            log.info("config(s) %s diverged before the checkpoint; they stay marked diverged", diverged)
    save = hooks.CheckpointWriter(
        workdir / checkpoint.FOLDER,
        saved_config,
        every=t.checkpoint_every,
        keep=t.keep_checkpoints,
        num_steps=t.iteration_limit,
        past_costs=past_costs,
    )
    progress = [hooks.ProgressLog(t.iteration_limit)] if t.progress else []
    work = 3 * n_examples * span.work_params(states)  # every config's
    on_chunk = [save, hooks.InterruptStop(save, workdir), *progress]
    chunk = stages.chunk_length(t.checkpoint_every or None, t.iteration_limit, work_per_iteration=work)
    return (states, hparams), past_costs, on_chunk, chunk


def sweep_and_evaluate(config: Config, workdir: str | Path) -> dict[str, Any]:
    """Train the grid of `config.sweep`, write one run folder per config and the sweep's summary.

    Args:
      config: the validated configuration; `sweep.learning_rates` x `sweep.seeds` replace
        `optim.learning_rate` and `train.seed`; the grid trains in one compiled program, checkpointed every
        `train.checkpoint_every` iterations into `workdir/checkpoints/` (`train.resume=true` continues it).
      workdir: the sweep folder (Hydra's output dir from the CLI); config i is written to `workdir/<i>/`.

    Returns:
      {"rows": one row per config, "best": the best row}, also in `workdir/summary.json`.
    """
    workdir = Path(workdir)
    plots.start_plotting()  # the drawing process imports matplotlib on another core meanwhile (the summary's figure)
    spec = spec_from_config(config, record=checkpoint_config(config))  # the model built once for the grid
    with stages.runtime_scope(spec), contextlib.ExitStack() as run_scope:
        sizes.check_memory(config)  # before the data or any parameter is allocated
        inputs = stages.load_inputs(spec)
        configs = grid_configs(config)
        points = grid_specs(configs, like=spec)
        start, past_costs, on_chunk, chunk = resumable_grid(
            spec, workdir, points, inputs.n_features, len(inputs.splits["train"].y), inputs=inputs
        )
        parametrization = span.SPAN if span.is_span(start[0]) else span.WEIGHTS
        members = [f"{i}/{name}" for i in range(len(configs)) for name in report.RUN_FILES]
        targets = {"files": (*members, *summary.SUMMARY_FILES), "folders": (checkpoint.FOLDER,)}
        run_scope.enter_context(stages.claim_folder(spec, workdir, inputs.n_features, **targets))  # to the end
        log.info(
            "training %d configs (%d learning rates x %d seeds) in one compiled call",
            len(configs),
            len(config.sweep.learning_rates),
            len(config.sweep.seeds),
        )
        # While JAX compiles and trains: the grid evaluation's program in the worker thread (and matplotlib's
        # import in the drawing process).
        evaluation_compiled = stages.compile_evaluation(spec, inputs, start[0].params, grid=True)
        figures = config.sweep.figures == "all"
        result = train_grid(
            points,
            inputs.xs["train"],
            inputs.ys["train"],
            inputs.weight_N,
            start=start,
            on_chunk=on_chunk,
            chunk_size=chunk,
        )
        costs_CT = np.concatenate([past_costs, np.asarray(result.costs)], axis=-1)
        # Shared by the whole grid: the time to compile and run the one program that trained every config.
        timing = {"sweep_compile_time_s": result.compile_s, "sweep_train_time_s": result.run_s}
        t_evaluate = time.perf_counter()
        futures.wait([evaluation_compiled])  # an error there is the evaluation's: the call below raises it
        evaluations = stages.evaluate_params(spec, inputs, result.state.params, grid=True)
        timing["sweep_evaluate_time_s"] = time.perf_counter() - t_evaluate
        stage = run_scope.enter_context(rundir.staged_outputs(workdir))  # members and summary committed together
        for i, (c, evaluation) in enumerate(zip(configs, evaluations)):
            started = time.perf_counter()
            log.info("config %d: learning_rate=%s seed=%d", i, c.optim.learning_rate, c.train.seed)
            n_iter = int(result.state.step[i])
            converged = bool(cast(np.ndarray, result.converged)[i])
            info = {"n_iter": n_iter, "parametrization": parametrization, "converged": converged, **timing}
            (stage / str(i)).mkdir()
            report.report_run(
                stage / str(i),
                c,
                spec.model,
                unstack(result.state.params, i),
                costs_CT[i][:n_iter],
                inputs.splits["test"],
                evaluation,
                info,
                started=started,
                figures=report.start_figures(c, list(inputs.xs), prepare=False) if figures else None,
                commit=False,
            )
        result_summary = summary.summarize(stage)
    log.info("sweep summary:\n%s", summary.report(result_summary))  # the table's header aligned after the log prefix
    flagged = [row for row in result_summary["rows"] if row["warnings"]]
    codes = [code for row in flagged for code in row["warnings"]]
    where = f"{len(flagged)} of {len(configs)} grid points"
    failure = outcomes.strict_failure(codes, where) if config.train.strict else None
    if failure:  # every point's files and the summary are written
        raise OutcomeError(failure)
    return result_summary
