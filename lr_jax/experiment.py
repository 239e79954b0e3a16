"""`train_and_evaluate(config, workdir)`: the one function the CLI, the tests and a notebook all call."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import artifacts, checkpoint, data, figures, model, train
from lr_jax.config import Config
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
    hparams = train.make_hparams(c.optim.learning_rate, dtype)
    return train.init_state(params, hparams, key_train, optim=c.optim.name), hparams


@jax.jit
def _cost_and_predictions(params, x_ND, y_N, threshold):
    return cost(params, x_ND, y_N), model.predict(params, x_ND, threshold)


def evaluate(params, x_ND, y_N, threshold: float) -> dict[str, float]:
    """Cost and accuracy (counted exactly on the host) of `params` on one split."""
    cost_value, predictions = _cost_and_predictions(params, x_ND, y_N, threshold)
    correct = np.asarray(predictions) == np.asarray(y_N)
    return {"cost": float(cost_value), "accuracy": float(correct.mean())}


def train_and_evaluate(config: Config, workdir: str | Path) -> dict[str, Any]:
    """Train on the course's training set, evaluate on both splits, write the run's files; return metrics.

    Args:
      config: the validated run configuration.
      workdir: the run folder (Hydra's output dir from the CLI); created if absent.

    Returns:
      The metrics also written to `workdir/metrics.json`.
    """
    use_compilation_cache(config.train.compilation_cache_dir)
    with precision_scope(config.train.precision):  # before any array of the run exists
        return _train_and_evaluate(config, Path(workdir))


def _train_and_evaluate(config: Config, workdir: Path) -> dict[str, Any]:
    t_start = time.perf_counter()
    run_data = load_run_data(config)
    xs, ys = run_data.xs, run_data.ys
    state, hparams = initial_state(config, xs["train"].shape[1], xs["train"].dtype)
    t = config.train
    state, past_costs = checkpoint.starting_point(workdir, state, config.to_dict(), resume=t.resume,
                                                  num_steps=t.num_iterations)
    if t.resume:
        log.info("resuming at iteration %i", int(state.step))
    # Every check on the input is done: only now does the run write anything.
    workdir.mkdir(parents=True, exist_ok=True)
    checkpointer = checkpoint.Checkpointer(workdir / checkpoint.FOLDER, config.to_dict(), every=t.checkpoint_every,
                                           keep=t.keep_checkpoints, num_steps=t.num_iterations, costs=past_costs)
    result = train.fit(state, xs["train"], ys["train"], hparams, num_steps=t.num_iterations,
                       optim=config.optim.name, chunk_size=t.checkpoint_every or None, on_chunk=[checkpointer])
    timing = {"compile_time_s": result.compile_s, "train_time_s": result.run_s}
    return record_run(config, workdir, result.state.params, np.concatenate(checkpointer.costs), run_data, timing,
                      t_start)


class RunData(NamedTuple):
    """Both splits as read, and as the run's arrays: features in its precision and scale, int32 labels."""

    splits: dict[str, data.Split]
    xs: dict[str, jax.Array]  # {"train": f[m, n], "test": ...}
    ys: dict[str, jax.Array]


def load_run_data(config: Config) -> RunData:
    """Read (or download) both splits and put them on the device."""
    dtype = jnp.float64 if config.train.precision == "float64" else jnp.float32
    splits = data.load(config.data)
    # device_put moves host arrays as they are: no conversion to compile.
    xs = {name: jax.device_put(s.features(dtype, config.data.scale)) for name, s in splits.items()}
    ys = {name: jax.device_put(s.y.astype(np.int32)) for name, s in splits.items()}
    return RunData(splits, xs, ys)


def record_run(config: Config, workdir: Path, params, costs_T, run_data: RunData, timing: dict[str, float],
               t_start: float) -> dict[str, Any]:
    """Log the costs, evaluate on both splits, write the run's files and figures (metrics.json last)."""
    splits, xs, ys = run_data
    workdir.mkdir(parents=True, exist_ok=True)
    every = config.train.log_every
    iterations = np.arange(0, config.train.num_iterations, every)
    logged = np.asarray(costs_T)[::every]
    if config.train.print_cost:
        for i, c in zip(iterations, logged):
            log.info("Cost after iteration %i: %f", i, c)

    evals = {name: evaluate(params, xs[name], ys[name], config.model.threshold) for name in xs}
    log.info("train accuracy: %.2f %%", 100 * evals["train"]["accuracy"])
    log.info("test accuracy: %.2f %%", 100 * evals["test"]["accuracy"])
    metrics = {
        "train_accuracy": evals["train"]["accuracy"], "test_accuracy": evals["test"]["accuracy"],
        "train_cost": evals["train"]["cost"], "test_cost": evals["test"]["cost"],
        "cost_iterations": iterations.tolist(), "costs": [float(c) for c in logged],
        **timing,
        "jax_version": jax.__version__, "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()], "config": config.to_dict(),
    }
    write_run(workdir, config, params, iterations, logged)
    test_proba = jax.jit(model.predict_proba)(params, xs["test"])
    figures.save_inspection(workdir, splits["test"].x_raw, splits["test"].y, test_proba, params["w"],
                            threshold=config.model.threshold, image_size=config.data.image_size,
                            classes=splits["test"].classes)
    metrics["run_time_s"] = time.perf_counter() - t_start
    artifacts.save_json(workdir / "metrics.json", metrics)
    log.info("wrote %s", workdir)
    return metrics


def write_run(workdir: Path, config: Config, params, iterations, costs) -> None:
    """params.npz, costs.csv and learning_curve.png (metrics.json is written last, by the caller)."""
    artifacts.save_params(workdir / "params.npz", jax.device_get(params))
    artifacts.save_costs_csv(workdir / "costs.csv", iterations, costs)
    artifacts.plot_learning_curve(workdir / "learning_curve.png", iterations, costs,
                                  f"Learning rate = {config.optim.learning_rate}")
