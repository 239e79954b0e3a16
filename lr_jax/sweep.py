"""One-process sweeps: every (learning rate, seed) of `config.sweep` trained by one jitted, vmapped call.

It runs the stages of a single run (`lr_jax.stages`) with a batched fit: grid point i starts exactly where a
single run with its learning rate and seed starts (`stages.initial_state`); the C initial states and
hyperparameters are stacked along a new leading axis and `run_steps_batched` maps `train.run_steps` over
it with `jax.vmap`. The whole grid is one XLA program, compiled once, in which the C matrix-vector
products of a step become one matrix product; it trains on one device, without checkpoints.
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
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import artifacts, evaluate, models, optim, report, runtime, stages, summary, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError
from lr_jax.model import LOGISTIC, Model

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


def initial_states(configs: Sequence[Config], n_features: int) -> tuple[train.TrainState, optim.HParams]:
    """The configs' initial states and hyperparameters, stacked along a leading axis.

    One `stages.initial_state` per distinct seed: a state depends on the seed, while the learning rate
    enters only the hparams (optax's `init` reads the parameters, never the hyperparameter values).
    """
    by_seed = {}
    for c in configs:
        if c.train.seed not in by_seed:
            by_seed[c.train.seed] = stages.initial_state(c, n_features)[0]
    hparams = [optim.config_hparams(c, runtime.run_dtype(c.train.precision)) for c in configs]
    return stack([by_seed[c.train.seed] for c in configs]), stack(hparams)


def train_grid(configs: Sequence[Config], x_ND, y_N, weight_N=None) -> train.FitResult:
    """Train every config from its own initial state in one compiled call, on one device (they differ in
    learning rate and seed only)."""
    states, hparams = initial_states(configs, x_ND.shape[1])  # x may be uint8
    return stages.fit(configs[0], stages.Placed(None, x_ND, y_N, weight_N, states, hparams), run=run_steps_batched)


def sweep_and_evaluate(config: Config, workdir: str | Path) -> dict[str, Any]:
    """Train the grid of `config.sweep`, write one run folder per config and the sweep's summary.

    Args:
      config: the validated configuration; `sweep.learning_rates` x `sweep.seeds` replace
        `optim.learning_rate` and `train.seed`; the grid trains in one call, without checkpoints.
      workdir: the sweep folder (Hydra's output dir from the CLI); config i is written to `workdir/<i>/`.

    Returns:
      {"rows": one row per config, "best": the best row}, also in `workdir/summary.json`.
    """
    if config.train.resume:
        raise ConfigError(
            "train.resume=true: the vmapped sweep writes no checkpoints to resume from. Run it "
            "again without train.resume, or resume a single run (scripts/train.py)."
        )
    workdir = Path(workdir)
    with stages.runtime_scope(config), contextlib.ExitStack() as run_scope:
        inputs = stages.load_inputs(config)
        run_scope.enter_context(stages.claim_folder(config, workdir, inputs.n_features))  # held to the end
        configs = grid_configs(config)
        log.info(
            "training %d configs (%d learning rates x %d seeds) in one compiled call",
            len(configs),
            len(config.sweep.learning_rates),
            len(config.sweep.seeds),
        )
        if config.sweep.figures == "all":
            artifacts.start_plotting()  # matplotlib imports in a worker thread while JAX compiles and trains
        result = train_grid(configs, inputs.xs["train"], inputs.ys["train"], inputs.weight_N)
        # Shared by the whole grid: the time to compile and run the one program that trained every config.
        timing = {"sweep_compile_time_s": result.compile_s, "sweep_train_time_s": result.run_s}
        model = models.build(config.model)
        t_evaluate = time.perf_counter()
        evaluations = evaluate.evaluate_grid(  # the grid differs in learning rate and seed only: one l2
            model,
            result.state.params,
            inputs.xs,
            inputs.ys,
            threshold=config.model.threshold,
            weight_N=inputs.weight_N,
            l2=config.model.l2,
        )
        timing["sweep_evaluate_time_s"] = time.perf_counter() - t_evaluate
        for i, (c, evaluation) in enumerate(zip(configs, evaluations)):
            started = time.perf_counter()
            log.info("config %d: learning_rate=%s seed=%d", i, c.optim.learning_rate, c.train.seed)
            n_iter = int(result.state.step[i])
            info = {"n_iter": n_iter, "converged": bool(result.converged[i]), **timing}
            report.write_config(workdir / str(i), c, inputs.classes, inputs.n_features)
            report.report_run(
                workdir / str(i),
                c,
                model,
                unstack(result.state.params, i),
                np.asarray(result.costs[i][:n_iter]),
                inputs.splits["test"],
                evaluation,
                info,
                started=started,
                figures=config.sweep.figures == "all",
            )
    result_summary = summary.summarize(workdir)
    log.info("%s", summary.report(result_summary))
    return result_summary
