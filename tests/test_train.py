"""Training: the compiled optax loop against the course's NumPy gradient descent, and compile counts."""

import dataclasses
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import loss, model, train
from lr_jax.config import Config, TrainConfig
from lr_jax.experiment import initial_state, precision_scope
from tests import course_oracle

COURSE = Config()  # zeros, learning rate 0.005, 2000 iterations


@pytest.fixture(scope="module")
def oracle_run(course_data):
    """The course's NumPy float64 run on the real data (the oracle)."""
    x_train = course_data["train"].features(np.float64)
    w, b, costs = course_oracle.model(x_train.T, course_data["train"].y[None, :])
    preds = {s: course_oracle.predict(w, b, course_data[s].features(np.float64).T) for s in ("train", "test")}
    return {"w": w.ravel(), "b": b, "costs": np.asarray(costs), "preds": preds}


def run_lr_jax(course_data, precision):
    """lr_jax's course run: (params, every cost, predictions per split)."""
    with precision_scope(precision):
        dtype = jnp.float64 if precision == "float64" else jnp.float32
        x = {s: jnp.asarray(course_data[s].features(dtype)) for s in ("train", "test")}
        state, hparams = initial_state(COURSE, x["train"].shape[1], dtype)
        result = train.fit(state, x["train"], course_data["train"].y, hparams, num_steps=2000)
        preds = {s: np.asarray(model.predict(result.state.params, x[s])) for s in x}
        return jax.device_get(result.state.params), np.asarray(result.costs), preds


@pytest.mark.slow
@pytest.mark.parametrize("precision, cost_tol", [("float32", 1e-5), ("float64", 1e-10)])
def test_course_run_matches_numpy_oracle(course_data, oracle_run, precision, cost_tol):
    params, costs, preds = run_lr_jax(course_data, precision)
    assert costs.dtype == np.dtype(precision)
    np.testing.assert_allclose(costs[::100], oracle_run["costs"], rtol=0, atol=cost_tol)
    for split in ("train", "test"):
        np.testing.assert_array_equal(preds[split], oracle_run["preds"][split])
    # The course's published endpoints: cost 0.140872 at 1900, 99.04 % train, 70 % test.
    assert costs[1900] == pytest.approx(0.140872, abs=1e-6)
    assert preds["train"].tolist() == oracle_run["preds"]["train"].tolist()
    assert np.mean(preds["train"] == course_data["train"].y) == pytest.approx(207 / 209)
    assert np.mean(preds["test"] == course_data["test"].y) == pytest.approx(35 / 50)
    if precision == "float64":
        np.testing.assert_allclose(params["w"], oracle_run["w"], rtol=0, atol=1e-10)


def problem(m=20, n=6, dtype=jnp.float32):
    rng = np.random.default_rng(3)
    x_ND = jnp.asarray(rng.uniform(size=(m, n)), dtype)
    y_N = jnp.asarray(rng.integers(0, 2, size=m))
    state, hparams = initial_state(Config(), n, dtype)
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
    return sum(f"jit({fn_name})" in r.getMessage() and r.getMessage().startswith("Compiling")
               for r in caplog.records)


def test_new_learning_rate_does_not_recompile(caplog):
    state, x_ND, y_N, _ = problem(m=11)  # a shape no other test compiles
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        a, _ = train.run_steps(state, x_ND, y_N, train.make_hparams(0.1), num_steps=5)
        b, _ = train.run_steps(state, x_ND, y_N, train.make_hparams(0.7), num_steps=5)
    assert compile_count(caplog) == 1
    assert not np.allclose(a.params["w"], b.params["w"])  # the new rate was used


def test_chunked_fit_is_bit_identical_to_one_call():
    state, x_ND, y_N, hparams = problem()
    seen = []
    whole = train.fit(state, x_ND, y_N, hparams, num_steps=50)
    chunked = train.fit(state, x_ND, y_N, hparams, num_steps=50, chunk_size=15,
                        on_chunk=[lambda s, c: seen.append((int(s.step), c.shape[0]))])
    assert seen == [(15, 15), (30, 15), (45, 15), (50, 5)]
    np.testing.assert_array_equal(chunked.costs, whole.costs)
    np.testing.assert_array_equal(chunked.state.params["w"], whole.state.params["w"])


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
    a, _ = initial_state(cfg, 8, jnp.float32)
    b, _ = initial_state(cfg, 8, jnp.float32)
    c, _ = initial_state(dataclasses.replace(cfg, train=TrainConfig(seed=1)), 8, jnp.float32)
    np.testing.assert_array_equal(a.params["w"], b.params["w"])
    assert not np.array_equal(a.params["w"], c.params["w"])
