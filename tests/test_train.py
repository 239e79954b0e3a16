"""Training: the compiled optax loop against the course's NumPy gradient descent, and compile counts."""

import dataclasses
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import loss, optim, train
from lr_jax.config import Config, TrainConfig
from lr_jax.models import logistic as model
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.pipelines.stages import initial_state

COURSE = Config()  # zeros, learning rate 0.005, 2000 iterations


def problem(m=20, n=6, dtype=jnp.float32):
    rng = np.random.default_rng(3)
    x_ND = jnp.asarray(rng.uniform(size=(m, n)), dtype)
    y_N = jnp.asarray(rng.integers(0, 2, size=m))
    state, hparams = initial_state(spec_from_config(Config()), n)
    return state, x_ND, y_N, hparams


def test_one_step_is_sgd_on_the_course_gradient():
    state, x_ND, y_N, hparams = problem()
    new_state, cost_T = train.run_steps(state, x_ND, y_N, hparams, num_steps=1)
    g = loss.course_gradients(state.params, x_ND, y_N)
    for k in ("w", "b"):
        np.testing.assert_allclose(new_state.params[k], state.params[k] - 0.005 * g[k], rtol=1e-6, atol=1e-9)
    assert int(new_state.step) == 1 and cost_T.shape == (1,)
    assert float(cost_T[0]) == pytest.approx(np.log(2), rel=1e-6)  # J(0) = log 2


def compile_count(caplog, fn_name="run_steps") -> int:
    return sum(f"jit({fn_name})" in r.getMessage() and r.getMessage().startswith("Compiling") for r in caplog.records)


def test_new_learning_rate_does_not_recompile(caplog):
    state, x_ND, y_N, _ = problem(m=11)  # a shape no other test compiles
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        a, _ = train.run_steps(state, x_ND, y_N, optim.make_hparams(0.1), num_steps=5)
        b, _ = train.run_steps(state, x_ND, y_N, optim.make_hparams(0.7), num_steps=5)
    assert compile_count(caplog) == 1
    assert not np.allclose(a.params["w"], b.params["w"])  # the new rate was used


@pytest.mark.parametrize(
    "chunk_size, chunks",
    [
        (15, [(15, 15), (30, 15), (45, 15), (50, 5)]),  # uneven: a shorter last chunk
        (1, [(i, 1) for i in range(1, 51)]),  # the extreme of checkpoint_every: one-iteration scans, which XLA
    ],
)  # could simplify differently from one 50-iteration scan
def test_chunked_fit_is_bit_identical_to_one_call(chunk_size, chunks):
    """The one test of chunked == whole (checkpoints and the progress bar rely on it): every cost and every
    leaf of the final state (params, optimizer state, step, key), bit for bit."""
    state, x_ND, y_N, hparams = problem()
    seen = []
    whole = train.fit(state, x_ND, y_N, hparams, num_steps=50)
    chunked = train.fit(
        state,
        x_ND,
        y_N,
        hparams,
        num_steps=50,
        chunk_size=chunk_size,
        on_chunk=[lambda s, c: seen.append((int(s.step), c.shape[0]))],
    )
    assert seen == chunks
    np.testing.assert_array_equal(chunked.costs, whole.costs)
    a, b = (r.state._replace(key=jax.random.key_data(r.state.key)) for r in (whole, chunked))  # typed keys
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_fit_continues_a_partway_state():
    state, x_ND, y_N, hparams = problem()
    first = train.fit(state, x_ND, y_N, hparams, num_steps=20)
    resumed = train.fit(first.state, x_ND, y_N, hparams, num_steps=35)
    whole = train.fit(state, x_ND, y_N, hparams, num_steps=35)
    assert resumed.costs.shape == (15,) and int(resumed.state.step) == 35
    np.testing.assert_array_equal(resumed.state.params["w"], whole.state.params["w"])


