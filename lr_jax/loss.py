r"""The cross-entropy cost and the course's hand-derived backward pass.

Per example, with ŷ = σ(z):   L(ŷ, y) = -(y log ŷ + (1 - y) log(1 - ŷ))
Over m examples:             J(w, b) = (1/m) Σᵢ L(ŷᵢ, yᵢ)

Written from the logit z, log ŷ = log σ(z) and log(1 - ŷ) = log σ(-z), so that
L = softplus(z) - y z: exact and finite for any z (the course's `log(A)` form gives -inf once σ(z)
rounds to 0 or 1, near |z| ≈ 17 in float32 and 37 in float64). optax's `sigmoid_binary_cross_entropy`
computes exactly this.

The backward pass, derived by hand in the course (dz = a - y per example):

    ∂J/∂w = (1/m) Xᵀ (A - Y)        ∂J/∂b = (1/m) Σᵢ (aᵢ - yᵢ)

`course_gradients` implements it explicitly; the tests compare `jax.grad(cost)` against it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lr_jax.model import Params, batched_logit, logit


def example_loss(params: Params, x_D: jax.Array, y: jax.Array) -> jax.Array:
    """L(ŷ, y) for one example, computed from the logit."""
    return optax.sigmoid_binary_cross_entropy(logit(params, x_D), y)


def cost(params: Params, x_ND: jax.Array, y_N: jax.Array) -> jax.Array:
    """J(w, b): the mean cross-entropy over the batch (labels as 0/1 of any numeric dtype)."""
    y_N = y_N.astype(x_ND.dtype)
    return jnp.mean(jax.vmap(example_loss, in_axes=(None, 0, 0))(params, x_ND, y_N))


def course_gradients(params: Params, x_ND: jax.Array, y_N: jax.Array) -> Params:
    """The course's backward pass: dw = Xᵀ(A - Y)/m, db = mean(A - Y)."""
    dz_N = jax.nn.sigmoid(batched_logit(params, x_ND)) - y_N.astype(x_ND.dtype)
    return {"w": x_ND.T @ dz_N / x_ND.shape[0], "b": jnp.mean(dz_N)}
