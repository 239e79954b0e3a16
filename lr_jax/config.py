"""Typed, validated run configuration: the one boundary between Hydra's DictConfig and the library.

The library never imports Hydra. `scripts/*.py` turn the composed config into a plain dict and call
`Config.from_dict`, which checks every key and range once and returns frozen dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from lr_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class DataConfig:
    name: str = "catvnoncat"
    dir: str | None = None
    verify: bool = True
    base_url: str = (
        "https://raw.githubusercontent.com/Hiren2002/Logistic-Regression/"
        "a6139a838a0e624f4ab923377df0c5d3386fdf1f/datasets/"
    )
    download: bool = True
    image_size: int = 64
    scale: bool = True
    val_fraction: float = 0.0
    split_seed: int = 0
    # image_folder (lr_jax/data/image_folder.py)
    classes: tuple = ("non-cat", "cat")
    skip_bad_images: bool = False
    test_fraction: float = 0.2
    cache_dir: str | None = None
    # synthetic (lr_jax/data/synthetic.py)
    num_examples: int = 1000
    num_test: int = 200
    num_features: int = 12288
    seed: int = 0
    teacher: str = "linear"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str = "logistic"
    init: str = "zeros"
    init_scale: float = 0.01
    # mlp (lr_jax/mlp.py)
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    course_seed: int | None = None  # RandomState seed of init=course; None: train.seed
    threshold: float = 0.5
    l2: float = 0.0
    class_weight: str | None = None
    # Not a config key (DERIVED): the seed init=course draws from, course_seed or else train.seed, which
    # Config keeps in step, also when a sweep replaces train.seed (`dataclasses.replace` runs __post_init__).
    course_init_seed: int = dataclasses.field(default=0, metadata={"derived": True})


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"
    learning_rate: float = 0.005
    momentum: float = 0.0
    nesterov: bool = False
    b1: float = 0.9
    b2: float = 0.999
    schedule: str = "constant"
    decay_steps: int = 1000
    decay_rate: float = 0.5
    final_fraction: float = 0.0
    memory_size: int = 10


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    num_iterations: int = 2000
    log_every: int = 100
    seed: int = 0
    precision: str = "float32"
    print_cost: bool = True
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    resume: bool = False
    overwrite: bool = False
    batch_size: int | None = None
    tol: float = 0.0
    max_iterations: int | None = None
    compilation_cache_dir: str | None = "auto"
    progress: bool = True
    # With a validation split (data.val_fraction > 0) the validation metrics are measured every log_every
    # iterations; early stopping ends the run once `early_stopping_metric` (val_<metric>) has not improved for
    # `early_stopping_patience` of those measurements, and the run keeps the parameters of its best one.
    early_stopping: bool = False
    early_stopping_metric: str = "val_log_loss"
    early_stopping_patience: int = 5

    @property
    def iteration_limit(self) -> int:
        """The cap on iterations: `max_iterations`, or the course's `num_iterations` when that is null."""
        return self.num_iterations if self.max_iterations is None else self.max_iterations


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    learning_rates: tuple[float, ...] = (0.01, 0.001, 0.0001)
    seeds: tuple[int, ...] = (0,)
    figures: str = "summary"


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    data_parallel: bool = True
    distributed: bool = False
    coordinator_address: str | None = None
    num_processes: int = 0
    process_id: int = -1


