"""`RunSpec`: what the stages of a run need, derived from its `Config` once (`spec_from_config`).

The model (`models.build`), the optimizer's static part (`optim.spec`), the run's dtype and the config's
record are built here and nowhere else in a run; a stage takes the spec, reads the sections it needs and
never rebuilds them. A sweep's grid points share the grid's model (`spec_from_config(point, like=spec)`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from lr_jax import models, optim, runtime
from lr_jax.config import Config, DataConfig, LoggerConfig, ModelConfig, OptimConfig, ParallelConfig, TrainConfig
from lr_jax.models.interface import Model


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSpec:
    """The objects a run derives from its config, built once, and the config sections its stages read."""

    model: Model  # models.build(model_config): the run's one model
    optim: optim.OptimSpec  # the optimizer's static part (changing it recompiles)
    dtype: Any  # parameters, costs and features: runtime.run_dtype(train.precision)
    data: DataConfig
    model_config: ModelConfig  # threshold, l2, class_weight, init: what the stages read besides the model
    optim_config: OptimConfig  # the traced hyperparameters' values (`hparams`)
    train: TrainConfig
    parallel: ParallelConfig
    logger: LoggerConfig
    record: Mapping[str, Any]  # what checkpoints and trackers store: config.to_dict() (a sweep's adds its grid)


def spec_from_config(
    config: Config, *, record: Mapping[str, Any] | None = None, like: RunSpec | None = None
) -> RunSpec:
    """The run spec of `config`. `record`: what its checkpoints store instead of `config.to_dict()`. `like`: a
    spec whose model and record are reused when `config` configures the same model (a sweep's grid point)."""
    reuse = like is not None and same_model(like.model_config, config.model)
    return RunSpec(
        model=like.model if like is not None and reuse else models.build(config.model),
        optim=optim.spec(config.optim),
        dtype=runtime.run_dtype(config.train.precision),
        data=config.data,
        model_config=config.model,
        optim_config=config.optim,
        train=config.train,
        parallel=config.parallel,
        logger=config.logger,
        record=record if record is not None else like.record if like is not None else config.to_dict(),
    )


def same_model(a: ModelConfig, b: ModelConfig) -> bool:
    """Whether `a` and `b` build the same model: equal, or differing in the seed that only model.init=course
    draws from (`course_init_seed`, train.seed by default, which differs between a sweep's seeds)."""
    if a.init == b.init != "course":
        return dataclasses.replace(a, course_init_seed=0) == dataclasses.replace(b, course_init_seed=0)
    return a == b


def hparams_of(spec: RunSpec) -> optim.HParams:
    """The traced hyperparameters of `spec` (`optim.config_hparams`), in its dtype."""
    return optim.section_hparams(
        spec.optim_config, spec.dtype, l2=spec.model_config.l2, tol=spec.train.tol, precision=spec.train.precision
    )
