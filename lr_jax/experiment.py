"""`train_and_evaluate(config, workdir)`: the one function the CLI, the tests and a notebook all call."""

from __future__ import annotations

import functools
import logging
import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lr_jax import artifacts, checkpoint, data, figures, metrics, model, parallel, progress, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError
from lr_jax.loss import cost

log = logging.getLogger(__name__)


def precision_scope(precision: str):
    """A context in which JAX's 64-bit mode is on exactly when `precision == "float64"`."""
    enable_x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64  # JAX < 0.6
    return enable_x64(precision == "float64")


def use_compilation_cache(path: str | None) -> None:
    """Store and reuse compiled programs in `path` (JAX's persistent cache; None leaves JAX's setting).

    Process-wide; it takes effect only before the process's first compilation (as in the CLI), so that
    jobs of a sweep with the same shapes compile once between them.
    """
    if path is not None:
        jax.config.update("jax_compilation_cache_dir", str(Path(path).expanduser()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # cache even fast compiles


def initial_state(config: Config, n_features: int, dtype) -> tuple[train.TrainState, train.HParams]:
    """The configured init and hyperparameters, every random key derived from `train.seed`."""
    hparams = config_hparams(config, dtype)
    state = _init_state(config.train.seed, config.model.init_scale, hparams, init=config.model.init,
                        optim=optim_spec(config), n_features=n_features, dtype=dtype)
    return state, hparams


def config_hparams(config: Config, dtype) -> train.HParams:
    """The traced hyperparameters of `config` (values that may change without a recompile)."""
    o = config.optim
    return train.make_hparams(o.learning_rate, dtype, momentum=o.momentum, b1=o.b1, b2=o.b2,
                              l2=config.model.l2, tol=config.train.tol)


@functools.partial(jax.jit, static_argnames=("init", "optim", "n_features", "dtype"))
def _init_state(seed, init_scale, hparams, *, init, optim, n_features, dtype) -> train.TrainState:
    """One small compiled init (instead of one compile per eager operation); seed and scale are traced."""
    key_init, key_train = jax.random.split(jax.random.key(seed))
    params = model.init_params(n_features, init=init, key=key_init, scale=init_scale, dtype=dtype)
    return train.init_state(params, hparams, key_train, optim=optim)


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


def evaluate(params, x_ND, y_N, threshold: float) -> tuple[dict[str, Any], np.ndarray]:
    """Cost and the classification metrics (`metrics.binary_metrics`, on the host) of one split, and ŷ."""
    cost_value, proba_N = _cost_and_proba(params, x_ND, y_N)
    proba_N = np.asarray(proba_N)
    return {"cost": float(cost_value), **metrics.binary_metrics(np.asarray(y_N), proba_N, threshold)}, proba_N


def train_and_evaluate(config: Config, workdir: str | Path) -> dict[str, Any]:
    """Train on the course's training set, evaluate on both splits, write the run's files; return metrics.

    Args:
      config: the validated run configuration.
      workdir: the run folder (Hydra's output dir from the CLI); created if absent.

    Returns:
      The metrics also written to `workdir/metrics.json`.
    """
    use_compilation_cache(config.train.compilation_cache_dir)
    parallel.initialize(config.parallel)  # joins the other processes when parallel.distributed=true
    with precision_scope(config.train.precision):  # before any array of the run exists
        return _train_and_evaluate(config, Path(workdir))


def _train_and_evaluate(config: Config, workdir: Path) -> dict[str, Any]:
    t_start = time.perf_counter()
    run_data = load_run_data(config)
    result, costs_T = _fit(config, workdir, run_data)
    info = {"n_iter": int(result.state.step), "converged": result.converged,
            "compile_time_s": result.compile_s, "train_time_s": result.run_s}
    return record_run(config, workdir, result.state.params, costs_T, run_data, info, t_start)


class RunData(NamedTuple):
    """The splits as read, and as the run's arrays: features in its precision and scale, int32 labels."""

    splits: dict[str, data.Split]  # "train", "test", and "val" when data.val_fraction > 0
    xs: dict[str, jax.Array]  # {"train": u8[m, n] pixels (f[m, n] if not data.scale), ...}
    ys: dict[str, jax.Array]
    weight_N: jax.Array | None  # the training examples' weights (model.class_weight), None = all 1


def load_run_data(config: Config) -> RunData:
    """Read (or download) the data, carve the validation split, put the arrays on the device."""
    dtype = run_dtype(config)
    devices = parallel.describe_devices()
    log.info("backend %s, %d device(s): %s", devices["backend"], len(devices["devices"]), devices["devices"])
    splits = data.load(config.data, shard=(jax.process_index(), jax.process_count()))  # this process's rows
    splits["train"], val = data.split_validation(splits["train"], config.data.val_fraction,
                                                 config.data.split_seed)
    if val is not None:
        splits["val"] = val
    _check_batch_size(config.train.batch_size, splits["train"].y.shape[0], config.data.val_fraction)
    # device_put moves host arrays as they are: no conversion to compile.
    xs = {name: jax.device_put(features(s, config, dtype)) for name, s in splits.items()}
    ys = {name: jax.device_put(s.y.astype(np.int32)) for name, s in splits.items()}
    return RunData(splits, xs, ys, sample_weights(config.model.class_weight, splits["train"].y, dtype))


def run_dtype(config: Config):
    return jnp.float64 if config.train.precision == "float64" else jnp.float32


def features(split: data.Split, config: Config, dtype) -> np.ndarray:
    """(m, n) uint8 pixels as stored (scaled by 1/255 inside the step), or raw 0-255 floats if not data.scale."""
    if config.data.scale:
        return split.x_raw.reshape(len(split.y), -1)  # 1 byte per value on host and device
    return split.features(dtype, scale=False)


def place_training_data(config: Config, x_ND, y_N, weight_N, state, hparams):
    """(mesh or None, x, y, weight, state, hparams) on the run's devices.

    With several devices (or processes) the batch is sharded over a mesh (padding rows weigh 0) and the
    state replicated; otherwise everything stays where it is.
    """
    if not parallel.use_mesh(config.parallel):
        return None, x_ND, y_N, weight_N, state, hparams
    mesh = parallel.make_mesh()
    x, y, weight = parallel.shard_batch(mesh, np.asarray(x_ND), np.asarray(y_N),
                                        None if weight_N is None else np.asarray(weight_N))
    return (mesh, x, y, weight, *parallel.replicate(mesh, (state, hparams)))


def record_run(config: Config, workdir: Path, params, costs_T, run_data: RunData, info: dict[str, Any],
               t_start: float) -> dict[str, Any]:
    """Log the costs, evaluate every split, write the run's files and figures (metrics.json last).

    `info` holds what only the trainer knows (n_iter, converged, timings) and goes into the metrics.
    """
    splits, xs, ys, weight_N = run_data
    workdir.mkdir(parents=True, exist_ok=True)
    every = config.train.log_every
    iterations = np.arange(0, costs_T.shape[0], every)
    logged = np.asarray(costs_T)[::every]
    if config.train.print_cost:
        for i, c in zip(iterations, logged):
            log.info("Cost after iteration %i: %f", i, c)

    scored = {name: evaluate(params, xs[name], ys[name], config.model.threshold) for name in xs}
    evals, probas = {n: e for n, (e, _) in scored.items()}, {n: p for n, (_, p) in scored.items()}
    log.info("train accuracy: %.2f %%", 100 * evals["train"]["accuracy"])
    log.info("test accuracy: %.2f %%", 100 * evals["test"]["accuracy"])
    log.info("%s %i iterations\n%s", "converged after" if info["converged"] else "ran", info["n_iter"],
             metrics.format_table(evals))
    objective, grad_norm = _objective_and_grad_norm(params, xs["train"], ys["train"], weight_N, config.model.l2)
    run_metrics = {
        **{f"{split}_{name}": value for split, ev in evals.items() for name, value in ev.items()},
        "train_objective": float(objective), "grad_norm": float(grad_norm),
        "cost_iterations": iterations.tolist(), "costs": [float(c) for c in logged],
        **info,
        "jax_version": jax.__version__, **parallel.describe_devices(), "config": config.to_dict(),
    }
    if jax.process_index() != 0:  # one process writes the run's files
        return run_metrics
    write_run(workdir, config, params, iterations, logged)
    if splits["test"].x_raw.ndim == 4:  # images (synthetic features have no picture to show)
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


def _fit(config: Config, workdir: Path, run_data: RunData) -> tuple[train.FitResult, np.ndarray]:
    """Train from the init or the newest checkpoint: (FitResult, every cost since iteration 0)."""
    x_ND, y_N = run_data.xs["train"], run_data.ys["train"]
    state, hparams = initial_state(config, x_ND.shape[1], run_dtype(config))
    t = config.train
    state, past_costs = checkpoint.starting_point(workdir, state, config.to_dict(), resume=t.resume,
                                                  num_steps=t.iteration_limit)
    if t.resume:
        log.info("resuming at iteration %i", int(state.step))
    # Every check on the input is done: only now does the run write anything.
    workdir.mkdir(parents=True, exist_ok=True)
    writer = jax.process_index() == 0  # one process writes checkpoints
    checkpointer = checkpoint.Checkpointer(workdir / checkpoint.FOLDER, config.to_dict(),
                                           every=t.checkpoint_every if writer else 0, keep=t.keep_checkpoints,
                                           num_steps=t.iteration_limit, costs=past_costs)
    mesh, x, y, weight, state, hparams = place_training_data(config, x_ND, y_N, run_data.weight_N, state, hparams)
    bar = progress.ProgressBar(t.iteration_limit, len(y_N) * jax.process_count(), enabled=t.progress and writer)
    chunk = t.checkpoint_every or None
    if bar.visible:  # report every log_every iterations, still landing on every checkpoint
        chunk = math.gcd(chunk or t.log_every, t.log_every)
    with parallel.mesh_scope(mesh), bar:
        result = train.fit(state, x, y, hparams, num_steps=t.iteration_limit, optim=optim_spec(config),
                           chunk_size=chunk, on_chunk=[checkpointer, bar.update], weight_N=weight,
                           batch_size=t.batch_size)
    # Replicated over the mesh: the host copy serves the evaluation of the (local) splits.
    result = result._replace(state=result.state._replace(params=jax.device_get(result.state.params)))
    return result, np.concatenate(checkpointer.costs)


def write_run(workdir: Path, config: Config, params, iterations, costs) -> None:
    """params.npz, costs.csv and learning_curve.png (metrics.json is written last, by the caller)."""
    artifacts.save_params(workdir / "params.npz", jax.device_get(params))
    artifacts.save_costs_csv(workdir / "costs.csv", iterations, costs)
    artifacts.plot_learning_curve(workdir / "learning_curve.png", iterations, costs,
                                  f"Learning rate = {config.optim.learning_rate}")
