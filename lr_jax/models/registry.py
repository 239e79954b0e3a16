"""The models a config can name (`model.name`): each maps `ModelConfig` to a `lr_jax.models.interface.Model`.

A new model is one module (pure `init` / `apply` for one example, as `lr_jax.models.logistic.LogisticModel`),
one line here and one file in `conf/model/`.
"""

from __future__ import annotations

from collections.abc import Callable

from lr_jax.config import ModelConfig
from lr_jax.models.interface import Model
from lr_jax.models.logistic import LogisticModel
from lr_jax.models.mlp import MLP

BUILDERS: dict[str, Callable[[ModelConfig], Model]] = {
    "logistic": lambda cfg: LogisticModel(init_method=cfg.init, init_scale=cfg.init_scale, num_outputs=cfg.num_outputs),
    "mlp": lambda cfg: MLP(
        hidden=tuple(cfg.hidden),
        activation=cfg.activation,
        init_method=cfg.init,
        init_scale=cfg.init_scale,
        course_seed=cfg.course_init_seed,
        num_outputs=cfg.num_outputs,
    ),
}


def build(cfg: ModelConfig) -> Model:
    """The model `cfg.name` with its configured initialization."""
    return BUILDERS[cfg.name](cfg)