@dataclasses.dataclass(frozen=True)
class LoggerConfig:
    """Experiment trackers the run reports to (conf/logger/); `lr_jax.loggers` imports each only when chosen."""

    csv: bool = False
    tensorboard: bool = False
    mlflow: bool = False
    tracking_uri: str | None = None  # MLflow's store; None = file store `mlruns/` in the working directory
    experiment_name: str | None = None  # MLflow's experiment; None = the run folder's parent (the sweep folder)


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    sweep: SweepConfig = dataclasses.field(default_factory=SweepConfig)
    parallel: ParallelConfig = dataclasses.field(default_factory=ParallelConfig)
    logger: LoggerConfig = dataclasses.field(default_factory=LoggerConfig)
    # What a sweep selects on (scripts/train.py returns it; the summary's best run maximizes or minimizes
    # it): `<split>_<metric>`; a validation metric falls back to the test split when there is none.
    optimized_metric: str = "val_accuracy"

    def __post_init__(self) -> None:
        """model.course_init_seed: model.course_seed, or train.seed when that is None."""
        seed = self.train.seed if self.model.course_seed is None else self.model.course_seed
        if self.model.course_init_seed != seed:
            object.__setattr__(self, "model", dataclasses.replace(self.model, course_init_seed=seed))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """Build and validate a Config from a nested mapping (e.g. `OmegaConf.to_container(cfg)`)."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"config={d!r}: expected a mapping of groups (data, model, optim, ...).")
        _reject_unknown("config", d, {*_SECTIONS, *_TOP_LEVEL})
        config = cls(
            **{name: _build_section(name, section_cls, d.get(name) or {}) for name, section_cls in _SECTIONS.items()},
            **{key: _coerce(key, d[key], default) for key, default in _TOP_LEVEL.items() if key in d},
        )
        validate(config)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts, tuples as lists (as they come back from JSON, e.g. a checkpoint's config); the
        config keys only (no DERIVED field)."""
        return {
            name: {k: list(v) if isinstance(v, tuple) else v for k, v in value.items() if k not in DERIVED}
            if name in _SECTIONS
            else value
            for name, value in dataclasses.asdict(self).items()
        }


_SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
    "sweep": SweepConfig,
    "parallel": ParallelConfig,
    "logger": LoggerConfig,
}
# Fields a Config computes from its keys, which a config file or the command line cannot set.
DERIVED = frozenset(f.name for cls in _SECTIONS.values() for f in dataclasses.fields(cls) if f.metadata.get("derived"))
# Keys outside the sections, with their defaults (the dataclass's).
_TOP_LEVEL = {f.name: f.default for f in dataclasses.fields(Config) if f.name not in _SECTIONS}
# Hydra-only keys the library ignores (study: scripts/study.py's section; hparams_search: the Optuna group).
_KNOWN_EXTRA_KEYS = frozenset({"experiment", "study", "hparams_search"})


def _reject_unknown(where: str, d: Mapping[str, Any], known) -> None:
    unknown = sorted(set(d) - set(known) - _KNOWN_EXTRA_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}. "
            "Fix the spelling in the config file or on the command line."
        )


def _build_section(name: str, section_cls, d: Mapping[str, Any]):
    if not isinstance(d, Mapping):
        raise ConfigError(f"{name}={d!r}: expected a group of keys, e.g. {name}.<key>=<value>.")
    fields = {f.name: f for f in dataclasses.fields(section_cls) if f.name not in DERIVED}
    _reject_unknown(name, d, fields)
    values = {}
    for key, value in d.items():
        values[key] = _coerce(f"{name}.{key}", value, fields[key].default, str(fields[key].type))
    return section_cls(**values)


