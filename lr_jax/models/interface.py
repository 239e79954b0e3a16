"""The model interface: what the rest of lr_jax needs from a model, and the forward pass built on it.

A model is any hashable object with `init(key, n_features, dtype) -> params` and `apply(params, x_D) -> logit`
for ONE example (plus `penalized(params)`, the leaves L2 acts on, and `unit_weights(params)`, the input
weights of its first units as rows, for the figures; and optionally `batched_apply(params, x_ND)`, the same
logits for a batch in a faster form, see `forward`). A model with `num_outputs` = K > 1 returns K logits
per example, one per class, and its probabilities are their softmax (`is_softmax`); otherwise one logit,
whose sigmoid is P(class 1). Everything above the models (loss, training,
evaluation, figures) goes through it and never looks inside the params pytree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax

Params = Any  # a pytree of arrays; for LogisticModel {"w": Array[n], "b": Array[]}


class Model(Protocol):
    """What the rest of lr_jax needs from a model. Implementations are frozen dataclasses (static in jit)."""

    def init(self, key: jax.Array, n_features: int, dtype) -> Params: ...

    def apply(self, params: Params, x_D: jax.Array) -> jax.Array: ...

    def penalized(self, params: Params) -> Params: ...

    def unit_weights(self, params: Params) -> jax.Array: ...


def num_outputs(model: Model) -> int:
    """The model's logits per example: 1 (a sigmoid unit, two classes) or K (softmax units, K classes)."""
    return getattr(model, "num_outputs", 1)


def is_softmax(model: Model) -> bool:
    """Whether the model's logits are K classes' (softmax and the K-class cross-entropy) rather than one."""
    return num_outputs(model) > 1


def param_dtype(params: Params):
    """The floating dtype of a model's parameters (and of its costs; x may be uint8 pixels)."""
    return jax.tree.leaves(params)[0].dtype


def forward(model: Model) -> Callable[[Params, jax.Array], jax.Array]:
    """(params, x_ND) -> z_N: the model's `batched_apply` when it has one (the same numbers as `apply`
    vmapped, computed faster), else `apply` vmapped over the examples."""
    batched = getattr(model, "batched_apply", None)
    return batched if batched is not None else jax.vmap(model.apply, in_axes=(None, 0))
