"""lr_jax reaches scikit-learn's solution: L2 + L-BFGS to convergence in float64, with and without weights.

scikit-learn minimizes C Σᵢ sᵢLᵢ + ½‖w‖², lr_jax (1/S) Σᵢ sᵢLᵢ + (λ/2)‖w‖² with S = Σᵢ sᵢ: the same
minimizer when C = 1/(λ·S), and S = m both unweighted and with balanced class weights.

scikit-learn's lbfgs also stops on a relative decrease of 64ε in its objective (not settable): on the
course data it ends at ‖∇J‖ ≈ 7e-7 while lr_jax goes to 1e-9 and a (slightly) lower J. That leaves the
intercept alone 2e-4 apart there, so the comparison is on the parameter vector θ = (w, b), in norm.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from lr_jax import loss, optim, runtime, train
from lr_jax.config import Config
from lr_jax.models import logistic as model
from lr_jax.pipelines import stages

RTOL = 1e-4  # ‖θ - θ_sk‖ / ‖θ_sk‖, θ = (w, b)


def sklearn_fit(x_ND, y_N, C, class_weight):
    with threadpool_limits(1):  # 2 shared cores: BLAS threads oversubscribe and run ~10x slower
        return LogisticRegression(C=C, class_weight=class_weight, tol=1e-10, max_iter=10_000).fit(x_ND, y_N)


def assert_same_solution(w_D, b, clf, x_NDs, objective):
    """Same θ within RTOL, a J no higher than scikit-learn's, identical predictions on every x_ND."""
    theta, theta_sk = np.r_[w_D, b], np.r_[clf.coef_[0], clf.intercept_]
    assert np.linalg.norm(theta - theta_sk) / np.linalg.norm(theta_sk) < RTOL
    params = {"w": jnp.asarray(w_D), "b": jnp.asarray(b)}
    sk_params = {"w": jnp.asarray(clf.coef_[0]), "b": jnp.asarray(clf.intercept_[0])}
    assert float(objective(params)) <= float(objective(sk_params)) + 1e-12
    for x_ND in x_NDs:
        np.testing.assert_array_equal(np.asarray(model.predict(params, jnp.asarray(x_ND))), clf.predict(x_ND))


@pytest.mark.slow  # > 2 s on 2 cores
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_synthetic_matches_sklearn(class_weight, rng):
    m, d, lam = 300, 15, 0.05
    x_ND = rng.normal(size=(m, d)) + 0.3
    y_N = (x_ND @ rng.normal(size=d) + rng.normal(size=m) > 2.0).astype(np.int64)  # imbalanced
    clf = sklearn_fit(x_ND, y_N, 1 / (lam * m), class_weight)
    with runtime.precision_scope("float64"):
        weight_N = stages.sample_weights(class_weight, y_N, jnp.float64)
        hparams = optim.make_hparams(0.0, jnp.float64, l2=lam, tol=1e-10)
        state = train.init_state(model.init_params(d, dtype=jnp.float64), hparams, jax.random.key(0), optim="lbfgs")
        result = train.fit(
            state, jnp.asarray(x_ND), jnp.asarray(y_N), hparams, num_steps=1000, optim="lbfgs", weight_N=weight_N
        )
        assert result.converged
        p = jax.device_get(result.state.params)
        objective = lambda q: loss.cost(q, jnp.asarray(x_ND), jnp.asarray(y_N), weight_N, lam)
        assert_same_solution(p["w"], p["b"], clf, [x_ND], objective)


def optimizer_trajectory(opt: optax.GradientTransformation, num_steps: int = 8) -> np.ndarray:
    """The parameters (w, b) after each of `num_steps` updates of `opt` on a small L2-regularized logistic cost."""
    rng = np.random.default_rng(5)
    x_ND = jnp.asarray(rng.normal(size=(24, 8)), jnp.float32)
    y_N = jnp.asarray(rng.integers(0, 2, 24), jnp.int32)
    cost_fn = lambda p: loss.cost(p, x_ND, y_N, l2=0.1)

    def step(carry, _):
        params, opt_state = carry
        value, grads = jax.value_and_grad(cost_fn)(params)
        updates, opt_state = opt.update(grads, opt_state, params, value=value, grad=grads, value_fn=cost_fn)
        params = optax.apply_updates(params, updates)
        return (params, opt_state), jnp.concatenate([params["w"], params["b"][None]])

    params = {"w": jnp.zeros(8, jnp.float32), "b": jnp.zeros((), jnp.float32)}
    _, theta_TD = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), length=num_steps))(params)
    return np.asarray(theta_TD)


# (optim section of the config, the same optimizer built with optax directly, the key whose default must differ).
# Learning rates are powers of two, so lr_jax's `learning_rate * unit_schedule(t)` equals optax's schedule with
# init_value=learning_rate exactly: the same optax code on the same float32 numbers.
OPTIMIZER_MAPPINGS = [
    pytest.param(
        {"name": "sgd", "learning_rate": 0.5, "momentum": 0.9, "nesterov": True},
        lambda: optax.sgd(0.5, momentum=0.9, nesterov=True),
        "nesterov",
        id="sgd-nesterov",
    ),
    pytest.param(
        {"name": "sgd", "learning_rate": 0.5, "schedule": "exponential", "decay_steps": 2, "decay_rate": 0.3},
        lambda: optax.sgd(optax.schedules.exponential_decay(0.5, 2, 0.3)),
        "schedule",
        id="sgd-exponential",
    ),
    pytest.param(
        {"name": "adam", "learning_rate": 0.25, "b1": 0.8, "b2": 0.95, "schedule": "cosine", "decay_steps": 6}
        | {"final_fraction": 0.1},
        lambda: optax.adam(optax.schedules.cosine_decay_schedule(0.25, 6, 0.1), b1=0.8, b2=0.95),
        "schedule",
        id="adam-cosine",
    ),
    pytest.param(
        {"name": "lbfgs", "memory_size": 2},
        lambda: optax.lbfgs(memory_size=2),
        "memory_size",
        id="lbfgs-m2",
        marks=pytest.mark.slow,  # three compiles of the line search: > 10 s on 2 shared cores
    ),
]


@pytest.mark.parametrize("section, direct, changed_key", OPTIMIZER_MAPPINGS)
def test_config_builds_the_optax_optimizer_it_names(section, direct, changed_key):
    """optim.* of the config -> OptimSpec and traced hparams -> the optax optimizer built directly from the values."""
    config = Config.from_dict({"optim": section})
    spec = optim.spec(config.optim)
    static = {k: v for k, v in section.items() if k in optim.OptimSpec._fields}
    assert {k: getattr(spec, k) for k in static} == static
    hparams = optim.config_hparams(config, jnp.float32)
    got = optimizer_trajectory(optim.make_optimizer(spec, hparams))
    # Same code, same float32 inputs: equal up to XLA's freedom to fuse the update differently (a few ulps).
    np.testing.assert_allclose(got, optimizer_trajectory(direct()), rtol=1e-6, atol=1e-7)
    # The key matters: with its default the trajectory is another one (so a mapping that drops it fails above).
    default = optimizer_trajectory(
        optim.make_optimizer(optim.spec(config.optim, **{changed_key: getattr(Config().optim, changed_key)}), hparams)
    )
    assert np.max(np.abs(got - default)) > 1e-3, f"{changed_key} made no difference"
