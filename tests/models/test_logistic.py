"""The forward pass: logit for one example, batched with vmap; probabilities and the 0.5 rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax.models import logistic as model


def test_init_zeros_matches_course():
    params = model.init_params(12288)
    assert params["w"].shape == (12288,) and params["b"].shape == ()
    assert not np.any(params["w"]) and float(params["b"]) == 0.0


def test_init_normal_is_seeded_and_scaled():
    a = model.init_params(10_000, init="normal", key=jax.random.key(1), scale=0.01)
    b = model.init_params(10_000, init="normal", key=jax.random.key(1), scale=0.01)
    c = model.init_params(10_000, init="normal", key=jax.random.key(2), scale=0.01)
    np.testing.assert_array_equal(a["w"], b["w"])
    assert not np.array_equal(a["w"], c["w"])
    assert np.std(a["w"]) == pytest.approx(0.01, rel=0.05)  # 10k draws: sd of the sd estimate ~0.7 %


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_init_keeps_dtype(dtype):
    params = model.init_params(3, dtype=dtype)
    assert params["w"].dtype == dtype and params["b"].dtype == dtype


def test_batched_logit_is_the_matrix_product(rng):
    x_ND = rng.normal(size=(7, 5)).astype(np.float32)
    params = {"w": rng.normal(size=5).astype(np.float32), "b": np.float32(0.3)}
    z_N = model.batched_logit(params, x_ND)
    assert z_N.shape == (7,)
    np.testing.assert_allclose(z_N, x_ND @ params["w"] + params["b"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(z_N[2], model.logit(params, x_ND[2]), rtol=1e-6)


@pytest.mark.parametrize(
    "b, expected_class, expected_proba",
    [
        (0.0, 0, 0.5),  # exactly 0.5 is not "> 0.5": the course predicts non-cat
        (1e-3, 1, 0.50025),
        (-1e-3, 0, 0.49975),
        (40.0, 1, 1.0),
        (-40.0, 0, 0.0),
    ],
)
def test_predict_thresholds_probability(b, expected_class, expected_proba):
    params = {"w": jnp.zeros(3), "b": jnp.asarray(b, jnp.float32)}
    x_ND = jnp.ones((2, 3))
    np.testing.assert_allclose(model.predict_proba(params, x_ND), expected_proba, atol=1e-6)
    np.testing.assert_array_equal(model.predict(params, x_ND), [expected_class] * 2)


def test_predict_custom_threshold():
    params = {"w": jnp.zeros(1), "b": jnp.asarray(0.0)}  # ŷ = 0.5 everywhere
    np.testing.assert_array_equal(model.predict(params, jnp.ones((1, 1)), threshold=0.4), [1])