def test_zero_iterations_returns_the_init():
    state, x_ND, y_N, hparams = problem()
    result = train.fit(state, x_ND, y_N, hparams, num_steps=0)
    assert result.costs.shape == (0,)
    np.testing.assert_array_equal(result.state.params["w"], state.params["w"])


def test_initial_state_normal_init_is_seeded():
    cfg = dataclasses.replace(COURSE, model=dataclasses.replace(COURSE.model, init="normal"))
    a, _ = initial_state(spec_from_config(cfg), 8)
    b, _ = initial_state(spec_from_config(cfg), 8)
    c, _ = initial_state(spec_from_config(dataclasses.replace(cfg, train=TrainConfig(seed=1))), 8)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    assert not np.array_equal(a.params["w"], c.params["w"])


# --- Issue 4: optimizers, schedules, minibatches, stopping on the gradient norm ---

M, D = 50, 6


@pytest.fixture
def synthetic(rng):
    x_ND = rng.normal(size=(M, D)).astype(np.float32)
    y_N = (x_ND @ rng.normal(size=D) + 0.5 * rng.normal(size=M) > 0).astype(np.int32)
    return jnp.asarray(x_ND), jnp.asarray(y_N)


def _fit(data, optimizer="sgd", num_steps=30, seed=0, **kwargs):
    x_ND, y_N = data
    hp = {k: kwargs.pop(k) for k in ("learning_rate", "momentum", "l2", "tol") if k in kwargs}
    hparams = optim.make_hparams(hp.pop("learning_rate", 0.1), **hp)
    state = train.init_state(model.init_params(D), hparams, jax.random.key(seed), optim=optimizer)
    return train.fit(state, x_ND, y_N, hparams, num_steps=num_steps, optim=optimizer, **kwargs)


@pytest.mark.parametrize(
    "optimizer",
    [  # a compile each: the fast lane keeps plain SGD and Adam
        "sgd",
        pytest.param(optim.spec(name="sgd", nesterov=True), marks=pytest.mark.slow),
        "adam",
        pytest.param("lbfgs", marks=pytest.mark.slow),
        pytest.param(optim.spec(name="sgd", schedule="exponential", decay_steps=10), marks=pytest.mark.slow),
        pytest.param(optim.spec(name="adam", schedule="cosine", decay_steps=30), marks=pytest.mark.slow),
    ],
)
def test_every_optimizer_lowers_the_cost(synthetic, optimizer):
    result = _fit(synthetic, optimizer, momentum=0.9)
    assert result.costs.shape == (30,)
    assert float(result.costs[-1]) < 0.6 * float(result.costs[0])


@pytest.mark.parametrize(
    "schedule, at_20",
    [("constant", 0.1), ("exponential", 0.1 * 0.5**2), ("cosine", 0.1 * 0.5 * (1 + np.cos(np.pi * 20 / 40)))],
)
def test_schedules_scale_the_learning_rate(schedule, at_20):
    spec = optim.spec(schedule=schedule, decay_steps=10 if schedule == "exponential" else 40)
    rate = optim.make_schedule(spec, jnp.asarray(0.1))
    value = rate(jnp.asarray(20)) if callable(rate) else rate
    np.testing.assert_allclose(value, at_20, rtol=1e-6)


def test_epoch_batches_visit_every_example_once():
    idx_KB, mask_KB = train.epoch_batches(jax.random.key(3), 23, 5)
    assert idx_KB.shape == mask_KB.shape == (5, 5)
    assert sorted(np.asarray(idx_KB)[np.asarray(mask_KB)].tolist()) == list(range(23))
    assert np.asarray(mask_KB).sum(axis=1).tolist() == [5, 5, 5, 5, 3]  # the last batch padded by 2
    other, _ = train.epoch_batches(jax.random.key(4), 23, 5)
    same, _ = train.epoch_batches(jax.random.key(3), 23, 5)
    assert not np.array_equal(other, idx_KB) and np.array_equal(same, idx_KB)


