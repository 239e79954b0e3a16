"""The models: one interface, logistic regression (the course's), the multilayer perceptron, and the registry.

    interface.py  Model (the protocol), Params, param_dtype, forward (the batched forward pass of any model),
                  num_outputs and is_softmax (one sigmoid logit, or K softmax logits)
    logistic.py   LogisticModel: σ(wᵀx + b), the course's model (softmax(Wᵀx + b) for K classes); logit,
                  predict_proba, predict
    mlp.py        MLP: hidden layers of a chosen activation and a sigmoid output (the course's week 4), or K
                  softmax outputs
    registry.py   BUILDERS and build(cfg): the model a config names (`model.name`)

This file only re-exports.
"""

from lr_jax.models.interface import Model, Params, forward, is_softmax, num_outputs, param_dtype
from lr_jax.models.logistic import LOGISTIC, LogisticModel
from lr_jax.models.mlp import MLP
from lr_jax.models.registry import BUILDERS, build

__all__ = [
    "BUILDERS",
    "LOGISTIC",
    "MLP",
    "LogisticModel",
    "Model",
    "Params",
    "build",
    "forward",
    "is_softmax",
    "num_outputs",
    "param_dtype",
]
