r"""Logistic regression, the smallest neural network: one linear unit and a sigmoid.

For one example x of n features (a flattened image, n = 64*64*3 = 12288):

    z = wᵀx + b            (the logit; forward pass, step 1)
    ŷ = a = σ(z) = 1 / (1 + e^{-z})   (the probability that x shows a cat; step 2)

`LogisticModel` is the course's model, with params `{"w": f[n], "b": f[]}`; it implements the model
interface of `lr_jax.models.interface`, through which everything above the models (loss, training,
evaluation, figures) reaches it, never looking inside the params pytree.

Everything is written for a single example and batched with `jax.vmap`, which turns the per-example dot
product into one matrix-vector product ("vectorization replaces the for-loops"). Raw uint8 pixels (any
integer dtype) are accepted as they are stored and scaled by 1/255 inside the compiled step:
z = (x / 255)ᵀw + b (see `lr_jax.pixels`, which also chunks the batch for them).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from lr_jax import pixels
from lr_jax.models.interface import Model, Params, forward


@dataclasses.dataclass(frozen=True)
class LogisticModel:
    """ŷ = σ(wᵀx + b); `init_method` "zeros" (the course) or "normal" (`init_scale` · N(0, 1))."""

    init_method: str = "zeros"
    init_scale: float = 0.01
    first_layer = "w"  # the weights whose product X w is all the model makes of x (lr_jax.span)

    def init(self, key: jax.Array | None, n_features: int, dtype=jnp.float32) -> Params:
        return init_params(n_features, init=self.init_method, key=key, scale=self.init_scale, dtype=dtype)

    def apply(self, params: Params, x_D: jax.Array) -> jax.Array:
        return logit(params, x_D)

    def from_first_layer(self, params: Params, xw_N: jax.Array) -> jax.Array:
        """The logits z[m] from the first layer's products X w (params["w"] unused)."""
        return xw_N + params["b"]

    def penalized(self, params: Params) -> Params:
        """The weights; the bias is not penalized."""
        return params["w"]

    def unit_weights(self, params: Params) -> jax.Array:
        """w as one row: the single unit's weight per input value."""
        return params["w"][None, :]


LOGISTIC = LogisticModel()


def init_params(
    n_features: int, *, init: str = "zeros", key: jax.Array | None = None, scale: float = 0.01, dtype=jnp.float32
) -> Params:
    """Zeros (the course) or `scale * N(0, 1)` weights from an explicit PRNG key; the bias starts at 0."""
    if init == "zeros":
        w_D = jnp.zeros((n_features,), dtype)
    elif init == "normal":
        if key is None:
            raise ValueError("init='normal' needs a PRNG key")
        w_D = scale * jax.random.normal(key, (n_features,), dtype)
    else:
        raise ValueError(f"unknown init {init!r}: use 'zeros' or 'normal'")
    return {"w": w_D, "b": jnp.zeros((), dtype)}


def logit(params: Params, x_D: jax.Array) -> jax.Array:
    """z = wᵀx + b for one example (integer pixels are divided by 255 first)."""
    w_D = params["w"]
    return pixels.features_dot(x_D, w_D) + params["b"]


def batched_logit(params: Params, x_ND: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """The batched forward pass: params shared, examples along axis 0 of x_ND."""
    if pixels.is_pixels(x_ND):
        return pixels.batched_logit(forward(model), params, x_ND)
    return forward(model)(params, x_ND)


def predict_proba(params: Params, x_ND: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """ŷ = σ(z) for each example."""
    return jax.nn.sigmoid(batched_logit(params, x_ND, model))


def predict(params: Params, x_ND: jax.Array, threshold: float = 0.5, model: Model = LOGISTIC) -> jax.Array:
    """1 (class 1, "cat") where ŷ > threshold, else 0, as int32 - the course's rule."""
    return (predict_proba(params, x_ND, model) > threshold).astype(jnp.int32)
