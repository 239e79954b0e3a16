"""The models: one interface, logistic regression (the course's), the multilayer perceptron, and the registry.

    interface.py  Model (the protocol), Params, param_dtype, forward (the batched forward pass of any model)
    logistic.py   LogisticModel: σ(wᵀx + b), the course's model; logit, predict_proba, predict
    mlp.py        MLP: hidden layers of a chosen activation and a sigmoid output (the course's week 4)
    registry.py   BUILDERS and build(cfg): the model a config names (`model.name`)

This file only re-exports.
"""

from lr_jax.models.interface import Model, Params, forward, param_dtype
from lr_jax.models.logistic import LOGISTIC, LogisticModel
from lr_jax.models.mlp import MLP
from lr_jax.models.registry import BUILDERS, build

__all__ = ["BUILDERS", "LOGISTIC", "MLP", "LogisticModel", "Model", "Params", "build", "forward", "param_dtype"]
