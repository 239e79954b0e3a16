"""The ranges of every config key: `validate(config)` raises a ConfigError naming the first value out of range.

`Config.from_dict` calls it once, after building the typed config; the allowed values are the vocabularies
of `lr_jax.config.vocab`.
"""

from __future__ import annotations

from typing import Any

from lr_jax.config.vocab import (
    ACTIVATIONS,
    CLASS_WEIGHTS,
    DATASETS,
    INITS,
    LOGISTIC_INITS,
    MAX_IMAGE_SIZE,
    MAX_SEED,
    MAX_STEPS,
    METRIC_DIRECTIONS,
    MODELS,
    OPTIMIZERS,
    OUTPUTS,
    PARAMETRIZATIONS,
    PRECISIONS,
    SCHEDULES,
    SPAN_MODELS,
    SWEEP_FIGURES,
    TEACHERS,
)
from lr_jax.errors import ConfigError

# The checks sit below the dataclasses they check (`schema.Config.from_dict` calls `validate`), so they read
# the config by attribute without importing its type: `Config` here names `lr_jax.config.schema.Config`.
Config = Any


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is out of range: expected {expected}.")


def validate(config: Config) -> None:
    """Raise ConfigError naming the first value that is out of range."""
    c = config
    _check(c.data.name in DATASETS, "data.name", c.data.name, f"one of {sorted(DATASETS)}")
    _check(
        len(c.data.classes) >= 2 and len(set(c.data.classes)) == len(c.data.classes),
        "data.classes",
        list(c.data.classes),
        "two or more distinct folder names, in label order (class 0, class 1, ...)",
    )
    _check(c.data.num_classes >= 2, "data.num_classes", c.data.num_classes, "an integer >= 2")
    _check(
        1 <= c.data.image_size <= MAX_IMAGE_SIZE,
        "data.image_size",
        c.data.image_size,
        f"an integer >= 1 and <= {MAX_IMAGE_SIZE}",
    )
    for key, seed in (("train.seed", c.train.seed), ("data.split_seed", c.data.split_seed), ("data.seed", c.data.seed)):
        _check(0 <= seed <= MAX_SEED, key, seed, f"an integer 0 <= seed <= {MAX_SEED}")
    _check(all(0 <= s <= MAX_SEED for s in c.sweep.seeds), "sweep.seeds", list(c.sweep.seeds), f"seeds 0..{MAX_SEED}")
    _check(c.train.num_iterations <= MAX_STEPS, "train.num_iterations", c.train.num_iterations, f"at most {MAX_STEPS}")
    _check(
        c.train.max_iterations is None or c.train.max_iterations <= MAX_STEPS,
        "train.max_iterations",
        c.train.max_iterations,
        f"at most {MAX_STEPS} (the step counter is int32)",
    )
    _check(0 < c.data.test_fraction < 1, "data.test_fraction", c.data.test_fraction, "0 < fraction < 1")
    _check(c.data.num_examples >= 1, "data.num_examples", c.data.num_examples, "an integer >= 1")
    _check(c.data.num_test >= 1, "data.num_test", c.data.num_test, "an integer >= 1")
    _check(c.data.num_features >= 1, "data.num_features", c.data.num_features, "an integer >= 1")
    split, _, metric = c.optimized_metric.partition("_")
    _check(
        split in ("train", "val", "test") and metric in METRIC_DIRECTIONS,
        "optimized_metric",
        c.optimized_metric,
        f"<split>_<metric> with split train, val or test and metric one of {sorted(METRIC_DIRECTIONS)}",
    )
    _check(c.data.teacher in TEACHERS, "data.teacher", c.data.teacher, f"one of {list(TEACHERS)}")
    _check(
        c.data.teacher == "linear" or c.data.num_classes == 2,
        "data.teacher",
        c.data.teacher,
        f"linear with data.num_classes={c.data.num_classes} (the mlp teacher labels two classes)",
    )
    _check(c.model.name in MODELS, "model.name", c.model.name, f"one of {sorted(MODELS)}")
    _check(c.model.init in INITS, "model.init", c.model.init, f"one of {sorted(INITS)}")
    _check(c.model.init_scale >= 0, "model.init_scale", c.model.init_scale, "a number >= 0")
    _validate_model(c)
    _check_output(c)
    _check(0 < c.model.threshold < 1, "model.threshold", c.model.threshold, "0 < threshold < 1")
    _check(c.optim.name in OPTIMIZERS, "optim.name", c.optim.name, f"one of {sorted(OPTIMIZERS)}")
    _check(c.optim.learning_rate > 0, "optim.learning_rate", c.optim.learning_rate, "a number > 0")
    _check(c.train.num_iterations >= 0, "train.num_iterations", c.train.num_iterations, "an integer >= 0")
    _check(c.train.log_every >= 1, "train.log_every", c.train.log_every, "an integer >= 1")
    _check(c.train.precision in PRECISIONS, "train.precision", c.train.precision, f"one of {PRECISIONS}")
    _check(
        c.train.checkpoint_every >= 0,
        "train.checkpoint_every",
        c.train.checkpoint_every,
        "an integer >= 0 (0 = no checkpoints)",
    )
    _check(c.train.keep_checkpoints >= 1, "train.keep_checkpoints", c.train.keep_checkpoints, "an integer >= 1")
    _check(
        all(lr > 0 for lr in c.sweep.learning_rates),
        "sweep.learning_rates",
        list(c.sweep.learning_rates),
        "numbers > 0",
    )
    seeds = list(c.sweep.seeds)
    _check(len(set(seeds)) == len(seeds), "sweep.seeds", seeds, "distinct seeds")
    _check(c.sweep.figures in SWEEP_FIGURES, "sweep.figures", c.sweep.figures, f"one of {SWEEP_FIGURES}")
    _check(
        c.parallel.num_processes >= 0,
        "parallel.num_processes",
        c.parallel.num_processes,
        "an integer >= 0 (0 = auto-detect)",
    )
    _check(
        c.parallel.process_id >= -1,
        "parallel.process_id",
        c.parallel.process_id,
        "an integer >= 0, or -1 to auto-detect",
    )
    _validate_solver(c)


