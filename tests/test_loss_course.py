"""The gradients on the real data's shapes (209 x 12288): jax.grad vs the course's backward pass vs
finite differences (the measures and tolerances: tests/test_loss.py)."""

import jax
import numpy as np
import pytest

from lr_jax import loss
from tests.test_loss import REL_TOL, central_difference_directional, flat_grad, rel_error


@pytest.mark.slow  # > 2 s on 2 cores
def test_gradients_on_real_data_shapes(course_data, rng, x64):
    """209 x 12288 real images at random params: jax.grad vs course formula vs 8 random directions."""
    x_ND = course_data["train"].features(np.float64)
    y_N = course_data["train"].y
    params = {"w": rng.normal(size=x_ND.shape[1]) * 1e-3, "b": np.float64(0.1)}
    g_jax = jax.grad(loss.cost)(params, x_ND, y_N)
    g_course = loss.course_gradients(params, x_ND, y_N)
    assert rel_error(flat_grad(g_jax), flat_grad(g_course)) < REL_TOL
    for _ in range(8):
        d = {"w": rng.normal(size=x_ND.shape[1]), "b": np.float64(rng.normal())}
        analytic = float(flat_grad(g_jax) @ flat_grad(d))
        assert rel_error(analytic, central_difference_directional(params, x_ND, y_N, d)) < REL_TOL
