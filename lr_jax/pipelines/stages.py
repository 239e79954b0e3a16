"""The stages of a run, each a plain function; `experiment` and `sweep` call them in this order:

runtime      the process: compilation cache, other processes, precision        `runtime_scope`
inputs       the data read, split and put on the device                          `load_inputs`
state        the model's init and the optimizer's, every key from train.seed     `initial_state`
parametrize  the state in weights or in the span of the data (train.parametrization) `parametrize`
resume       the newest checkpoint instead, with train.resume=true               `resume_point`
placement    the batch sharded over a device mesh when there are several         `place`
fit          the compiled loop, in chunks, with hooks between them                `fit`
evaluate     the kept parameters on every split, in one compiled call             `kept_params`, `evaluate_params`
report       the printed lines and the run folder's files                        `lr_jax.runfolder.report`

Each stage takes the run spec (`lr_jax.pipelines.spec.RunSpec`: the model, the optimizer's static part, the
dtype and the config sections it reads), built once per run by `spec_from_config`; none takes the `Config`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import NamedTuple, cast

import jax
import numpy as np

from lr_jax import background, data, evaluate, optim, parallel, pixels, runtime, span, train
from lr_jax.config import DataConfig, ModelConfig, TrainConfig
from lr_jax.config.checks import METRIC_DIRECTIONS
from lr_jax.errors import ConfigError
from lr_jax.models.interface import Model
from lr_jax.pipelines import hooks
from lr_jax.pipelines.spec import RunSpec, hparams_of
from lr_jax.runfolder import checkpoint, loggers, report
from lr_jax.runfolder import transaction as rundir

log = logging.getLogger(__name__)


@contextlib.contextmanager
def runtime_scope(spec: RunSpec) -> Iterator[None]:
    """The process set up for `spec`: compilation cache, other processes joined, JAX's precision."""
    runtime.use_compilation_cache(spec.train.compilation_cache_dir)
    runtime.initialize_distributed(spec.parallel)  # before any array of the run exists
    with runtime.precision_scope(spec.train.precision):
        yield


class Inputs(NamedTuple):
    """The splits as read, and as the run's arrays: features in its precision and scale, int32 labels."""

    splits: dict[str, data.Split]  # "train", "test", and "val" when data.val_fraction > 0
    xs: dict[str, jax.Array]  # {"train": u8[m, n] pixels (f[m, n] if not data.scale), ...}
    ys: dict[str, jax.Array]
    weight_N: jax.Array | None  # the training examples' weights (model.class_weight), None = all 1

    @property
    def n_features(self) -> int:
        return self.xs["train"].shape[1]

    @property
    def classes(self) -> tuple[str, ...]:
        return self.splits["train"].classes


def load_inputs(spec: RunSpec) -> Inputs:
    """Read (or download) the data, carve the validation split, put the arrays on the device. (The entry
    points refuse a run too large for the memory first: `sizes.check_memory`.)"""
    d, dtype = spec.data, spec.dtype
    devices = runtime.describe_devices()
    log.info("backend %s, %d device(s): %s", devices["backend"], len(devices["devices"]), devices["devices"])
    splits = data.load(d, shard=(jax.process_index(), jax.process_count()))  # this process's rows
    splits["train"], val = data.split_validation(splits["train"], d.val_fraction, d.split_seed)
    if val is not None:
        splits["val"] = val
        _check_early_stopping_metric(spec.train, d, val)
    if jax.process_count() == 1:  # alone: a block of rows of a multi-process run may rightly hold one class
        data.check_both_classes(splits["train"], d)
    _check_batch_size(spec.train.batch_size, splits["train"].y.shape[0], d.val_fraction)
    # device_put moves host arrays as they are: no conversion to compile.
    xs = {name: jax.device_put(features(s, d.scale, dtype)) for name, s in splits.items()}
    ys = {name: jax.device_put(s.y.astype(np.int32)) for name, s in splits.items()}
    weight_N = sample_weights(spec.model_config.class_weight, splits["train"].y, dtype, len(splits["train"].classes))
    return Inputs(splits, xs, ys, weight_N)


def features(split: data.Split, scale: bool, dtype) -> np.ndarray:
    """(m, n) uint8 pixels as stored (scaled by 1/255 inside the step), or raw 0-255 floats if not `scale`;
    float features (data=digits) in `dtype`."""
    if split.x_raw.dtype.kind == "f":
        return split.features(dtype)
    if scale:
        return split.x_raw.reshape(len(split.y), -1)  # 1 byte per value on host and device
    return split.features(dtype, scale=False)


