"""lr_jax.sklearn.solvers: the warm-started path of strengths reaches the same minimizers as cold fits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from lr_jax.loss import cost
from lr_jax.runtime import precision_scope
from lr_jax.sklearn.solvers import grad_max, lbfgs_paths

TOL = 1e-10  # max |∂J/∂θ| at which both fits stop (unless J stops decreasing first)


def _distance_bound(theta_a, theta_b, l2, x_ND, y_N) -> float:
    """2 (‖∇J(a)‖₂ + ‖∇J(b)‖₂) / μ: each point lies within ‖∇J‖₂/μ of the minimizer, μ the smallest Hessian
    eigenvalue (taken at b: the points are ~1e-8 from the minimizer, where it changes far less than the
    factor 2 of margin). Both fits stop at max |∇J| <= tol or when J stops decreasing (scipy's ftol)."""
    flat, unravel = ravel_pytree(theta_b)
    hessian = jax.hessian(lambda f: cost(unravel(f), x_ND, y_N, None, l2))(flat)
    grad_norm = lambda t: float(jnp.linalg.norm(ravel_pytree(jax.grad(cost)(t, x_ND, y_N, None, l2))[0]))
    return 2 * (grad_norm(theta_a) + grad_norm(theta_b)) / float(np.linalg.eigvalsh(np.asarray(hessian))[0])


@pytest.mark.slow  # float64 L-BFGS to 1e-10 at 6 strengths, twice (> 2 s on 2 cores)
def test_warm_path_matches_cold_fits():
    x_ND, y_N = load_breast_cancer(return_X_y=True)
    x_ND = StandardScaler().fit_transform(x_ND)
    l2_C = 1.0 / (np.logspace(-3, 2, 6) * len(y_N))  # scikit-learn's Cs ascending: strongest λ first
    with precision_scope("float64"):
        x, y, m = jnp.asarray(x_ND), jnp.asarray(y_N, jnp.float64), len(y_N)
        rows_and_weights = lambda g: (jnp.tile(jnp.arange(m), (g, 1)), jnp.ones((g, m)))  # every row, weight 1
        zeros = lambda g: {"w": jnp.zeros((g, x_ND.shape[1])), "b": jnp.zeros(g)}
        limits = lambda shape: (jnp.full(shape, 2000, jnp.int32), jnp.asarray(TOL))
        warm, warm_n_iter = lbfgs_paths(zeros(1), x, y, *rows_and_weights(1), jnp.asarray(l2_C[None]), *limits((1, 6)))
        cold, cold_n_iter = lbfgs_paths(
            zeros(6), x, y, *rows_and_weights(6), jnp.asarray(l2_C[:, None]), *limits((6, 1))
        )
        for c, l2 in enumerate(l2_C):
            theta_warm = jax.tree.map(lambda a, c=c: a[0, c], warm)
            theta_cold = jax.tree.map(lambda a, c=c: a[c, 0], cold)
            assert float(grad_max(jax.grad(cost)(theta_warm, x, y, None, l2))) < 1e-7  # converged
            gap = float(jnp.linalg.norm(ravel_pytree(theta_warm)[0] - ravel_pytree(theta_cold)[0]))
            assert gap <= _distance_bound(theta_warm, theta_cold, l2, x, y), (c, gap)
    assert np.sum(warm_n_iter) < np.sum(cold_n_iter)  # the point of the warm start
