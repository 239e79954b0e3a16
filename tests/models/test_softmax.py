"""Softmax regression (K classes): the model's shapes, its cost and gradients, predict_proba and predict.

Gradient checks run in float64 (`jax.enable_x64`), as tests/test_loss.py's for the sigmoid: relative error
‖g1 - g2‖ / (‖g1‖ + ‖g2‖) below the course's 1e-7. Central differences with step h = 1e-6 carry truncation
error O(h²) and rounding error O(eps/h), about 1e-10 relative: far below the bound on any CPU or GPU (the
products run in float64, where TF32 does not apply).
"""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from lr_jax import loss, models, optim, train
from lr_jax.models import logistic
from lr_jax.pixels import PIXEL_MAX

REL_TOL = 1e-7
K = 4


def rel_error(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def flat(g) -> np.ndarray:
    return np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(g)])


def softmax_problem(rng, m, n, k=K, scale=2.0):
    x_ND = rng.uniform(0, 1, size=(m, n))
    y_N = rng.integers(0, k, size=m)
    params = {"w": scale * rng.normal(size=(n, k)) / np.sqrt(n), "b": rng.normal(size=k)}
    return x_ND, y_N, params


SOFTMAX = models.LogisticModel(num_outputs=K)


def test_init_shapes_and_the_binary_model_unchanged():
    params = SOFTMAX.init(None, 6, jnp.float32)
    assert params["w"].shape == (6, K) and params["b"].shape == (K,)
    binary = models.LogisticModel().init(None, 6, jnp.float32)
    assert binary["w"].shape == (6,) and binary["b"].shape == ()
    assert models.LogisticModel() == models.LOGISTIC and not models.is_softmax(models.LOGISTIC)
    assert models.is_softmax(SOFTMAX) and models.num_outputs(SOFTMAX) == K
    drawn = models.LogisticModel(init_method="normal", num_outputs=K).init(jax.random.key(0), 6, jnp.float32)
    assert drawn["w"].shape == (6, K) and float(jnp.abs(drawn["w"]).max()) > 0


def test_cost_is_the_mean_negative_log_probability_of_the_true_class(rng, x64):
    x_ND, y_N, params = softmax_problem(rng, 30, 5)
    z_NK = x_ND @ params["w"] + params["b"]
    p_NK = np.exp(z_NK - z_NK.max(1, keepdims=True))
    p_NK /= p_NK.sum(1, keepdims=True)
    expected = -np.mean(np.log(p_NK[np.arange(30), y_N]))
    assert float(loss.cost(params, x_ND, y_N, model=SOFTMAX)) == pytest.approx(expected, rel=1e-13)
    proba = np.asarray(logistic.predict_proba(params, x_ND, SOFTMAX))
    np.testing.assert_allclose(proba, p_NK, rtol=1e-13)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(logistic.predict(params, x_ND, model=SOFTMAX), p_NK.argmax(1))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_jax_grad_equals_the_hand_formula(rng, x64, weighted, l2):
    """∂J/∂W = Xᵀ(s ⊙ (P - onehot(y)))/S + λW, ∂J/∂b = Σ sᵢ(pᵢ - onehot(yᵢ))/S: the bias is not penalized."""
    x_ND, y_N, params = softmax_problem(rng, 40, 7)
    weight_N = rng.uniform(0, 2, size=40) if weighted else None
    g_jax = jax.grad(loss.cost)(params, x_ND, y_N, weight_N, l2, SOFTMAX)
    g_hand = loss.softmax_gradients(params, x_ND, y_N, weight_N, l2, SOFTMAX)
    assert rel_error(flat(g_jax), flat(g_hand)) < REL_TOL


@pytest.mark.slow  # check_grads to order 2 compiles each derivative; test_jax_grad_equals_the_hand_formula stays fast
def test_check_grads_against_central_differences(rng, x64):
    x_ND, y_N, params = softmax_problem(rng, 12, 5)
    weight_N = rng.uniform(0, 2, size=12)
    check_grads(
        lambda p: loss.cost(p, x_ND, y_N, weight_N, 0.1, SOFTMAX),
        (params,),
        order=1,
        modes=("fwd", "rev"),
        eps=1e-6,
        atol=REL_TOL,
        rtol=REL_TOL,
    )