def sample_weights(class_weight: str | None, y_N: np.ndarray, dtype, num_classes: int = 2) -> jax.Array | None:
    """None (all 1), or scikit-learn's "balanced" weights m / (K · count(yᵢ)) per example, K = `num_classes`."""
    if class_weight is None:
        return None
    counts = np.bincount(y_N, minlength=num_classes)
    per_class = np.where(counts > 0, len(y_N) / (num_classes * np.maximum(counts, 1)), 0.0)
    return jax.device_put(per_class[y_N].astype(dtype))


def _check_early_stopping_metric(t: TrainConfig, d: DataConfig, val: data.Split) -> None:
    """Refuse early stopping on ROC AUC when the validation split holds one class: it is undefined (NaN) at
    every measurement (with K classes, the macro mean of every class's), so no iteration could ever be the best."""
    counts = np.bincount(val.y, minlength=len(val.classes))
    if t.early_stopping and t.early_stopping_metric == "val_roc_auc" and np.count_nonzero(counts) < 2:
        held = ", ".join(f"{counts[k]} {name!r}" for k, name in enumerate(val.classes))
        raise ConfigError(
            f"train.early_stopping_metric=val_roc_auc: the validation split (data.val_fraction="
            f"{d.val_fraction}: {held}) holds "
            "one class, where ROC AUC is undefined. Stop on val_log_loss or val_cost, or use a larger "
            "data.val_fraction (or another data.split_seed)."
        )


def _check_batch_size(batch_size: int | None, m: int, val_fraction: float) -> None:
    if batch_size is not None and batch_size > m:
        after = f" (after data.val_fraction={val_fraction})" if val_fraction else ""
        raise ConfigError(
            f"train.batch_size={batch_size} is larger than the {m} training examples{after}. "
            f"Use at most {m}, or null for full-batch training."
        )


def initial_state(spec: RunSpec, n_features: int) -> tuple[train.TrainState, optim.HParams]:
    """The spec's model's and optimizer's initial state and the hyperparameters, keys from `train.seed`."""
    hparams = hparams_of(spec)
    state = _init_state(
        np.uint32(spec.train.seed),  # the whole range 0..2**32-1; the same key as the int32 of seeds < 2**31
        hparams,
        model=spec.model,
        optim=spec.optim,
        n_features=n_features,
        dtype=spec.dtype,
    )
    _check_initial_params(spec.model_config, state.params, spec.dtype)
    return state, hparams


def _check_initial_params(m: ModelConfig, params, dtype) -> None:
    """Refuse initial parameters that are not finite: model.init_scale beyond the range of the run's dtype."""
    if all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(jax.device_get(params))):
        return
    raise ConfigError(
        f"model.init_scale={m.init_scale!r}: the initial parameters of model.init={m.init} are not finite in "
        f"{np.dtype(dtype).name} (largest {float(np.finfo(dtype).max):.4g}). Use a model.init_scale like 0.01."
    )


def divergence_advice(spec: RunSpec) -> Callable[[bool], str]:
    """What the divergence message advises: `advice(at_start)`, True when the cost of the initial parameters
    (iteration 0) is already not finite.

    Gradient descent on the L2 term alone multiplies the weights by (1 - learning_rate·l2) per step (by a
    factor of size up to (1 + momentum) more with momentum), so it diverges once learning_rate·l2 >= 2(1 + momentum).
    """
    m, o = spec.model_config, spec.optim_config

    def advice(at_start: bool) -> str:
        if at_start:
            return (
                f"The cost of the initial parameters (model.init={m.init}, model.init_scale={m.init_scale!r}) is "
                "already not finite: their outputs overflow. Use a smaller model.init_scale (e.g. 0.01)"
                + (" or model.init=he." if m.name == "mlp" else ".")
            )
        if o.name == "sgd" and o.learning_rate * m.l2 >= 2 * (1 + o.momentum):
            return (
                f"model.l2={m.l2!r} with optim.learning_rate={o.learning_rate!r}: each step multiplies the weights "
                f"by 1 - learning_rate·l2 = {1 - o.learning_rate * m.l2:.4g}, so the L2 penalty alone diverges. "
                f"Keep learning_rate·l2 < {2 * (1 + o.momentum):g}: lower model.l2."
            )
        return "Lower optim.learning_rate (or keep data.scale=true)."

    return advice


