"""The run configuration: typed, validated, frozen; the one boundary between Hydra's DictConfig and the library.

    vocab.py    the names each key allows (datasets, models, activations, ...) and the numeric limits (leaf)
    checks.py   validate(config): the range of every key, the first one out of range named in a ConfigError
    schema.py   the dataclasses (Config and its sections) and Config.from_dict, which calls validate once

This file only re-exports.
"""

from lr_jax.config.schema import (
    DERIVED,
    Config,
    DataConfig,
    LoggerConfig,
    ModelConfig,
    OptimConfig,
    ParallelConfig,
    SweepConfig,
    TrainConfig,
)

__all__ = [
    "Config",
    "DERIVED",
    "DataConfig",
    "LoggerConfig",
    "ModelConfig",
    "OptimConfig",
    "ParallelConfig",
    "SweepConfig",
    "TrainConfig",
]