def test_cost_is_exact_at_extreme_logits(x64):
    """logsumexp(z) - z_y: finite for logits of ±1e9, where a softmax rounds to exact 0 and 1."""
    params = {"w": jnp.zeros((1, 3)), "b": jnp.array([1e9, -1e9, 0.0])}
    x_ND = jnp.zeros((2, 1))
    assert float(loss.cost(params, x_ND, jnp.array([0, 0]), model=models.LogisticModel(num_outputs=3))) == 0.0
    wrong = float(loss.cost(params, x_ND, jnp.array([1, 1]), model=models.LogisticModel(num_outputs=3)))
    assert wrong == pytest.approx(2e9, rel=1e-15)


@pytest.mark.slow  # > 3 s on 2 shared cores: the chunked pass compiles its loop
def test_pixels_are_scaled_and_chunked_as_features(rng, x64):
    """uint8 pixels give the cost and gradient of their features x / 255, also through the chunked pass (rows
    past MIN_CHUNKS · chunk_rows): the same sums in another order, so equal to 1e-12 relative in float64."""
    x_pixels = rng.integers(0, 256, size=(300, 6), dtype=np.uint8)
    x_ND = x_pixels / PIXEL_MAX
    _, y_N, params = softmax_problem(rng, 300, 6, scale=1.0)
    for fn in (loss.cost, jax.grad(loss.cost)):
        a, b = fn(params, x_pixels, y_N, None, 0.0, SOFTMAX), fn(params, x_ND, y_N, None, 0.0, SOFTMAX)
        assert rel_error(flat(a), flat(b)) < 1e-12
    np.testing.assert_allclose(
        logistic.predict_proba(params, x_pixels, SOFTMAX), logistic.predict_proba(params, x_ND, SOFTMAX), rtol=1e-12
    )


@pytest.mark.slow  # > 3 s on 2 shared cores (a forward, a cost and a gradient check per case)
@pytest.mark.parametrize("hidden", [(), (5,)])
def test_mlp_with_k_outputs(rng, x64, hidden):
    """The MLP's output layer has K units; with no hidden layer it is softmax regression, the same numbers."""
    mlp = models.MLP(hidden=hidden, init_method="xavier", num_outputs=K)
    params = mlp.init(jax.random.key(1), 6, jnp.float64)
    x_ND, y_N, _ = softmax_problem(rng, 20, 6)
    assert params[f"W{len(hidden) + 1}"].shape == ((hidden or (6,))[-1], K)
    z_NK = models.forward(mlp)(params, x_ND)
    assert z_NK.shape == (20, K)
    np.testing.assert_allclose(jax.vmap(mlp.apply, in_axes=(None, 0))(params, x_ND), z_NK, rtol=1e-12)
    if not hidden:
        as_logistic = {"w": params["W1"], "b": params["b1"]}
        assert float(loss.cost(params, x_ND, y_N, model=mlp)) == pytest.approx(
            float(loss.cost(as_logistic, x_ND, y_N, model=SOFTMAX)), rel=1e-13
        )
    check_grads(lambda p: loss.cost(p, x_ND, y_N, None, 0.1, mlp), (params,), order=1, modes=("rev",), eps=1e-6)


def test_one_training_step_is_sgd_on_the_hand_gradient_and_compiles_once(rng, caplog):
    """train.run_steps with a softmax model: one step is W - α(Xᵀ(P - Y)/m), b - α·mean(P - Y); a new
    learning rate reuses the compiled program. Float32: the two sides sum in different orders (jax.grad's
    transposed product against the hand formula's), within a few ulps of the update, far below 1e-6."""
    x_ND = jnp.asarray(rng.uniform(size=(13, 5)), jnp.float32)
    y_N = jnp.asarray(rng.integers(0, K, size=13))
    params = SOFTMAX.init(None, 5, jnp.float32)
    state = train.init_state(params, optim.make_hparams(0.5), jax.random.key(0))
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        new, cost_T = train.run_steps(state, x_ND, y_N, optim.make_hparams(0.5), num_steps=1, model=SOFTMAX)
        other, _ = train.run_steps(state, x_ND, y_N, optim.make_hparams(0.7), num_steps=1, model=SOFTMAX)
    compiles = [r for r in caplog.records if "jit(run_steps)" in r.getMessage() and "Compiling" in r.getMessage()]
    assert len(compiles) == 1
    g = loss.softmax_gradients(params, x_ND, y_N, model=SOFTMAX)
    for k in ("w", "b"):
        np.testing.assert_allclose(new.params[k], params[k] - 0.5 * g[k], rtol=1e-6, atol=1e-7)
    assert float(cost_T[0]) == pytest.approx(np.log(K), rel=1e-6)  # zeros: P = 1/K
    assert not np.allclose(other.params["w"], new.params["w"])