def _validate_model(c: Config) -> None:
    """The model's keys: logistic regression has no hidden layer; the MLP's widths, activation and init."""
    m = c.model
    if m.name == "logistic":
        _check(not m.hidden, "model.hidden", list(m.hidden), "[] for model=logistic (hidden layers: model=mlp)")
        _check(m.init in LOGISTIC_INITS, "model.init", m.init, f"one of {sorted(LOGISTIC_INITS)} for model=logistic")
    _check(all(h >= 1 for h in m.hidden), "model.hidden", list(m.hidden), "layer widths >= 1, e.g. [20, 7, 5]")
    _check(m.activation in ACTIVATIONS, "model.activation", m.activation, f"one of {sorted(ACTIVATIONS)}")
    _check(
        m.init != "zeros" or not m.hidden,
        "model.init",
        m.init,
        "he, xavier, normal or course with hidden layers (from zeros every hidden unit stays the same)",
    )
    _check(
        m.course_seed is None or 0 <= m.course_seed <= MAX_SEED,
        "model.course_seed",
        m.course_seed,
        f"null (= train.seed) or an integer 0 <= seed <= {MAX_SEED}",
    )


def _check_output(c: Config) -> None:
    """model.output: one of OUTPUTS, and a sigmoid only for two classes."""
    m = c.model
    _check(m.output in OUTPUTS, "model.output", m.output, f"one of {list(OUTPUTS)}")
    _check(
        m.output != "sigmoid" or m.n_classes == 2,
        "model.output",
        m.output,
        f"auto or softmax: the data have {m.n_classes} classes and a sigmoid unit separates two",
    )


