"""The cost and its gradients: jax.grad vs the course's hand-derived backward pass vs finite differences.

Gradient checks run in float64 (`jax.enable_x64`). Relative error is the course's measure,
‖g1 - g2‖ / (‖g1‖ + ‖g2‖); the threshold 1e-7 is the course's "your backward propagation works
perfectly" bound. Central differences with step h have truncation error O(h²) and rounding error
O(eps/h); h = 1e-6 balances them at ~1e-10 relative, far below the bound.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from lr_jax import loss, runtime
from lr_jax.pipelines import stages
from lr_jax.reference import logistic as reference

REL_TOL = 1e-7


def rel_error(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def flat_grad(g) -> np.ndarray:
    return np.concatenate([np.ravel(g["w"]), np.ravel(g["b"])])


def random_problem(rng, m, n, scale=1.0):
    x_ND = rng.uniform(0, 1, size=(m, n))
    y_N = rng.integers(0, 2, size=m)
    params = {"w": scale * rng.normal(size=n) / np.sqrt(n), "b": np.float64(rng.normal())}
    return x_ND, y_N, params


def central_difference_directional(params, x_ND, y_N, direction, h=1e-6):
    """(J(θ + h d) - J(θ - h d)) / 2h: the derivative of J along d."""
    shift = lambda s: {k: params[k] + s * direction[k] for k in params}
    return (float(loss.cost(shift(h), x_ND, y_N)) - float(loss.cost(shift(-h), x_ND, y_N))) / (2 * h)


def test_cost_equals_course_formula(rng, x64):
    x_ND, y_N, params = random_problem(rng, 50, 20)
    _, course_cost = reference.propagate(params["w"][:, None], params["b"], x_ND.T, y_N[None, :])
    assert float(loss.cost(params, x_ND, y_N)) == pytest.approx(course_cost, rel=1e-13)


@pytest.mark.parametrize("m, n", [(1, 1), (5, 3), (64, 40)])
def test_jax_grad_equals_course_backward_pass(rng, x64, m, n):
    x_ND, y_N, params = random_problem(rng, m, n, scale=3.0)
    g_jax = jax.grad(loss.cost)(params, x_ND, y_N)
    g_course = loss.course_gradients(params, x_ND, y_N)
    assert rel_error(flat_grad(g_jax), flat_grad(g_course)) < REL_TOL
    grads, _ = reference.propagate(params["w"][:, None], params["b"], x_ND.T, y_N[None, :])
    assert rel_error(flat_grad(g_jax), np.append(grads["dw"].ravel(), grads["db"])) < REL_TOL


@pytest.mark.parametrize("m, n", [(5, 3), (30, 12)])
def test_jax_grad_equals_finite_differences_every_coordinate(rng, x64, m, n):
    x_ND, y_N, params = random_problem(rng, m, n, scale=3.0)
    g = flat_grad(jax.grad(loss.cost)(params, x_ND, y_N))
    basis = np.eye(n + 1)
    fd = [central_difference_directional(params, x_ND, y_N, {"w": e[:n], "b": e[n]}) for e in basis]
    assert rel_error(g, fd) < REL_TOL


@pytest.mark.slow  # > 2 s on 2 cores
def test_check_grads_to_second_order(rng, x64):
    x_ND, y_N, params = random_problem(rng, 12, 6, scale=2.0)
    check_grads(
        lambda p: loss.cost(p, x_ND, y_N), (params,), order=2, modes=("fwd", "rev"), eps=1e-4, atol=1e-7, rtol=1e-7
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
    "z, y, expected",
    [
        (1e4, 1, 0.0),
        (-1e4, 1, 1e4),
        (1e4, 0, 1e4),
        (-1e4, 0, 0.0),
        (1e9, 0, 1e9),
        (-1e9, 1, 1e9),
    ],
)
def test_cost_is_exact_at_extreme_logits(x64, dtype, z, y, expected):
    """L = softplus(z) - y z: finite and exact where the course's log(A) form is inf or nan."""
    params = {"w": jnp.zeros(2, dtype), "b": jnp.asarray(z, dtype)}
    x_ND, y_N = jnp.ones((3, 2), dtype), jnp.full(3, y)
    value = loss.cost(params, x_ND, y_N)
    assert value.dtype == dtype
    assert float(value) == expected  # exact: softplus of ±1e4 is 0 or 1e4 to the last bit
    g = jax.grad(loss.cost)(params, x_ND, y_N)
    assert float(g["b"]) == float(z > 0) - y  # σ(z) - y, exactly 0 or ±1
    with np.errstate(all="ignore"):
        _, course_cost = reference.propagate(np.zeros((2, 1)), z, np.ones((2, 3)), np.full((1, 3), y))
    assert not np.isfinite(course_cost)  # what the course's formula gives here


