"""The models a config can name (`model.name`): each maps `ModelConfig` to a `model.Model`.

A new model is one module (pure `init` / `apply` for one example, as `lr_jax.model.LogisticRegression`),
one line here and one file in `conf/model/`.
"""

from __future__ import annotations

from lr_jax.config import ModelConfig
from lr_jax.mlp import MLP
from lr_jax.model import LogisticRegression, Model

BUILDERS = {
    "logistic": lambda cfg: LogisticRegression(init_method=cfg.init, init_scale=cfg.init_scale),
    "mlp": lambda cfg: MLP(
        hidden=tuple(cfg.hidden),
        activation=cfg.activation,
        init_method=cfg.init,
        init_scale=cfg.init_scale,
        course_seed=cfg.course_init_seed,
    ),
}


def build(cfg: ModelConfig) -> Model:
    """The model `cfg.name` with its configured initialization."""
    return BUILDERS[cfg.name](cfg)
