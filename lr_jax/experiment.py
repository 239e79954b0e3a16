"""`train_and_evaluate(config, workdir)`: the one function the CLI, the tests and a notebook all call."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lr_jax import artifacts, checkpoint, data, figures, metrics, model, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError
from lr_jax.loss import cost

log = logging.getLogger(__name__)


def precision_scope(precision: str):
    """A context in which JAX's 64-bit mode is on exactly when `precision == "float64"`."""
    enable_x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64  # JAX < 0.6
    return enable_x64(precision == "float64")


@functools.partial(jax.jit, static_argnames=("config", "n_features", "dtype"))
def initial_state(config: Config, n_features: int, dtype) -> tuple[train.TrainState, train.HParams]:
    """The configured init and hyperparameters, every random key derived from `train.seed`.

    Jitted (the config is static and hashable), so the whole init is one small compile instead of
    one per eager operation.
    """
    c = config
    key_init, key_train = jax.random.split(jax.random.key(c.train.seed))
    params = model.init_params(n_features, init=c.model.init, key=key_init, scale=c.model.init_scale,
                               dtype=dtype)
    o = c.optim
    hparams = train.make_hparams(o.learning_rate, dtype, momentum=o.momentum, b1=o.b1, b2=o.b2,
                                 l2=c.model.l2, tol=c.train.tol)
    return train.init_state(params, hparams, key_train, optim=optim_spec(config)), hparams


def optim_spec(config: Config) -> train.OptimSpec:
    """The static part of the configured optimizer."""
    o = config.optim
    return train.OptimSpec(o.name, o.nesterov, o.schedule, o.decay_steps, o.decay_rate, o.final_fraction,
                           o.memory_size)


def sample_weights(class_weight: str | None, y_N: np.ndarray, dtype) -> jax.Array | None:
    """None (all 1), or scikit-learn's "balanced" weights m / (n_classes · count(yᵢ)) per example."""
    if class_weight is None:
        return None
    counts = np.bincount(y_N, minlength=2)
    per_class = np.where(counts > 0, len(y_N) / (2 * np.maximum(counts, 1)), 0.0)
    return jax.device_put(per_class[y_N].astype(dtype))


@jax.jit
def _cost_and_proba(params, x_ND, y_N):
    return cost(params, x_ND, y_N), model.predict_proba(params, x_ND)


@jax.jit
def _objective_and_grad_norm(params, x_ND, y_N, weight_N, l2):
    value, grads = jax.value_and_grad(cost)(params, x_ND, y_N, weight_N, l2)
    return value, optax.tree.norm(grads)


def evaluate(params, x_ND, y_N, threshold: float) -> dict[str, Any]:
    """Cost and the classification metrics (`metrics.binary_metrics`, on the host) of one split."""
    cost_value, proba_N = _cost_and_proba(params, x_ND, y_N)
    scores = metrics.binary_metrics(np.asarray(y_N), np.asarray(proba_N), threshold)
    return {"cost": float(cost_value), **scores}


def train_and_evaluate(config: Config, workdir: str | Path) -> dict[str, Any]:
    """Train on the course's training set, evaluate on both splits, write the run's files; return metrics.

    Args:
      config: the validated run configuration.
      workdir: the run folder (Hydra's output dir from the CLI); created if absent.

    Returns:
      The metrics also written to `workdir/metrics.json`.
    """
    with precision_scope(config.train.precision):  # before any array of the run exists
        return _train_and_evaluate(config, Path(workdir))


