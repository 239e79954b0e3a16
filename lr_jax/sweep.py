"""One-process sweeps: every (learning rate, seed) of `config.sweep` trained by one jitted, vmapped call.

Config i of the grid starts exactly where a single run with its learning rate and seed starts
(`experiment.initial_state`, `train.make_hparams`); the C initial states and `hparams` are stacked along
a new leading axis and `run_steps_batched` maps `train.run_steps` over it with `jax.vmap`. The whole grid
is one XLA program, compiled once, in which the C matrix-vector products of a step become one matrix
product.
Each config is then written like a multirun job (`workdir/<i>/`) and the folder is summarized like a
multirun sweep (`summary.summarize`), so both ways of sweeping leave the same files.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from pathlib import Path
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from lr_jax import experiment, summary, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError

log = logging.getLogger(__name__)


def grid_configs(config: Config) -> list[Config]:
    """One Config per (learning rate, seed) of `config.sweep`, learning rates outermost."""
    return [
        dataclasses.replace(config, optim=dataclasses.replace(config.optim, learning_rate=lr),
                            train=dataclasses.replace(config.train, seed=seed))
        for lr in config.sweep.learning_rates for seed in config.sweep.seeds
    ]


def stack(trees: Sequence[Any]) -> Any:
    """Pytrees of one structure stacked leaf by leaf along a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any, i: int) -> Any:
    """Entry `i` along the leading axis of every leaf."""
    return jax.tree.map(lambda leaf: leaf[i], tree)


@functools.partial(jax.jit, static_argnames=("num_steps", "optim", "batch_size"))
def run_steps_batched(states: train.TrainState, x_ND, y_N, hparams: train.HParams, *, num_steps: int,
                      optim: str | train.OptimSpec = "sgd", weight_N=None, batch_size: int | None = None):
    """`train.run_steps` for C states and hparams stacked on axis 0: (final states, costs f[C, num_steps])."""
    run = functools.partial(train.run_steps, x_ND=x_ND, y_N=y_N, num_steps=num_steps, optim=optim,
                            weight_N=weight_N, batch_size=batch_size)
    return jax.vmap(lambda state, hp: run(state, hparams=hp))(states, hparams)


def initial_states(configs: Sequence[Config], n_features: int,
                   dtype) -> tuple[train.TrainState, train.HParams]:
    """The configs' initial states and hyperparameters, stacked along a leading axis.

    One `experiment.initial_state` per distinct seed: a state depends on the seed, while the learning rate
    enters only the hparams (optax's `init` reads the parameters, never the hyperparameter values).
    """
    by_seed = {}
    for c in configs:
        if c.train.seed not in by_seed:
            by_seed[c.train.seed] = experiment.initial_state(c, n_features, dtype)[0]
    hparams = [experiment.config_hparams(c, dtype) for c in configs]
    return stack([by_seed[c.train.seed] for c in configs]), stack(hparams)


def train_grid(configs: Sequence[Config], x_ND, y_N, weight_N=None) -> train.FitResult:
    """Train every config from its own initial state in one compiled call (they differ in lr, seed only)."""
    states, hparams = initial_states(configs, x_ND.shape[1], experiment.run_dtype(configs[0]))  # x may be uint8
    first = configs[0]
    return train.fit(states, x_ND, y_N, hparams, num_steps=first.train.iteration_limit,
                     optim=experiment.optim_spec(first), weight_N=weight_N, batch_size=first.train.batch_size,
                     run=run_steps_batched)


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
        raise ConfigError("train.resume=true: the vmapped sweep writes no checkpoints to resume from. Run it "
                          "again without train.resume, or resume a single run (scripts/train.py).")
    experiment.use_compilation_cache(config.train.compilation_cache_dir)
    with experiment.precision_scope(config.train.precision):
        return _sweep_and_evaluate(config, Path(workdir))


def _sweep_and_evaluate(config: Config, workdir: Path) -> dict[str, Any]:
    t_start = time.perf_counter()
    run_data = experiment.load_run_data(config)
    xs, ys = run_data.xs, run_data.ys
    configs = grid_configs(config)
    log.info("training %d configs (%d learning rates x %d seeds) in one compiled call", len(configs),
             len(config.sweep.learning_rates), len(config.sweep.seeds))
    result = train_grid(configs, xs["train"], ys["train"], run_data.weight_N)
    # Shared by the whole grid: the time to compile and run the one program that trained every config.
    timing = {"sweep_compile_time_s": result.compile_s, "sweep_train_time_s": result.run_s}
    for i, c in enumerate(configs):
        log.info("config %d: learning_rate=%s seed=%d", i, c.optim.learning_rate, c.train.seed)
        n_iter = int(result.state.step[i])
        info = {"n_iter": n_iter, "converged": n_iter < c.train.iteration_limit, **timing}
        costs_T = result.costs[i][:n_iter]
        experiment.record_run(c, workdir / str(i), unstack(result.state.params, i), costs_T, run_data, info,
                              t_start)
    result_summary = summary.summarize(workdir)
    log.info("%s", summary.report(result_summary))
    return result_summary