@functools.partial(jax.jit, static_argnames=("model", "optim", "n_features", "dtype"))
def _init_state(seed, hparams, *, model: Model, optim, n_features, dtype) -> train.TrainState:
    """One small compiled init (instead of one compile per eager operation); the seed is traced."""
    key_init, key_train = jax.random.split(jax.random.key(seed))
    return train.init_state(model.init(key_init, n_features, dtype), hparams, key_train, optim=optim)


def parametrize(spec: RunSpec, inputs: Inputs, state: train.TrainState, hparams) -> tuple[train.TrainState, str]:
    """(the state in the parametrization the run trains in, its name): train.parametrization, auto decided
    by `span.choose`; logged once. Before `resume_point`, whose checkpoint must match the state's form."""
    m, n = inputs.xs["train"].shape
    if spec.model_config.softmax:  # checks.validate refuses train.parametrization=span for a softmax output
        name, why = span.WEIGHTS, f"a softmax output of {spec.model_config.n_classes} classes trains its weights"
    else:
        name, why = span.choose(
            spec.train.parametrization,
            m=m,
            n=n,
            optimizer=spec.optim.name,
            model=spec.model,
            num_steps=spec.train.iteration_limit,
            sharded=parallel.use_mesh(spec.parallel),
        )
    log.info("parametrization %s (%s)", name, why)
    if name == span.SPAN:
        state = span.to_span(state, hparams, m=m, optim=spec.optim)
    return state, name


def resume_point(spec: RunSpec, workdir: Path, state: train.TrainState) -> tuple[train.TrainState, np.ndarray]:
    """(state, costs so far): the newest checkpoint with train.resume=true, else `state` and no costs."""
    t = spec.train
    rundir.recover(workdir, enabled=runtime.is_writer())  # what a killed run left, before its checkpoints are read
    state, past_costs = checkpoint.starting_point(
        workdir, state, spec.record, resume=t.resume, num_steps=t.iteration_limit, overwrite=t.overwrite
    )
    if t.resume:
        log.info("resuming at iteration %i", int(state.step))
    return state, past_costs


def claim_folder(
    spec: RunSpec,
    workdir: Path,
    n_features: int,
    files: tuple[str, ...] = report.RUN_FILES,
    folders: tuple[str, ...] = report.RUN_FOLDERS,
) -> contextlib.AbstractContextManager:
    """The run folder held for the run (`rundir.claim`): writable, locked, no finished run replaced, every
    name it writes (`files`, `folders`) free."""
    state_bytes = 3 * n_features * spec.model_config.num_outputs * 8  # params and up to two optimizer slots, float64
    return rundir.claim(
        workdir,
        overwrite=spec.train.overwrite,
        resume=spec.train.resume,
        need_bytes=(spec.train.keep_checkpoints + 2) * state_bytes,
        enabled=runtime.is_writer(),
        files=files,
        folders=folders,
    )


class Placed(NamedTuple):
    """The training arrays and state on the run's devices; `mesh` is None on one device."""

    mesh: jax.sharding.Mesh | None
    x: jax.Array
    y: jax.Array
    weight: jax.Array | None
    state: train.TrainState
    hparams: optim.HParams


def place(spec: RunSpec, inputs: Inputs, state, hparams) -> Placed:
    """With several devices (or processes) the batch sharded over a mesh (padding rows weigh 0) and the
    state replicated; otherwise everything stays where it is (so with `parallel.data_parallel=false`)."""
    x, y, weight = inputs.xs["train"], inputs.ys["train"], inputs.weight_N
    dtype = spec.dtype
    if not parallel.use_mesh(spec.parallel):
        return Placed(None, pixels.for_training(x, dtype), y, weight, state, hparams)
    mesh = parallel.make_mesh()
    x, y, weight = parallel.shard_batch(
        mesh, np.asarray(x), np.asarray(y), None if weight is None else np.asarray(weight)
    )
    return Placed(mesh, pixels.for_training(x, dtype), y, weight, *parallel.replicate(mesh, (state, hparams)))