def _train_and_evaluate(config: Config, workdir: Path) -> dict[str, Any]:
    t_start = time.perf_counter()
    dtype = jnp.float64 if config.train.precision == "float64" else jnp.float32
    splits = data.load(config.data)
    splits["train"], val = data.split_validation(splits["train"], config.data.val_fraction,
                                                 config.data.split_seed)
    if val is not None:
        splits["val"] = val
    # device_put moves host arrays as they are: no conversion to compile.
    xs = {name: jax.device_put(s.features(dtype, config.data.scale)) for name, s in splits.items()}
    ys = {name: jax.device_put(s.y.astype(np.int32)) for name, s in splits.items()}
    weight_N = sample_weights(config.model.class_weight, splits["train"].y, dtype)
    _check_batch_size(config.train.batch_size, splits["train"].y.shape[0], config.data.val_fraction)

    result, hparams, costs_T = _fit(config, workdir, xs["train"], ys["train"], weight_N, dtype)
    params = result.state.params
    every = config.train.log_every
    iterations = np.arange(0, costs_T.shape[0], every)
    logged = np.asarray(costs_T)[::every]
    if config.train.print_cost:
        for i, c in zip(iterations, logged):
            log.info("Cost after iteration %i: %f", i, c)

    evals = {name: evaluate(params, xs[name], ys[name], config.model.threshold) for name in xs}
    log.info("train accuracy: %.2f %%", 100 * evals["train"]["accuracy"])
    log.info("test accuracy: %.2f %%", 100 * evals["test"]["accuracy"])
    log.info("%s %i iterations\n%s", "converged after" if result.converged else "ran",
             int(result.state.step), metrics.format_table(evals))
    objective, grad_norm = _objective_and_grad_norm(params, xs["train"], ys["train"], weight_N, hparams["l2"])
    run_metrics = {
        **{f"{split}_{name}": value for split, ev in evals.items() for name, value in ev.items()},
        "train_objective": float(objective), "grad_norm": float(grad_norm),
        "n_iter": int(result.state.step), "converged": result.converged,
        "cost_iterations": iterations.tolist(), "costs": [float(c) for c in logged],
        "compile_time_s": result.compile_s, "train_time_s": result.run_s,
        "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()], "config": config.to_dict(),
    }
    write_run(workdir, config, params, iterations, logged)
    probas = {name: np.asarray(_cost_and_proba(params, xs[name], ys[name])[1]) for name in xs}
    figures.save_inspection(workdir, splits["test"].x_raw, splits["test"].y, probas["test"], params["w"],
                            threshold=config.model.threshold, image_size=config.data.image_size,
                            classes=splits["test"].classes)
    artifacts.plot_roc_curves(workdir / "roc_curve.png",
                              {name: metrics.roc_curve(np.asarray(ys[name]), probas[name]) for name in xs})
    run_metrics["run_time_s"] = time.perf_counter() - t_start
    artifacts.save_json(workdir / "metrics.json", run_metrics)
    log.info("wrote %s", workdir)
    return run_metrics


def _check_batch_size(batch_size: int | None, m: int, val_fraction: float) -> None:
    if batch_size is not None and batch_size > m:
        after = f" (after data.val_fraction={val_fraction})" if val_fraction else ""
        raise ConfigError(f"train.batch_size={batch_size} is larger than the {m} training examples{after}. "
                          f"Use at most {m}, or null for full-batch training.")


def _fit(config: Config, workdir: Path, x_ND, y_N, weight_N, dtype):
    """Train from the init or the newest checkpoint: (FitResult, hparams, every cost since iteration 0)."""
    state, hparams = initial_state(config, x_ND.shape[1], dtype)
    t = config.train
    state, past_costs = checkpoint.starting_point(workdir, state, config.to_dict(), resume=t.resume,
                                                  num_steps=t.iteration_limit)
    if t.resume:
        log.info("resuming at iteration %i", int(state.step))
    # Every check on the input is done: only now does the run write anything.
    workdir.mkdir(parents=True, exist_ok=True)
    checkpointer = checkpoint.Checkpointer(workdir / checkpoint.FOLDER, config.to_dict(), every=t.checkpoint_every,
                                           keep=t.keep_checkpoints, num_steps=t.iteration_limit, costs=past_costs)
    result = train.fit(state, x_ND, y_N, hparams, num_steps=t.iteration_limit, optim=optim_spec(config),
                       chunk_size=t.checkpoint_every or None, on_chunk=[checkpointer], weight_N=weight_N,
                       batch_size=t.batch_size)
    return result, hparams, np.concatenate(checkpointer.costs)


def write_run(workdir: Path, config: Config, params, iterations, costs) -> None:
    """params.npz, costs.csv and learning_curve.png (metrics.json is written last, by the caller)."""
    artifacts.save_params(workdir / "params.npz", jax.device_get(params))
    artifacts.save_costs_csv(workdir / "costs.csv", iterations, costs)
    artifacts.plot_learning_curve(workdir / "learning_curve.png", iterations, costs,
                                  f"Learning rate = {config.optim.learning_rate}")
