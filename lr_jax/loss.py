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

Weighted and regularized (scikit-learn's objective up to the factor C·m): with per-example weights sᵢ
(all 1 by default) and L2 strength λ (the bias is not penalized),

    J(w, b) = (1/m) Σᵢ sᵢ L(ŷᵢ, yᵢ) + (λ/2) ‖w‖²
    ∂J/∂w = (1/m) Xᵀ (S ⊙ (A - Y)) + λ w      ∂J/∂b = (1/m) Σᵢ sᵢ (aᵢ - yᵢ)

Normalizing by m (not by Σ sᵢ) keeps λ = 1/(C·m) the exact bridge to `LogisticRegression(C=...)`;
`class_weight="balanced"` weights, m / (2·count(yᵢ)), sum to m anyway.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lr_jax.model import Params, batched_logit, logit


def example_loss(params: Params, x_D: jax.Array, y: jax.Array) -> jax.Array:
    """L(ŷ, y) for one example, computed from the logit."""
    return optax.sigmoid_binary_cross_entropy(logit(params, x_D), y)


def cost(params: Params, x_ND: jax.Array, y_N: jax.Array, weights_N: jax.Array | None = None,
         l2: jax.Array | float = 0.0) -> jax.Array:
    """J(w, b): the (weighted) mean cross-entropy over the batch plus λ/2·‖w‖² (labels 0/1, any dtype)."""
    loss_N = jax.vmap(example_loss, in_axes=(None, 0, 0))(params, x_ND, y_N.astype(x_ND.dtype))
    data_cost = jnp.mean(loss_N) if weights_N is None else jnp.mean(weights_N * loss_N)
    if isinstance(l2, (int, float)) and l2 == 0:  # the course's J, with no extra operation
        return data_cost
    return data_cost + 0.5 * l2 * jnp.sum(jnp.square(params["w"]))


def course_gradients(params: Params, x_ND: jax.Array, y_N: jax.Array, weights_N: jax.Array | None = None,
                     l2: jax.Array | float = 0.0) -> Params:
    """The course's backward pass, weighted and with L2: dw = Xᵀ(S(A - Y))/m + λw, db = mean(S(A - Y))."""
    dz_N = jax.nn.sigmoid(batched_logit(params, x_ND)) - y_N.astype(x_ND.dtype)
    if weights_N is not None:
        dz_N = weights_N * dz_N
    return {"w": x_ND.T @ dz_N / x_ND.shape[0] + l2 * params["w"], "b": jnp.mean(dz_N)}
