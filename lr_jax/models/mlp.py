r"""A fully connected network (multilayer perceptron): the course's L-layer model, for one example.

With hidden widths n₁ … n_{L-1} and an activation g (relu, leaky_relu, tanh or sigmoid), for x of n₀ features:

    a⁰ = x,   aˡ = g(aˡ⁻¹ Wˡ + bˡ)  (l < L),   z = (a^{L-1} W^L + b^L)₀,   ŷ = σ(z)

where Wˡ is (n_{l-1}, n_l) and bˡ is (n_l,). `apply` returns the logit z; the loss and the sigmoid of the
output are `lr_jax.loss`'s, as for logistic regression. With no hidden layer this *is* logistic regression
(params `{"W1": f[n, 1], "b1": f[1]}` instead of `{"w": f[n], "b": f[]}`, the same numbers).

Params are a flat dict `{"W1", "b1", …, "WL", "bL"}` — the course's `parameters` names, one entry per
layer's (W, b), in the layout a single example multiplies from the left (the course's W is our Wᵀ). L2 acts
on the W's only; `unit_weights` is W¹ᵀ: one row per first-layer unit, the input weights drawn in
`weights.png`.

Initializations (biases are zeros): `he` N(0, 2/n_in), `xavier` (Glorot) N(0, 2/(n_in + n_out)), `normal`
init_scale·N(0, 1), `zeros` (no hidden layer only: hidden units from zeros would stay identical), and
`course`: the notebook's NumPy draws from `RandomState(course_seed)` in its order and (n_out, n_in) layout,
transposed into ours (`lr_jax.reference.deep.course_parameters`).

`apply` is the network for one example. `batched_apply` is the same network over a batch, which the loss and
the forward pass use (`model.forward`): its first layer is one product X W¹ whose gradient ∂J/∂W¹ = Xᵀ dZ is
computed as (dZᵀ X)ᵀ (`_batch_times_weights`, a `custom_vjp`). XLA's CPU backend runs Xᵀ dZ, which sums over
X's rows, through a slower kernel than the plain product dZᵀ X, and for 12288 inputs that product is
most of a training step (`scripts/bench/mlp.py` measures the steps). `apply` stays plain JAX, so
per-example gradients (`vmap(grad(apply))`) and forward mode work as for any function.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import pixels
from lr_jax.models.interface import Params
from lr_jax.reference import deep as reference_deep

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,  # slope 0.01 for z < 0
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
}


@dataclasses.dataclass(frozen=True)
class MLP:
    """Hidden layers of `hidden` widths with `activation`, then one sigmoid output unit (or `num_outputs` = K
    softmax units)."""

    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    init_method: str = "he"
    init_scale: float = 0.01
    course_seed: int = 1  # RandomState seed of init_method="course" (model.course_seed, null = train.seed)
    num_outputs: int = 1  # 1: one sigmoid unit (two classes); K: K softmax units

    def layer_sizes(self, n_features: int) -> tuple[int, ...]:
        """(n₀, n₁, …, 1): the course's `layers_dims` (K output units instead of 1 for a softmax)."""
        return (n_features, *self.hidden, self.num_outputs)

    def init(self, key: jax.Array | None, n_features: int, dtype=jnp.float32) -> Params:
        sizes = self.layer_sizes(n_features)
        if self.init_method == "course":
            return course_params(sizes, self.course_seed, dtype)
        if self.init_method == "zeros" and self.hidden:
            raise ValueError("init 'zeros' leaves every hidden unit identical: use he, xavier, normal or course")
        keys = jax.random.split(key, len(sizes) - 1) if key is not None else [None] * (len(sizes) - 1)
        params = {}
        for layer, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
            params[f"W{layer}"] = _draw(self.init_method, k, n_in, n_out, self.init_scale, dtype)
            params[f"b{layer}"] = jnp.zeros((n_out,), dtype)
        return params

    def apply(self, params: Params, x_D: jax.Array) -> jax.Array:
        """The logit z of one example (integer pixels divided by 255 first); K logits for K output units."""
        z = self._layers(params, pixels.as_features(x_D, params["W1"].dtype) @ params["W1"])
        return z[0] if self.num_outputs == 1 else z

    def batched_apply(self, params: Params, x_ND: jax.Array) -> jax.Array:
        """The logits z[m] of a batch: `apply` of each example, with ∂J/∂W¹ as (dZᵀ X)ᵀ."""
        x_ND = pixels.as_features(x_ND, params["W1"].dtype)
        z = self._layers(params, _batch_times_weights(x_ND, params["W1"]))
        return z[:, 0] if self.num_outputs == 1 else z

    def _layers(self, params: Params, xw1: jax.Array) -> jax.Array:
        """From the first layer's product x W¹ (one example or a batch) to the output layer's z."""
        g = ACTIVATIONS[self.activation]
        bias = lambda layer: jnp.expand_dims(params[f"b{layer}"], tuple(range(xw1.ndim - 1)))  # a row per example
        z = xw1 + bias(1)
        for layer in range(2, len(params) // 2 + 1):
            z = g(z) @ params[f"W{layer}"] + bias(layer)
        return z

    def penalized(self, params: Params) -> Params:
        """The weight matrices; biases are not penalized."""
        return [v for k, v in params.items() if k.startswith("W")]

    def unit_weights(self, params: Params) -> jax.Array:
        """W¹ᵀ: row j holds the input weights of first-layer unit j."""
        return params["W1"].T


@jax.custom_vjp
def _batch_times_weights(x_ND: jax.Array, w_DH: jax.Array) -> jax.Array:
    """X W¹, with ∂/∂W¹ = Xᵀ dZ computed as (dZᵀ X)ᵀ."""
    return x_ND @ w_DH


def _batch_times_weights_fwd(x_ND, w_DH):
    return x_ND @ w_DH, (x_ND, w_DH)


def _batch_times_weights_bwd(residuals, dz_NH):
    x_ND, w_DH = residuals
    # The barriers keep XLA from folding the two small transposes back into Xᵀ dZ; dX (unused by
    # training, so XLA drops it) is kept for gradients with respect to the input.
    barrier = jax.lax.optimization_barrier
    dw_HD = barrier(barrier(dz_NH.T) @ x_ND)
    return dz_NH @ w_DH.T, dw_HD.T


_batch_times_weights.defvjp(_batch_times_weights_fwd, _batch_times_weights_bwd)


def _draw(method: str, key, n_in: int, n_out: int, scale: float, dtype) -> jax.Array:
    if method == "zeros":
        return jnp.zeros((n_in, n_out), dtype)
    if key is None:
        raise ValueError(f"init {method!r} needs a PRNG key")
    std = {"he": np.sqrt(2 / n_in), "xavier": np.sqrt(2 / (n_in + n_out)), "normal": scale}[method]
    return std * jax.random.normal(key, (n_in, n_out), dtype)


def course_params(sizes: tuple[int, ...], seed: int, dtype) -> Params:
    """The notebook's parameters (zeros for logistic regression, its own init), in this module's layout."""
    if len(sizes) == 2:
        return {"W1": jnp.zeros(sizes, dtype), "b1": jnp.zeros(sizes[1:], dtype)}
    course = reference_deep.course_parameters(list(sizes), seed=seed)  # float64 draws, then cast
    return {k: jnp.asarray(v.T if k.startswith("W") else v[:, 0], dtype) for k, v in course.items()}
