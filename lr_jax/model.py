r"""Logistic regression, the smallest neural network: one linear unit and a sigmoid.

For one example x of n features (a flattened image, n = 64*64*3 = 12288):

    z = wᵀx + b            (the logit; forward pass, step 1)
    ŷ = a = σ(z) = 1 / (1 + e^{-z})   (the probability that x shows a cat; step 2)

Parameters are a pytree `{"w": f[n], "b": f[]}`. Everything is written for a single example and batched
with `jax.vmap`, which turns the per-example dot product into one matrix-vector product ("vectorization
replaces the for-loops").

Raw uint8 pixels (any integer dtype) are accepted as they are stored and scaled by 1/255 inside the
compiled step: z = (x / 255)ᵀw + b (see `lr_jax.pixels`, which also chunks the batch for them).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lr_jax import pixels

Params = dict  # {"w": Array[n], "b": Array[]}


def init_params(n_features: int, *, init: str = "zeros", key: jax.Array | None = None,
                scale: float = 0.01, dtype=jnp.float32) -> Params:
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
    if pixels.is_pixels(x_D):
        x_D = x_D.astype(params["w"].dtype) / pixels.PIXEL_MAX  # the course's features, to the last bit
    return jnp.dot(x_D, params["w"]) + params["b"]


def batched_logit(params: Params, x_ND: jax.Array) -> jax.Array:
    """The batched forward pass: params shared, examples along axis 0 of x_ND."""
    if pixels.is_pixels(x_ND):
        return pixels.batched_logit(logit, params, x_ND)
    return jax.vmap(logit, in_axes=(None, 0))(params, x_ND)


def predict_proba(params: Params, x_ND: jax.Array) -> jax.Array:
    """ŷ = σ(wᵀx + b) for each example."""
    return jax.nn.sigmoid(batched_logit(params, x_ND))


def predict(params: Params, x_ND: jax.Array, threshold: float = 0.5) -> jax.Array:
    """1 (cat) where ŷ > threshold, else 0, as int32 - the course's rule."""
    return (predict_proba(params, x_ND) > threshold).astype(jnp.int32)

