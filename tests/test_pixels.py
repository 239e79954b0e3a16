"""uint8 pixels scaled inside the step: same numbers as float features, no float copy of X."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import data, pixels
from lr_jax.loss import cost
from lr_jax.models import logistic as model


def _params(rng, n):
    return {"w": jnp.asarray(rng.normal(size=n) * 0.01, jnp.float32), "b": jnp.asarray(0.1, jnp.float32)}


@pytest.mark.slow  # > 2 s on 2 cores (compiles per chunk size)
@pytest.mark.parametrize("m, chunk_rows", [(7, 256), (1000, 250), (1000, 100), (1000, 33)])
def test_uint8_cost_and_gradient_match_float_features(rng, monkeypatch, m, chunk_rows):
    monkeypatch.setitem(pixels.CHUNK_ROWS, "cpu", chunk_rows)  # whole chunks only, and a tail
    x_u8 = rng.integers(0, 256, (m, 300), dtype=np.uint8)
    y = rng.integers(0, 2, m)
    params = _params(rng, 300)
    x_f = jnp.asarray(data.flatten_and_scale(x_u8))
    c_u8, g_u8 = jax.value_and_grad(cost)(params, jnp.asarray(x_u8), y)
    c_f, g_f = jax.value_and_grad(cost)(params, x_f, y)
    np.testing.assert_allclose(c_u8, c_f, rtol=1e-6)
    np.testing.assert_allclose(g_u8["w"], g_f["w"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_u8["b"], g_f["b"], rtol=1e-5, atol=1e-7)


@pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="sized for the CPU's 64-row chunks; accelerators chunk from 4 x 32768 rows"
)
def test_gradient_step_never_holds_a_float_copy_of_the_data(rng):
    m, n = 4096, 3072  # 12.6 MB of uint8; a float32 copy would be 50 MB
    x = jnp.asarray(rng.integers(0, 256, (m, n), dtype=np.uint8))
    compiled = jax.jit(jax.grad(cost)).lower(_params(rng, n), x, jnp.zeros(m, jnp.int32)).compile()
    temp_bytes = compiled.memory_analysis().temp_size_in_bytes
    assert temp_bytes < m * n, f"{temp_bytes} bytes of temporaries for {m * n} bytes of pixels"


def test_predict_on_uint8_matches_float(rng):
    x_u8 = rng.integers(0, 256, (50, 30), dtype=np.uint8)
    params = _params(rng, 30)
    np.testing.assert_allclose(
        model.predict_proba(params, jnp.asarray(x_u8)),
        model.predict_proba(params, jnp.asarray(data.flatten_and_scale(x_u8))),
        rtol=1e-6,
    )


def test_training_gets_small_pixels_as_features_and_large_ones_as_stored(rng):
    # pixels.for_training: below MIN_CHUNKS chunks the training program takes float features, converted
    # once by the same XLA conversion as inside a step (so bit for bit what `as_features` gives there);
    # from MIN_CHUNKS chunks on the uint8 pixels stay as stored, for the chunked pass.
    rows = pixels.MIN_CHUNKS * pixels.chunk_rows()
    small = jnp.asarray(rng.integers(0, 256, (rows - 1, 5)), jnp.uint8)
    got = pixels.for_training(small, jnp.float32)
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(got, jax.jit(lambda x: pixels.as_features(x, jnp.float32))(small))
    large = jnp.asarray(rng.integers(0, 256, (rows, 5)), jnp.uint8)
    assert pixels.for_training(large, jnp.float32) is large
    features = jnp.asarray(rng.random((3, 5)), jnp.float32)  # already features: as they are
    assert pixels.for_training(features, jnp.float32) is features


def test_fused_sum_of_products_equals_the_dot_product(monkeypatch, x64):
    # The two forms of (x / 255)ᵀw that `pixels.FUSED_REDUCTION_BACKENDS` chooses between, for a batch of
    # uint8 rows in float64: they add the same 300 products in another order, so they agree to a few ulps
    # of the sum (1e-12 relative is ~4500 float64 ulps, far below any real difference), on any backend.
    x_ND = np.random.default_rng(0).integers(0, 256, (50, 300), dtype=np.uint8)
    w_D = np.random.default_rng(1).normal(size=300)
    dot = np.asarray(jax.vmap(pixels.features_dot, in_axes=(0, None))(x_ND, jnp.asarray(w_D)))
    monkeypatch.setattr(pixels, "FUSED_REDUCTION_BACKENDS", {jax.default_backend()})
    fused = np.asarray(jax.vmap(pixels.features_dot, in_axes=(0, None))(x_ND, jnp.asarray(w_D)))
    np.testing.assert_allclose(fused, dot, rtol=1e-12)
    np.testing.assert_allclose(dot, (x_ND / 255.0) @ w_D, rtol=1e-12)
