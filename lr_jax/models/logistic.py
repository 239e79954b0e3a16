r"""Logistic regression, the smallest neural network: one linear unit and a sigmoid.

For one example x of n features (a flattened image, n = 64*64*3 = 12288):

    z = wᵀx + b            (the logit; forward pass, step 1)
    ŷ = a = σ(z) = 1 / (1 + e^{-z})   (the probability that x shows a cat; step 2)

`LogisticModel` is the course's model, with params `{"w": f[n], "b": f[]}`. With `num_outputs` = K > 1 it
is softmax (multinomial) regression over K classes, params `{"w": f[n, K], "b": f[K]}`:

    z = Wᵀx + b  (K logits),     P(class k | x) = softmax(z)_k = e^{z_k} / Σ_j e^{z_j}

It implements the model interface of `lr_jax.models.interface`, through which everything above the models
(loss, training, evaluation, figures) reaches it, never looking inside the params pytree.

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
from lr_jax.models.interface import Model, Params, forward, is_softmax


@dataclasses.dataclass(frozen=True)
class LogisticModel:
    """ŷ = σ(wᵀx + b) (softmax(Wᵀx + b) with `num_outputs` = K > 1); `init_method` "zeros" (the course) or
    "normal" (`init_scale` · N(0, 1))."""

    init_method: str = "zeros"
    init_scale: float = 0.01
    num_outputs: int = 1  # 1: one sigmoid unit (two classes); K: K softmax units

    def init(self, key: jax.Array | None, n_features: int, dtype=jnp.float32) -> Params:
        outputs = None if self.num_outputs == 1 else self.num_outputs
        return init_params(
            n_features, init=self.init_method, key=key, scale=self.init_scale, dtype=dtype, num_outputs=outputs
        )

    def apply(self, params: Params, x_D: jax.Array) -> jax.Array:
        return logit(params, x_D)

    def penalized(self, params: Params) -> Params:
        """The weights; the bias is not penalized."""
        return params["w"]

    def unit_weights(self, params: Params) -> jax.Array:
        """w as one row: the single unit's weight per input value (Wᵀ, a row per class, for K units)."""
        return params["w"][None, :] if params["w"].ndim == 1 else params["w"].T


LOGISTIC = LogisticModel()


def init_params(
    n_features: int,
    *,
    init: str = "zeros",
    key: jax.Array | None = None,
    scale: float = 0.01,
    dtype=jnp.float32,
    num_outputs: int | None = None,
) -> Params:
    """Zeros (the course) or `scale * N(0, 1)` weights from an explicit PRNG key; the bias starts at 0.
    `num_outputs` None: w f[n], b f[] (one sigmoid unit); K: W f[n, K], b f[K]."""
    shape = (n_features,) if num_outputs is None else (n_features, num_outputs)
    if init == "zeros":
        w = jnp.zeros(shape, dtype)
    elif init == "normal":
        if key is None:
            raise ValueError("init='normal' needs a PRNG key")
        w = scale * jax.random.normal(key, shape, dtype)
    else:
        raise ValueError(f"unknown init {init!r}: use 'zeros' or 'normal'")
    return {"w": w, "b": jnp.zeros(shape[1:], dtype)}


def logit(params: Params, x_D: jax.Array) -> jax.Array:
    """z = wᵀx + b for one example (integer pixels are divided by 255 first); the K logits Wᵀx + b for K units."""
    w_D = params["w"]
    return pixels.features_dot(x_D, w_D) + params["b"]


def batched_logit(params: Params, x_ND: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """The batched forward pass: params shared, examples along axis 0 of x_ND."""
    if pixels.is_pixels(x_ND):
        return pixels.batched_logit(forward(model), params, x_ND)
    return forward(model)(params, x_ND)


def predict_proba(params: Params, x_ND: jax.Array, model: Model = LOGISTIC) -> jax.Array:
    """ŷ = σ(z) f[m] for each example; for a softmax model the class probabilities P f[m, K] (rows sum to 1)."""
    z = batched_logit(params, x_ND, model)
    return jax.nn.softmax(z, axis=-1) if is_softmax(model) else jax.nn.sigmoid(z)


def predict(params: Params, x_ND: jax.Array, threshold: float = 0.5, model: Model = LOGISTIC) -> jax.Array:
    """1 (class 1, "cat") where ŷ > threshold, else 0, as int32 - the course's rule; for a softmax model the
    most probable class (the first on a tie; `threshold` is not used)."""
    if is_softmax(model):
        return jnp.argmax(batched_logit(params, x_ND, model), axis=-1).astype(jnp.int32)
    return (predict_proba(params, x_ND, model) > threshold).astype(jnp.int32)