def test_minibatch_of_m_equals_full_batch(synthetic):
    # One batch of all m rows is the full batch, but gathered through the epoch's permutation first: on a
    # CPU the two programs reduce in the same order and agree bit for bit; on a GPU XLA may order the
    # gathered program's sums differently (seen on an H200: 1 float32 ulp, 6e-8, at 8 of 30 steps).
    # rtol 1e-6 is about 8 float32 ulps: room for such rounding over 30 steps, far below a real difference.
    full = _fit(synthetic, momentum=0.5, l2=0.01)
    batch = _fit(synthetic, momentum=0.5, l2=0.01, batch_size=M)
    np.testing.assert_allclose(batch.costs, full.costs, rtol=1e-6, atol=0)
    for k in ("w", "b"):
        np.testing.assert_allclose(batch.state.params[k], full.state.params[k], rtol=1e-6, atol=1e-9)


@pytest.mark.slow  # > 2 s on 2 cores
def test_minibatch_epoch_is_the_mean_of_its_batch_updates(synthetic):
    """One epoch of B=16 (last batch 2 examples) equals the hand-run sequence of batch updates."""
    x_ND, y_N = synthetic
    result = _fit(synthetic, num_steps=1, batch_size=16, seed=5)
    state = train.init_state(model.init_params(D), optim.make_hparams(0.1), jax.random.key(5))
    idx_KB, mask_KB = train.epoch_batches(jax.random.split(state.key)[1], M, 16)
    params = model.init_params(D)
    for idx_B, mask_B in zip(np.asarray(idx_KB), np.asarray(mask_KB)):
        grads = jax.grad(loss.cost)(params, x_ND[idx_B[mask_B]], y_N[idx_B[mask_B]])
        params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    for k in ("w", "b"):
        np.testing.assert_allclose(result.state.params[k], params[k], rtol=1e-5, atol=1e-7)


def test_minibatch_seed_controls_the_run(synthetic):
    runs = [_fit(synthetic, batch_size=8, seed=s).state.params["w"] for s in (0, 0, 1)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2], rtol=1e-4)


@pytest.mark.slow  # > 2 s on 2 cores
def test_tol_stops_and_freezes_the_state(synthetic):
    result = _fit(synthetic, "lbfgs", num_steps=500, tol=1e-4, chunk_size=7)
    n_iter = int(result.state.step)
    x_ND, y_N = synthetic
    grad_norm = float(
        jnp.linalg.norm(
            jnp.concatenate([g.ravel() for g in jax.tree.leaves(jax.grad(loss.cost)(result.state.params, x_ND, y_N))])
        )
    )
    assert result.converged and 1 < n_iter < 500 and grad_norm < 1e-4
    assert result.costs.shape == (n_iter,) and not np.isnan(result.costs).any()
    hparams = optim.make_hparams(0.1, tol=1e-4)
    again, costs = train.run_steps(result.state, x_ND, y_N, hparams, num_steps=5, optim="lbfgs")
    assert int(again.step) == n_iter and np.isnan(costs).all()  # already converged: nothing runs


def test_tol_zero_runs_the_fixed_count(synthetic):
    result = _fit(synthetic, num_steps=40)
    assert not result.converged and int(result.state.step) == 40 and result.costs.shape == (40,)


def test_new_hyperparameter_values_do_not_recompile(synthetic):
    x_ND, y_N = synthetic
    state = train.init_state(model.init_params(D), optim.make_hparams(0.1), jax.random.key(0))
    before = None
    for lr, l2, tol in [(0.1, 0.0, 0.0), (0.2, 0.5, 1e-3), (0.05, 0.1, 0.0)]:
        train.run_steps(state, x_ND, y_N, optim.make_hparams(lr, l2=l2, tol=tol), num_steps=3, batch_size=16)
        before = before or train.run_steps._cache_size()
    assert train.run_steps._cache_size() == before