def run_loggers(spec: RunSpec, workdir: Path) -> loggers.RunLoggers:
    """The experiment trackers of `spec.logger` (one process reports), told the hyperparameters; use as
    `with`: they are closed, and a failed run marked so, whatever happens."""
    chosen = loggers.build(spec.logger, workdir, enabled=runtime.is_writer())
    try:
        chosen.log_hparams(spec.record)
    except BaseException as e:
        chosen.__exit__(type(e), e, None)
        raise
    return chosen


def reporting_hooks(
    spec: RunSpec, inputs: Inputs, tracked: loggers.RunLoggers
) -> tuple[hooks.ValidationTracker | None, list[Callable]]:
    """(the validation tracker or None, the hooks that report every log_every: the train cost to the
    loggers, then the tracker, which hands its measurements to them too and may stop the run)."""
    report = [tracked.log_metrics] if tracked else []
    tracker = validation_tracker(spec, inputs, report)
    tail = [hooks.CostReporter(tracked.log_metrics, spec.train.log_every)] if tracked else []
    return tracker, tail + ([tracker] if tracker else [])


def validation_tracker(
    spec: RunSpec, inputs: Inputs, report: Sequence[Callable] = ()
) -> hooks.ValidationTracker | None:
    """The hook that measures the validation split every train.log_every iterations (None without one), and
    stops early with train.early_stopping."""
    if "val" not in inputs.xs:
        return None
    t, model = spec.train, spec.model
    x, y = inputs.xs["val"], inputs.ys["val"]
    return hooks.ValidationTracker(
        lambda params: evaluate.evaluate_split(
            model, params, x, y, threshold=spec.model_config.threshold, classes=inputs.classes
        ),
        every=t.log_every,
        num_steps=t.iteration_limit,
        metric=t.early_stopping_metric,
        direction=METRIC_DIRECTIONS[t.early_stopping_metric.partition("_")[2]],
        patience=t.early_stopping_patience if t.early_stopping else 0,
        report=report,
        warmup=t.early_stopping_warmup if t.early_stopping else 0,
        min_delta=t.early_stopping_min_delta if t.early_stopping else 0.0,
    )


def training_hooks(
    spec: RunSpec, workdir: Path, past_costs, examples: int, tail: Sequence[Callable] = (), *, n_params: int = 0
) -> tuple[list[Callable], int | None]:
    """(the hooks of a single run: cost lines, divergence guard, checkpoint writer, progress bar (or, off a
    terminal, progress lines), then `tail` (loggers, validation); the chunk length, `chunk_length`). With a
    visible bar or a `tail`, chunks end on every multiple of log_every."""
    t = spec.train
    writer = runtime.is_writer()  # one process writes checkpoints
    folder = workdir / checkpoint.FOLDER
    show = t.progress and writer
    bar = hooks.ProgressBar(t.iteration_limit, examples, enabled=show and sys.stdout.isatty())
    progress = [bar] if bar.visible or not show else [hooks.ProgressLog(t.iteration_limit)]
    chunk = t.checkpoint_every or None
    if bar.visible or tail:  # report every log_every iterations, still landing on every checkpoint
        chunk = math.gcd(chunk or t.log_every, t.log_every)
    save = hooks.CheckpointWriter(
        folder,
        spec.record,
        every=t.checkpoint_every if writer else 0,
        keep=t.keep_checkpoints,
        num_steps=t.iteration_limit,
        past_costs=past_costs,
    )
    stop = hooks.InterruptStop(save if writer else None, workdir)
    printer = [hooks.CostPrinter(t.log_every, past_costs)] if t.print_cost else []
    on_chunk = [*printer, hooks.DivergenceGuard(folder, advice=divergence_advice(spec)), save, stop, *progress, *tail]
    return on_chunk, chunk_length(chunk, t.iteration_limit, work_per_iteration=3 * examples * max(n_params, 1))


CHUNK_WORK = 2e10  # multiply-adds in one compiled chunk at most: a few seconds on one CPU core