def _coerce(key: str, value: Any, default: Any, annotation: str = "str | None") -> Any:
    """Check a value against the type of its default (None defaults: the annotated type, or None)."""
    if default is None and annotation.startswith("int"):
        return None if value is None else _coerce(key, value, 0)
    if default is None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key}={value!r}: expected a string or null.")
        return value
    if isinstance(default, tuple):  # a list of the type of the default's items, e.g. sweep.seeds
        if default == ():  # an empty default: a list of integers that may be empty, e.g. model.hidden
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{key}={value!r}: expected a list of integers, e.g. [20, 7, 5] or [].")
            return tuple(_coerce(f"{key}[{i}]", v, 0) for i, v in enumerate(value))
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{key}={value!r}: expected a non-empty list, e.g. {list(default)}.")
        return tuple(_coerce(f"{key}[{i}]", v, default[0]) for i, v in enumerate(value))
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}={value!r}: expected true or false.")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}={value!r}: expected an integer.")
        if abs(value) > MAX_INT:
            raise ConfigError(f"{key}={value!r} is out of range: expected an integer of at most {MAX_INT}.")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={value!r}: expected a number.")
        if abs(value) > MAX_FLOAT or not math.isfinite(value):  # also an int too large for a float
            raise ConfigError(f"{key}={value!r}: expected a finite number.")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        if value is None and "None" in annotation:  # e.g. train.compilation_cache_dir: "auto", a path or null
            return None
        raise ConfigError(f"{key}={value!r}: expected a string.")
    return value


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is out of range: expected {expected}.")


def validate(config: Config) -> None:
    """Raise ConfigError naming the first value that is out of range."""
    c = config
    _check(c.data.name in DATASETS, "data.name", c.data.name, f"one of {sorted(DATASETS)}")
    _check(
        len(c.data.classes) == 2 and len(set(c.data.classes)) == 2,
        "data.classes",
        list(c.data.classes),
        "two distinct folder names, class 0 then class 1",
    )
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
    _check(c.model.name in MODELS, "model.name", c.model.name, f"one of {sorted(MODELS)}")
    _check(c.model.init in INITS, "model.init", c.model.init, f"one of {sorted(INITS)}")
    _check(c.model.init_scale >= 0, "model.init_scale", c.model.init_scale, "a number >= 0")
    _validate_model(c)
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
    _check(m.course_seed is None or m.course_seed >= 0, "model.course_seed", m.course_seed, "null or >= 0")


def _validate_solver(c: Config) -> None:
    """The keys of issue 4: optimizer details, L2, weights, minibatches, stopping, validation split."""
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
    _check(
        t.max_iterations is None or t.max_iterations >= 0,
        "train.max_iterations",
        t.max_iterations,
        "null (= train.num_iterations) or an integer >= 0",
    )


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
        not t.early_stopping or c.data.val_fraction > 0,
        "train.early_stopping",
        t.early_stopping,
        "false without a validation split; set data.val_fraction (e.g. 0.2) to stop on validation metrics",
    )


# The metrics a run reports per split, and whether a larger value is better (max) or a smaller one (min).
METRIC_DIRECTIONS = {
    "accuracy": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "roc_auc": "max",
    "log_loss": "min",
    "cost": "min",
}
MAX_INT = 2**63 - 1  # what NumPy's int64 holds
MAX_FLOAT = 1.7976931348623157e308  # the largest finite float64
MAX_SEED = 2**32 - 1  # the range of NumPy's seeds and JAX's uint32 key data
MAX_STEPS = 2**31 - 1  # the step counter is int32
MAX_IMAGE_SIZE = 4096  # 4096x4096 RGB is 48 MiB per image already
DATASETS = frozenset({"catvnoncat", "image_folder", "synthetic"})
TEACHERS = ("linear", "mlp")  # the labels of data=synthetic (lr_jax/data/synthetic.py)
MODELS = frozenset({"logistic", "mlp"})  # lr_jax/models.py builds each
INITS = frozenset({"zeros", "normal", "he", "xavier", "course"})
LOGISTIC_INITS = frozenset({"zeros", "normal"})
ACTIVATIONS = frozenset({"relu", "leaky_relu", "tanh", "sigmoid"})  # of the MLP's hidden units (lr_jax/mlp.py)
OPTIMIZERS = frozenset({"sgd", "adam", "lbfgs"})
SCHEDULES = frozenset({"constant", "exponential", "cosine"})
CLASS_WEIGHTS = (None, "balanced")
SWEEP_FIGURES = ("summary", "all")  # sweep.figures: the summary's learning_curves.png only, or every point's too
PRECISIONS = ("float32", "float64")