def _validate_solver(c: Config) -> None:
    """The keys of the research loop: optimizer details, L2, weights, minibatches, stopping, validation split."""
    o, t = c.optim, c.train
    _check(0 <= c.data.val_fraction < 1, "data.val_fraction", c.data.val_fraction, "0 <= val_fraction < 1")
    _check(c.model.l2 >= 0, "model.l2", c.model.l2, "a number >= 0 (λ in J + λ/2·‖w‖²)")
    _check(c.model.class_weight in CLASS_WEIGHTS, "model.class_weight", c.model.class_weight, "null or 'balanced'")
    _check(0 <= o.momentum < 1, "optim.momentum", o.momentum, "0 <= momentum < 1")
    _check(0 <= o.b1 < 1, "optim.b1", o.b1, "0 <= b1 < 1")
    _check(0 <= o.b2 < 1, "optim.b2", o.b2, "0 <= b2 < 1")
    _check(o.schedule in SCHEDULES, "optim.schedule", o.schedule, f"one of {sorted(SCHEDULES)}")
    _check(o.decay_steps >= 1, "optim.decay_steps", o.decay_steps, "an integer >= 1")
    _check(0 < o.decay_rate <= 1, "optim.decay_rate", o.decay_rate, "0 < decay_rate <= 1")
    _check(0 <= o.final_fraction <= 1, "optim.final_fraction", o.final_fraction, "0 <= final_fraction <= 1")
    _check(o.memory_size >= 1, "optim.memory_size", o.memory_size, "an integer >= 1")
    _check(
        t.batch_size is None or t.batch_size >= 1,
        "train.batch_size",
        t.batch_size,
        "null (full batch) or an integer >= 1",
    )
    _check(
        o.name != "lbfgs" or t.batch_size is None,
        "train.batch_size",
        t.batch_size,
        "null with optim=lbfgs (L-BFGS and its line search are full-batch)",
    )
    _check(t.tol >= 0, "train.tol", t.tol, "a number >= 0 (0 = never stop early)")
    _check_early_stopping(c)
    _check_parametrization(c)
    _check(
        t.max_iterations is None or t.max_iterations >= 0,
        "train.max_iterations",
        t.max_iterations,
        "null (= train.num_iterations) or an integer >= 0",
    )


def _check_parametrization(c: Config) -> None:
    """train.parametrization=span only where it holds the weight-space iterates (lr_jax/span.py)."""
    p = c.train.parametrization
    _check(p in PARAMETRIZATIONS, "train.parametrization", p, f"one of {list(PARAMETRIZATIONS)}")
    if p != "span":
        return
    _check(
        c.optim.name == "sgd",
        "train.parametrization",
        p,
        f"auto or weights with optim={c.optim.name} (the span holds only for sgd, with any momentum and schedule)",
    )
    _check(c.model.name in SPAN_MODELS, "train.parametrization", p, f"auto or weights with model={c.model.name}")


def _check_early_stopping(c: Config) -> None:
    t = c.train
    split, _, metric = t.early_stopping_metric.partition("_")
    _check(
        split == "val" and metric in METRIC_DIRECTIONS,
        "train.early_stopping_metric",
        t.early_stopping_metric,
        f"val_<metric> with metric one of {sorted(METRIC_DIRECTIONS)}",
    )
    _check(
        t.early_stopping_patience >= 1, "train.early_stopping_patience", t.early_stopping_patience, "an integer >= 1"
    )
    _check(
        t.early_stopping_warmup >= 0,
        "train.early_stopping_warmup",
        t.early_stopping_warmup,
        "an integer >= 0 (iterations; a warm-up past the iteration limit leaves the last measurement eligible)",
    )
    delta = t.early_stopping_min_delta
    _check(delta >= 0, "train.early_stopping_min_delta", delta, "a number >= 0 (in the metric's units)")
    _check(
        not t.early_stopping or c.data.val_fraction > 0,
        "train.early_stopping",
        t.early_stopping,
        "false without a validation split; set data.val_fraction (e.g. 0.2) to stop on validation metrics",
    )
