"""Training on the course data: the compiled optax loop against the course's NumPy gradient descent, and
finite costs under abuse (raw pixels, learning rates up to 10)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import optim, train
from lr_jax.config import Config
from lr_jax.models import logistic as model
from lr_jax.pipelines import stages
from lr_jax.pipelines.spec import spec_from_config
from lr_jax.pipelines.stages import initial_state
from lr_jax.reference import logistic as reference
from lr_jax.runtime import precision_scope


@pytest.mark.slow
@pytest.mark.parametrize("scale, learning_rate", [(False, 0.005), (False, 1.0), (False, 10.0), (True, 10.0)])
def test_costs_stay_finite_under_abuse(course_data, scale, learning_rate):
    """Raw 0-255 pixels and learning rates up to 10: 2000 iterations, every cost finite (the loss is
    computed from the logit, so saturated sigmoids give 0 or |z|, never log(0))."""
    config = Config()
    x_ND = jnp.asarray(course_data["train"].features(np.float32, scale))
    y_N = jnp.asarray(course_data["train"].y, jnp.int32)
    state, _ = stages.initial_state(spec_from_config(config), x_ND.shape[1])
    result = train.fit(state, x_ND, y_N, optim.make_hparams(learning_rate), num_steps=2000)
    costs = np.asarray(result.costs)
    assert np.isfinite(costs).all(), f"non-finite costs at iterations {np.flatnonzero(~np.isfinite(costs))[:5]}"
    assert np.isfinite(np.asarray(result.state.params["w"])).all()


@pytest.fixture(scope="module")
def oracle_run(course_data):
    """The course's NumPy float64 run on the real data (the oracle)."""
    x_train = course_data["train"].features(np.float64)
    w, b, costs = reference.model(x_train.T, course_data["train"].y[None, :])
    preds = {s: reference.predict(w, b, course_data[s].features(np.float64).T) for s in ("train", "test")}
    return {"w": w.ravel(), "b": b, "costs": np.asarray(costs), "preds": preds}


def run_lr_jax(course_data, precision):
    """lr_jax's course run: (params, every cost, predictions per split)."""
    with precision_scope(precision):
        dtype = jnp.float64 if precision == "float64" else jnp.float32
        x = {s: jnp.asarray(course_data[s].features(dtype)) for s in ("train", "test")}
        config = dataclasses.replace(COURSE, train=dataclasses.replace(COURSE.train, precision=precision))
        state, hparams = initial_state(spec_from_config(config), x["train"].shape[1])
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


COURSE = Config()  # zeros, learning rate 0.005, 2000 iterations
