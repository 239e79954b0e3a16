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

Weighted and regularized, with per-example weights sᵢ (all 1 by default; 0 marks a padding example)
and L2 strength λ (the bias is not penalized), S = Σᵢ sᵢ:

    J(w, b) = (1/S) Σᵢ sᵢ L(ŷᵢ, yᵢ) + (λ/2) ‖w‖²
    ∂J/∂w = (1/S) Xᵀ (s ⊙ (A - Y)) + λ w      ∂J/∂b = (1/S) Σᵢ sᵢ (aᵢ - yᵢ)

This is scikit-learn's `LogisticRegression` objective divided by C·S, so λ = 1/(C·S): C = 1/(λ·m)
without weights and with `class_weight="balanced"` (whose weights m / (K·count(yᵢ)) sum to m).

K classes (a model with K softmax outputs, `models.is_softmax`): logits z = Wᵀx + b of K values, labels
yᵢ in [0, K), P = softmax(z), and the cross-entropy of the true class, from the logits:

    L(z, y) = -log softmax(z)_y = logsumexp(z) - z_y

(optax's `softmax_cross_entropy_with_integer_labels`, exact for any logit). Weighted and regularized as
above, with L2 on W only; the hand-derived gradient (dz = p - onehot(y) per example, `softmax_gradients`):

    ∂J/∂W = (1/S) Xᵀ (s ⊙ (P - Y)) + λ W      ∂J/∂b = (1/S) Σᵢ sᵢ (pᵢ - onehot(yᵢ))

where Y holds the one-hot rows of the labels.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from lr_jax import pixels
from lr_jax.models.interface import Model, Params, forward, is_softmax, num_outputs, param_dtype
from lr_jax.models.logistic import LOGISTIC, batched_logit


def logit_loss(model: Model, z, y) -> jax.Array:
    """The cross-entropy of logits z (one per example, or K per example for a softmax model) against labels."""
    if is_softmax(model):
        return optax.softmax_cross_entropy_with_integer_labels(z, y.astype(jnp.int32))
    return optax.sigmoid_binary_cross_entropy(z, y)


def targets(model: Model, y_N: jax.Array, dtype) -> jax.Array:
    """Labels as `logit_loss` takes them: class indices (int32) for a softmax model, else 0/1 in `dtype`."""
    return y_N.astype(jnp.int32) if is_softmax(model) else y_N.astype(dtype)


def mean_loss(loss_N: jax.Array, weight_N: jax.Array | None = None) -> jax.Array:
    """The mean of per-example losses, or with `weight_N` the weighted mean Σ sᵢLᵢ / Σ sᵢ."""
    if weight_N is None:
        return jnp.mean(loss_N)
    weight_N = weight_N.astype(loss_N.dtype)
    return jnp.sum(weight_N * loss_N) / jnp.sum(weight_N)


def example_loss(params: Params, x_D: jax.Array, y: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """L(ŷ, y) for one example, computed from the logit."""
    return logit_loss(model, model.apply(params, x_D), y)


def batch_losses(params: Params, x_ND: jax.Array, y_N: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """`example_loss` of every example of a batch, from the model's batched forward pass (`model.forward`)."""
    return logit_loss(model, forward(model)(params, x_ND), y_N)


def cost(
    params: Params,
    x_ND: jax.Array,
    y_N: jax.Array,
    weight_N: jax.Array | None = None,
    l2: jax.Array | float = 0.0,
    model: Model = LOGISTIC,
) -> jax.Array:
    """J: the mean cross-entropy over the batch (labels as 0/1 of any numeric dtype; integers in [0, K) for a
    softmax model).

    With `weight_N`, the weighted mean Σ sᵢLᵢ / Σ sᵢ; with `l2` = λ, plus λ/2·‖model.penalized(params)‖².
    Integer `x_ND` are raw pixels, scaled by 1/255 in one chunked pass over X (`lr_jax.pixels`).
    """
    dtype = param_dtype(params)  # x may be uint8 pixels
    losses = functools.partial(batch_losses, model=model)
    y_N = targets(model, y_N, dtype)
    if pixels.is_pixels(x_ND) and pixels.is_large(x_ND):  # small pixel batches take the plain path below
        weight_N = None if weight_N is None else weight_N.astype(dtype)
        total = pixels.loss_sum(losses, params, x_ND, y_N, weight_N)
        data_cost = total / (x_ND.shape[0] if weight_N is None else jnp.sum(weight_N))
    else:
        data_cost = mean_loss(losses(params, x_ND, y_N), weight_N)
    if isinstance(l2, (int, float)) and l2 == 0:  # the course's J, with no extra operation
        return data_cost
    squares = jax.tree.reduce(jnp.add, jax.tree.map(lambda a: jnp.sum(jnp.square(a)), model.penalized(params)))
    # where, not 0·‖w‖²: a traced λ = 0 must not turn an overflowing ‖w‖² (a diverging run) into NaN.
    return data_cost + jnp.where(l2 == 0, 0.0, 0.5 * l2 * squares)


def course_gradients(
    params: Params, x_ND: jax.Array, y_N: jax.Array, weight_N: jax.Array | None = None, l2: jax.Array | float = 0.0
) -> Params:
    """The course's backward pass of logistic regression: dw = Xᵀ(A - Y)/m, db = mean(A - Y); weighted by
    s/S, plus λw."""
    dz_N = jax.nn.sigmoid(batched_logit(params, x_ND)) - y_N.astype(params["w"].dtype)
    if weight_N is not None:
        dz_N = weight_N * dz_N * (dz_N.shape[0] / jnp.sum(weight_N))  # s/S, as a mean over m
    x_ND = pixels.as_features(x_ND, dz_N.dtype)
    return {"w": x_ND.T @ dz_N / x_ND.shape[0] + l2 * params["w"], "b": jnp.mean(dz_N)}


def softmax_gradients(
    params: Params,
    x_ND: jax.Array,
    y_N: jax.Array,
    weight_N: jax.Array | None = None,
    l2: jax.Array | float = 0.0,
    model: Model = LOGISTIC,
) -> Params:
    """The hand-derived backward pass of softmax regression (`model` with K outputs): dW = Xᵀ(P - Y)/m,
    db = mean(P - Y) over the examples, Y the one-hot labels; weighted by s/S, plus λW."""
    w_DK = params["w"]
    dz_NK = jax.nn.softmax(batched_logit(params, x_ND, model), axis=-1) - jax.nn.one_hot(
        y_N, num_outputs(model), dtype=w_DK.dtype
    )
    if weight_N is not None:
        dz_NK = dz_NK * (weight_N * (dz_NK.shape[0] / jnp.sum(weight_N)))[:, None]  # s/S, as a mean over m
    x_ND = pixels.as_features(x_ND, dz_NK.dtype)
    return {"w": x_ND.T @ dz_NK / x_ND.shape[0] + l2 * w_DK, "b": jnp.mean(dz_NK, axis=0)}
