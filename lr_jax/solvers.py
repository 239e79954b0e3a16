r"""L-BFGS along paths of L2 strengths, for several row weightings in one compiled program.

For each of G row weightings (the training folds of a cross-validation) and each strength λ of its path,

    J(θ) = (1/S) Σᵢ sᵢ L(ŷᵢ, yᵢ) + (λ/2) ‖w‖²        (`lr_jax.loss.cost`)

is minimized by optax's L-BFGS, each λ starting from the previous λ's solution (a warm start, as in
scikit-learn's `_logistic_regression_path`; pass the λs of scikit-learn's ascending Cs, strongest first),
until max |∂J/∂θ| <= tol (scipy's L-BFGS-B `gtol`, to which scikit-learn's lbfgs passes `tol`), or J
decreases by at most 64ε relatively in an iteration (its `ftol`), or `max_iter` iterations are made.

The weightings run one after another (`lax.map`): on a CPU one matrix-vector product per problem costs as
much as their batched matrix product, and a vmapped loop would run every problem for the slowest one's
iterations. The line search is optax's backtracking (Armijo) search from the step 1: its gradient comes
from the value's linearization, so an accepted step costs one pass of X forward and one back; J is convex,
so the curvature pairs sᵀy stay >= 0 without Wolfe's curvature condition. (optax's default zoom line
search took the same iterations and twice the compile time, measured on the course data.)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from lr_jax.loss import cost

LINESEARCH_STEPS = 40  # halvings of the step before the line search gives up (2⁻⁴⁰)


def _lbfgs() -> optax.GradientTransformationExtraArgs:
    """optax's L-BFGS with a backtracking line search that keeps the gradient at the accepted step."""
    search = optax.scale_by_backtracking_linesearch(
        max_backtracking_steps=LINESEARCH_STEPS, decrease_factor=0.5, increase_factor=2.0**60, store_grad=True
    )
    return optax.lbfgs(linesearch=search)


def grad_max(grad) -> jax.Array:
    """max |∂J/∂θ| over every parameter (scipy's projected-gradient norm, without bounds)."""
    return jax.tree.reduce(jnp.maximum, jax.tree.map(lambda g: jnp.max(jnp.abs(g)), grad))


def minimize(theta, value_fn, tol, max_iter, full_grad=lambda grad: grad):
    """L-BFGS from `theta` until max |∇J| <= tol, J stalls, or max_iter iterations: (θ, iterations).

    `full_grad` maps the gradient to the coordinates max |∇J| is measured in (see `lbfgs_paths`).
    """
    opt = _lbfgs()
    value, grad = jax.value_and_grad(value_fn)(theta)
    ftol = 64 * jnp.finfo(value.dtype).eps

    def keep_going(carry):
        _, _, value, grad, step, previous = carry
        scale = jnp.maximum(jnp.maximum(jnp.abs(previous), jnp.abs(value)), 1.0)
        stalled = (step > 0) & (previous - value <= ftol * scale)
        return (step < max_iter) & (grad_max(full_grad(grad)) > tol) & ~stalled

    def iteration(carry):
        theta, state, value, grad, step, _ = carry
        updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=value_fn)
        new_value, new_grad = optax.tree.get(state, "value"), optax.tree.get(state, "grad")
        return optax.apply_updates(theta, updates), state, new_value, new_grad, step + 1, value

    carry = (theta, opt.init(theta), value, grad, jnp.zeros((), jnp.int32), jnp.full((), jnp.inf, value.dtype))
    theta, _, _, _, step, _ = jax.lax.while_loop(keep_going, iteration, carry)
    return theta, step


@jax.jit
def lbfgs_paths(theta_G, x_NK, y_N, weight_GN, l2_GC, max_iter_GC, tol, basis_DK=None):
    """Each weighting's path of strengths from its own start: (θ stacked (G, C, ...), iterations (G, C)).

    max_iter 0 skips a (weighting, strength): θ passes through unchanged, with 0 iterations. With
    `basis_DK` (orthonormal columns), the features are x_NK = X Q and θ's weights are coordinates c, w = Q c:
    the same problem when w stays in span(Q) (L-BFGS's iterates are combinations of gradients, X's rows and
    the start), with its tolerance on max |Q ∂J/∂c|, the gradient in w.
    """
    full_grad = (lambda grad: grad) if basis_DK is None else (lambda grad: {**grad, "w": basis_DK @ grad["w"]})

    def path(args):
        theta, weight_N, l2_C, max_iter_C = args

        def at_strength(theta, l2_and_max_iter):
            l2, max_iter = l2_and_max_iter
            value_fn = functools.partial(cost, x_ND=x_NK, y_N=y_N, weight_N=weight_N, l2=l2)
            solve = lambda t: minimize(t, value_fn, tol, max_iter, full_grad)
            theta, step = jax.lax.cond(max_iter > 0, solve, lambda t: (t, jnp.zeros((), jnp.int32)), theta)
            return theta, (theta, step)

        return jax.lax.scan(at_strength, theta, (l2_C, max_iter_C))[1]

    return jax.lax.map(path, (theta_G, weight_GN, l2_GC, max_iter_GC))
