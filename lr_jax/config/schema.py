"""Typed, validated run configuration: the one boundary between Hydra's DictConfig and the library.

The library never imports Hydra. `scripts/*.py` turn the composed config into a plain dict and call
`Config.from_dict`, which checks every key (here) and range (`lr_jax.config.checks`) once and returns frozen
dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from lr_jax.config.checks import validate
from lr_jax.config.vocab import DIGITS_CLASSES, MAX_FLOAT, MAX_INT
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
    num_classes: int = 2  # K, the classes of the synthetic teacher (the other sources: their class folders or names)

    @property
    def class_count(self) -> int:
        """K, the number of classes the data set has (read from the config alone, before any data)."""
        if self.name == "digits":
            return DIGITS_CLASSES
        if self.name == "image_folder":
            return len(self.classes)
        if self.name == "synthetic":
            return self.num_classes
        return 2  # catvnoncat


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str = "logistic"
    init: str = "zeros"
    init_scale: float = 0.01
    # mlp (lr_jax/models/mlp.py)
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    course_seed: int | None = None  # RandomState seed of init=course; None: train.seed
    threshold: float = 0.5
    l2: float = 0.0
    class_weight: str | None = None
    output: str = "auto"  # sigmoid, softmax, or auto: softmax iff the data have more than two classes
    # Not a config key (DERIVED): K, the data's number of classes (data.class_count), which Config keeps in step.
    n_classes: int = dataclasses.field(default=2, metadata={"derived": True})
    # Not a config key (DERIVED): the seed init=course draws from, course_seed or else train.seed, which
    # Config keeps in step, also when a sweep replaces train.seed (`dataclasses.replace` runs __post_init__).
    course_init_seed: int = dataclasses.field(default=0, metadata={"derived": True})

    @property
    def softmax(self) -> bool:
        """Whether the model ends in K softmax units (else the course's one sigmoid unit, two classes)."""
        return self.output == "softmax" or (self.output == "auto" and self.n_classes > 2)

    @property
    def num_outputs(self) -> int:
        """The model's output units: K with a softmax, 1 with the sigmoid."""
        return self.n_classes if self.softmax else 1


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
    parametrization: str = "auto"  # weights, span (w = c·w₀ + Xᵀa against K = X Xᵀ), or auto: lr_jax.span.choose
    # With a validation split (data.val_fraction > 0) the validation metrics are measured every log_every
    # iterations; early stopping ends the run once `early_stopping_metric` (val_<metric>) has not improved for
    # `early_stopping_patience` of those measurements, and the run keeps the parameters of its best one.
    early_stopping: bool = False
    early_stopping_metric: str = "val_log_loss"
    early_stopping_patience: int = 5
    early_stopping_warmup: int = 500  # iterations before a measurement can be the best one or count to patience
    early_stopping_min_delta: float = 0.0  # an improvement smaller than this counts as none
    # Outcome warnings (lr_jax.outcomes) become an error (exit code 3) once the run's files are written.
    strict: bool = False

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
    """Experiment trackers the run reports to (conf/logger/); `runfolder.loggers` imports each only when chosen."""

    csv: bool = False
    tensorboard: bool = False
    mlflow: bool = False
    tracking_uri: str | None = None  # MLflow's store; None = sqlite:///<working directory>/mlflow.db
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
        """model.course_init_seed: model.course_seed, or train.seed when that is None; model.n_classes: the
        data's number of classes."""
        seed = self.train.seed if self.model.course_seed is None else self.model.course_seed
        n_classes = self.data.class_count
        if (self.model.course_init_seed, self.model.n_classes) != (seed, n_classes):
            derived = dataclasses.replace(self.model, course_init_seed=seed, n_classes=n_classes)
            object.__setattr__(self, "model", derived)

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