def chunk_length(aligned: int | None, num_steps: int, *, work_per_iteration: float) -> int:
    """Iterations per compiled chunk: `aligned` (None: the whole run), shortened so that a chunk is at most
    CHUNK_WORK multiply-adds (so cost lines, progress lines and Ctrl-C are answered every few seconds).

    A shorter chunk is a divisor of `aligned`, so chunks still end on every checkpoint and logged iteration;
    `work_per_iteration` is about 3 · examples · parameters (forward, backward, update) of a full-batch pass.
    """
    limit = max(1, int(CHUNK_WORK // max(work_per_iteration, 1)))
    whole = aligned or max(num_steps, 1)
    if whole <= limit:
        return whole
    divisors = [d for k in range(1, math.isqrt(whole) + 1) if whole % k == 0 for d in (k, whole // k)]
    best = max(d for d in divisors if d <= limit)
    if aligned is None and best < limit // 2:  # nothing to land on: equal chunks, a shorter last one
        return limit
    return best


def fit(
    spec: RunSpec,
    placed: Placed,
    *,
    on_chunk: Sequence[Callable] = (),
    chunk_size: int | None = None,
    run: Callable = train.run_steps,
) -> train.FitResult:
    """The compiled training of `placed.state` up to the iteration limit (or ‖∇J‖ < tol, or a hook's
    `StopTraining`); params on the host. Hooks with a `start(state)` method see the starting state first.
    A state in the span of the data (`parametrize`) trains through `span.fit` (`run` is for weights)."""
    t = spec.train
    with parallel.mesh_scope(placed.mesh), contextlib.ExitStack() as stack:
        for hook in on_chunk:
            if hasattr(hook, "__exit__"):  # the progress bar closes even when a hook stops the run
                stack.enter_context(cast(contextlib.AbstractContextManager, hook))
        for hook in on_chunk:
            if hasattr(hook, "start"):
                hook.start(placed.state)
        fit_state = span.fit if span.is_span(placed.state) else functools.partial(train.fit, run=run)
        result = fit_state(
            placed.state,
            placed.x,
            placed.y,
            placed.hparams,
            num_steps=t.iteration_limit,
            optim=spec.optim,
            chunk_size=chunk_size,
            on_chunk=on_chunk,
            weight_N=placed.weight,
            batch_size=t.batch_size,
            model=spec.model,
        )
    # Replicated over the mesh: the host copy serves the evaluation of the (local) splits.
    return result._replace(state=result.state._replace(params=jax.device_get(result.state.params)))


def kept_params(spec: RunSpec, result: train.FitResult, tracker: hooks.ValidationTracker | None):
    """The parameters the run keeps: the best measured ones with train.early_stopping, else the last ones."""
    if not spec.train.early_stopping:
        return result.state.params
    assert tracker is not None  # checks.validate: train.early_stopping needs a validation split
    if tracker.best_params is None:  # tol stopped the run before the warm-up ended, or no measurement was finite
        return result.state.params
    log.info(
        "early stopping: %s at iteration %s, best %.6f at iteration %s (the parameters kept)",
        "stopped" if result.stopped else "not triggered, ran to the end",
        tracker.stopped_at,
        tracker.best_value,
        tracker.best_step,
    )
    return tracker.best_params


def compile_evaluation(spec: RunSpec, inputs: Inputs, params_like, *, grid: bool = False) -> Future:
    """`evaluate_params`'s program compiled (and run once, on zeros shaped as `params_like`) in the worker
    thread (`background.in_background`) while the caller trains, which releases the GIL: the evaluation
    after training then finds it in jit's cache. Wait for the future before `evaluate_params`; an error
    in it is the evaluation's own, raised again there."""
    zeros = jax.tree.map(lambda a: np.zeros(np.shape(a), a.dtype), params_like)  # host arrays, as evaluated

    def compile_it():
        with runtime.precision_scope(spec.train.precision):  # JAX's 64-bit mode is set per thread
            evaluate.compile_scores(
                spec.model,
                zeros,
                inputs.xs,
                inputs.ys,
                weight_N=inputs.weight_N,
                l2=spec.model_config.l2,
                grid=grid,
            )

    return background.in_background(compile_it)


def evaluate_params(spec: RunSpec, inputs: Inputs, params, *, grid: bool = False):
    """Every split of `inputs` with the configured model, threshold, weights and L2, in one compiled call:
    an `evaluate.Evaluation`, or with `grid` (params stacked on a leading axis, a sweep's grid, which
    differs in learning rate and seed only) one per grid point."""
    return (evaluate.evaluate_grid if grid else evaluate.evaluate)(
        spec.model,
        jax.device_get(params),  # host arrays, whatever their placement: the program `compile_evaluation` made
        inputs.xs,
        inputs.ys,
        threshold=spec.model_config.threshold,
        weight_N=inputs.weight_N,
        l2=spec.model_config.l2,
        classes=inputs.classes,
    )