def test_cost_accepts_integer_or_float_labels(rng):
    x_ND, y_N, params = random_problem(rng, 8, 3)
    x_ND, params = x_ND.astype(np.float32), jax.tree.map(lambda a: np.float32(a), params)
    assert float(loss.cost(params, x_ND, y_N)) == float(loss.cost(params, x_ND, y_N.astype(np.float32)))


def test_rank_promotion_raises_for_column_labels(rng):
    """(m, 1) labels against (m,) logits must fail loudly, not broadcast to (m, m)."""
    x_ND, y_N, params = random_problem(rng, 4, 3)
    with pytest.raises(ValueError):
        loss.course_gradients(params, x_ND, y_N[:, None])


# --- Issue 4: sample weights and L2 ---


@pytest.fixture
def weighted_problem(rng):
    x_ND = rng.normal(size=(40, 7))
    y_N = (rng.uniform(size=40) < 0.3).astype(np.int32)
    params = {"w": rng.normal(size=7), "b": np.asarray(0.3)}
    return params, x_ND, y_N


WEIGHTS = {
    "none": lambda y: None,
    "balanced": lambda y: stages.sample_weights("balanced", y, jnp.float64),
    "padding": lambda y: jnp.asarray(np.r_[np.ones(30), np.zeros(10)]),  # 0 = example not there
}


@pytest.mark.slow  # > 2 s on 2 cores
@pytest.mark.parametrize("weights", sorted(WEIGHTS))
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_grad_matches_course_gradients(weighted_problem, weights, l2):
    with runtime.precision_scope("float64"):
        params, x_ND, y_N = jax.tree.map(jnp.asarray, weighted_problem)
        weight_N = WEIGHTS[weights](np.asarray(y_N))
        got = jax.grad(loss.cost)(params, x_ND, y_N, weight_N, l2)
        want = loss.course_gradients(params, x_ND, y_N, weight_N, l2)
        for k in ("w", "b"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-14, err_msg=k)
        check_grads(lambda p: loss.cost(p, x_ND, y_N, weight_N, l2), (params,), order=2, modes=["rev"])


def test_weighted_regularized_cost_formula(weighted_problem):
    with runtime.precision_scope("float64"):
        params, x_ND, y_N = jax.tree.map(jnp.asarray, weighted_problem)
        s_N = jnp.linspace(0.5, 2.0, 40)
        z_N = x_ND @ params["w"] + params["b"]
        p_N = jax.nn.sigmoid(z_N)
        loss_N = -(y_N * jnp.log(p_N) + (1 - y_N) * jnp.log(1 - p_N))
        want = jnp.sum(s_N * loss_N) / jnp.sum(s_N) + 0.15 * jnp.sum(params["w"] ** 2)
        np.testing.assert_allclose(loss.cost(params, x_ND, y_N, s_N, 0.3), want, rtol=1e-12)


def test_unit_weights_and_zero_l2_give_the_course_cost(weighted_problem):
    params, x_ND, y_N = jax.tree.map(jnp.asarray, weighted_problem)
    plain = loss.cost(params, x_ND, y_N)
    np.testing.assert_allclose(loss.cost(params, x_ND, y_N, jnp.ones(40), jnp.asarray(0.0)), plain, rtol=1e-6)


def test_padding_weights_equal_dropping_the_examples(weighted_problem):
    params, x_ND, y_N = jax.tree.map(jnp.asarray, weighted_problem)
    padded = loss.cost(params, x_ND, y_N, WEIGHTS["padding"](y_N), 0.1)
    np.testing.assert_allclose(padded, loss.cost(params, x_ND[:30], y_N[:30], None, 0.1), rtol=1e-6)
