"""Typed, validated run configuration: the one boundary between Hydra's DictConfig and the library.

The library never imports Hydra. `scripts/*.py` turn the composed config into a plain dict and call
`Config.from_dict`, which checks every key and range once and returns frozen dataclasses.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

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


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    init: str = "zeros"
    init_scale: float = 0.01
    threshold: float = 0.5


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"
    learning_rate: float = 0.005


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
    compilation_cache_dir: str | None = None


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    learning_rates: tuple[float, ...] = (0.01, 0.001, 0.0001)
    seeds: tuple[int, ...] = (0,)


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    sweep: SweepConfig = dataclasses.field(default_factory=SweepConfig)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Config":
        """Build and validate a Config from a nested mapping (e.g. `OmegaConf.to_container(cfg)`)."""
        _reject_unknown("config", d, _SECTIONS)
        config = cls(**{
            name: _build_section(name, section_cls, d.get(name) or {})
            for name, section_cls in _SECTIONS.items()
        })
        validate(config)
        return config

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts, tuples as lists (as they come back from JSON, e.g. a checkpoint's config)."""
        return {name: {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
                for name, section in dataclasses.asdict(self).items()}


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainConfig,
             "sweep": SweepConfig}
_KNOWN_EXTRA_KEYS = frozenset({"experiment"})  # Hydra-only keys the library ignores.


def _reject_unknown(where: str, d: Mapping[str, Any], known) -> None:
    unknown = sorted(set(d) - set(known) - _KNOWN_EXTRA_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}. "
            "Fix the spelling in the config file or on the command line."
        )


def _build_section(name: str, section_cls, d: Mapping[str, Any]):
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    _reject_unknown(name, d, fields)
    values = {}
    for key, value in d.items():
        default = fields[key].default
        values[key] = _coerce(f"{name}.{key}", value, default)
    return section_cls(**values)


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check a value against the type of its default (None defaults accept str or None)."""
    if default is None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key}={value!r}: expected a string or null.")
        return value
    if isinstance(default, tuple):  # a list of the type of the default's items, e.g. sweep.seeds
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
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={value!r}: expected a number.")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"{key}={value!r}: expected a string.")
    return value


def _check(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is out of range: expected {expected}.")


def validate(config: Config) -> None:
    """Raise ConfigError naming the first value that is out of range."""
    c = config
    _check(c.data.name in DATASETS, "data.name", c.data.name, f"one of {sorted(DATASETS)}")
    _check(c.data.image_size >= 1, "data.image_size", c.data.image_size, "an integer >= 1")
    _check(c.model.init in INITS, "model.init", c.model.init, f"one of {sorted(INITS)}")
    _check(c.model.init_scale >= 0, "model.init_scale", c.model.init_scale, "a number >= 0")
    _check(0 < c.model.threshold < 1, "model.threshold", c.model.threshold, "0 < threshold < 1")
    _check(c.optim.name in OPTIMIZERS, "optim.name", c.optim.name, f"one of {sorted(OPTIMIZERS)}")
    _check(c.optim.learning_rate > 0, "optim.learning_rate", c.optim.learning_rate, "a number > 0")
    _check(c.train.num_iterations >= 0, "train.num_iterations", c.train.num_iterations, "an integer >= 0")
    _check(c.train.log_every >= 1, "train.log_every", c.train.log_every, "an integer >= 1")
    _check(c.train.precision in PRECISIONS, "train.precision", c.train.precision, f"one of {PRECISIONS}")
    _check(c.train.checkpoint_every >= 0, "train.checkpoint_every", c.train.checkpoint_every,
           "an integer >= 0 (0 = no checkpoints)")
    _check(c.train.keep_checkpoints >= 1, "train.keep_checkpoints", c.train.keep_checkpoints, "an integer >= 1")
    _check(all(lr > 0 for lr in c.sweep.learning_rates), "sweep.learning_rates", list(c.sweep.learning_rates),
           "numbers > 0")
    seeds = list(c.sweep.seeds)
    _check(len(set(seeds)) == len(seeds), "sweep.seeds", seeds, "distinct seeds")


DATASETS = frozenset({"catvnoncat"})
INITS = frozenset({"zeros", "normal"})
OPTIMIZERS = frozenset({"sgd"})
PRECISIONS = ("float32", "float64")
