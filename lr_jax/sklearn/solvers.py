r"""L-BFGS along paths of L2 strengths, for several row weightings in one compiled program.

For each of G row weightings (the training folds of a cross-validation) and each strength λ of its path,

    J(θ) = (1/S) Σᵢ sᵢ L(ŷᵢ, yᵢ) + (λ/2) ‖w‖²        (`lr_jax.loss.cost`)

is minimized by optax's L-BFGS, each λ starting from the previous λ's solution (a warm start, as in
scikit-learn's `_logistic_regression_path`; pass the λs of scikit-learn's ascending Cs, strongest first) and
with the previous λ's L-BFGS memory, moved exactly to the new λ (`move_memory`; scikit-learn restarts it),
until max |∂J/∂θ| <= tol (scipy's L-BFGS-B `gtol`, to which scikit-learn's lbfgs passes `tol`), or J
decreases by at most 64ε relatively in an iteration (its `ftol`), or `max_iter` iterations are made.

The weightings run one after another (`lax.map`), each reading only its rows of X: vmapped, the conds in
optax's line searches get batched predicates and run both branches with X broadcast to every problem (G
problems would cost G times one problem per iteration, each running for the slowest one's iterations).
The line search is optax's backtracking (Armijo) search from the step 1: its gradient comes
from the value's linearization, so an accepted step costs one pass of X forward and one back; J is convex,
so the curvature pairs sᵀy stay >= 0 without Wolfe's curvature condition. (optax's default zoom line
search takes the same iterations on the course data and compiles a larger program.)

`newton` minimizes one J by Newton's method (scikit-learn's `newton-cholesky`): with z = Xw + b, p = σ(z),
dᵢ = sᵢpᵢ(1 - pᵢ)/S and X̃ = [X 1] (the bias as a last column),

    ∇²J = X̃ᵀ diag(d) X̃ + λ diag(1, ..., 1, 0),     θ ← θ - t (∇²J)⁻¹ ∇J

solved by Cholesky, t from a backtracking (Armijo) search from 1. A P x P system per iteration (P = features
+ 1, or X's rows + 1 in the basis of its rows): for small P it reaches the minimizer to rounding in a few
iterations, and it compiles into a far smaller program than L-BFGS's line search.

K > 2 classes (`objective`): θ = (W (features, K), b (K,)), y one-hot (N, K), and J the weighted mean of the
softmax cross-entropy plus (λ/2)‖W‖² over all K columns: scikit-learn's over-parametrized multinomial
objective. Its Hessian (`newton`) comes from `jax.hessian` on the flattened θ; J does not change when every
class's intercept (and, without a penalty, every class's weights) shift alike, and Newton's step is kept free
of those shifts (`multinomial_direction`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from lr_jax.loss import cost

LINESEARCH_STEPS = 40  # halvings of the step before the line search gives up (2⁻⁴⁰)


def _lbfgs() -> optax.GradientTransformationExtraArgs:
    """optax's L-BFGS with a backtracking line search that keeps the gradient at the accepted step."""
    search = optax.scale_by_backtracking_linesearch(
        max_backtracking_steps=LINESEARCH_STEPS, decrease_factor=0.5, increase_factor=2.0**60, store_grad=True
    )
    return optax.lbfgs(linesearch=search)


def objective(theta, x_NK, y, weight_N, l2, intercept=None) -> jax.Array:
    """J: `lr_jax.loss.cost` for a binary θ (w a vector, y 0/1), the multinomial J for W (features, K) and y
    one-hot (N, K) (module docstring; exact for any logit, from optax's softmax cross-entropy). `intercept`
    0 (fit_intercept=False): the model without b (b gets no gradient and stays at its start, 0)."""
    if intercept is not None:
        theta = {**theta, "b": theta["b"] * intercept}
    if theta["w"].ndim == 1:
        return cost(theta, x_NK, y, weight_N, l2)
    loss_N = optax.softmax_cross_entropy(x_NK @ theta["w"] + theta["b"][None, :], y)
    data_cost = jnp.sum(weight_N * loss_N) / jnp.sum(weight_N)
    return data_cost + jnp.where(l2 == 0, 0.0, 0.5 * l2 * jnp.sum(jnp.square(theta["w"])))


def grad_max(grad) -> jax.Array:
    """max |∂J/∂θ| over every parameter (scipy's projected-gradient norm, without bounds)."""
    return jax.tree.reduce(jnp.maximum, jax.tree.map(lambda g: jnp.max(jnp.abs(g)), grad))


def move_memory(state, dl2):
    """optax's L-BFGS state for J at λ made the state for J at λ + dλ (exactly: the penalty is quadratic).

    Each stored gradient difference y gains dλ·s on the weights w, so its curvature pair is J's at the new
    λ; the last gradient gains dλ·w, so the next pair is too; the weights 1/(yᵀs) follow.
    """

    def move(part):
        if not isinstance(part, optax.ScaleByLBFGSState):
            return part
        s_M, y_M = part.diff_params_memory, part.diff_updates_memory
        y_M = {**y_M, "w": y_M["w"] + dl2 * s_M["w"]}
        ys_M = jax.vmap(optax.tree.vdot)(y_M, s_M)
        weights_M = jnp.where(ys_M == 0, 0.0, 1.0 / jnp.where(ys_M == 0, 1.0, ys_M)).astype(part.weights_memory.dtype)
        updates = {**part.updates, "w": part.updates["w"] + dl2 * part.params["w"]}
        return part._replace(diff_updates_memory=y_M, weights_memory=weights_M, updates=updates)

    return tuple(move(part) for part in state)


def move_value_and_grad(theta, value, grad, dl2):
    """J(θ) and ∇J(θ) at λ made J's at λ + dλ: + dλ/2·‖w‖², + dλ·w (no pass over X)."""
    value = value + 0.5 * dl2 * jnp.sum(jnp.square(theta["w"]))
    return value, {**grad, "w": grad["w"] + dl2 * theta["w"]}


def minimize(theta, state, value, grad, value_fn, tol, max_iter, measure=lambda g, aux: (grad_max(g), aux), aux=0):
    """L-BFGS from `theta` (J `value`, ∇J `grad`) and optax `state` until max |∇J| <= tol, J stalls, or
    max_iter iterations.

    Returns (θ, state, J, ∇J, iterations). `measure(grad, aux)` is (max |∇J|, or a lower bound of it above
    tol; aux for the next call): see `basis_measure`.
    """
    opt = _lbfgs()
    # scikit-learn's ftol, 64ε of float64 whatever X's dtype: in float32, until J stops decreasing at all
    # (64ε of float32 stopped L-BFGS percents short of the minimizer on small, well-conditioned problems).
    ftol = 64 * float(np.finfo(np.float64).eps)

    def keep_going(carry):
        _, _, value, _, big, step, previous, _ = carry
        scale = jnp.maximum(jnp.maximum(jnp.abs(previous), jnp.abs(value)), 1.0)
        stalled = (step > 0) & (previous - value <= ftol * scale)
        return (step < max_iter) & (big > tol) & ~stalled

    def iteration(carry):
        theta, state, value, grad, _, step, _, aux = carry
        updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=value_fn)
        new_value, new_grad = optax.tree.get(state, "value"), optax.tree.get(state, "grad")
        big, aux = measure(new_grad, aux)
        return optax.apply_updates(theta, updates), state, new_value, new_grad, big, step + 1, value, aux

    big, aux = measure(grad, aux)
    zero, inf = jnp.zeros((), jnp.int32), jnp.full((), jnp.inf, value.dtype)
    theta, state, value, grad, _, step, _, _ = jax.lax.while_loop(
        keep_going, iteration, (theta, state, value, grad, big, zero, inf, aux)
    )
    return theta, state, value, grad, step


def basis_measure(basis_DK, tol, rows: int = 256):
    """`minimize`'s measure for θ in coordinates c of w = Q c: max |Q ∂J/∂c| read from Q's rows where it was
    largest last time (aux, `rows` indices): above tol, that decides (a lower bound); else all of Q is read
    and those rows renewed. Near the solution every test reads Q; far from it, 256 of its rows."""

    def measure(grad, top_S):
        bias = jnp.max(jnp.abs(grad["b"]))
        lower = jnp.maximum(jnp.max(jnp.abs(basis_DK[top_S] @ grad["w"])), bias)

        def exact(_):
            abs_D = jnp.abs(basis_DK @ grad["w"])
            abs_D = abs_D if abs_D.ndim == 1 else jnp.max(abs_D, axis=1)  # K classes: the largest per feature
            return jnp.maximum(jnp.max(abs_D), bias), jax.lax.top_k(abs_D, top_S.shape[0])[1].astype(jnp.int32)

        return jax.lax.cond(lower > tol, lambda _: (lower, top_S), exact, None)

    return measure, jnp.arange(min(rows, basis_DK.shape[0]), dtype=jnp.int32)


@jax.jit
def lbfgs_paths(theta_G, x_NK, y_N, rows_GM, weight_GM, l2_GC, max_iter_GC, tol, basis_DK=None, intercept=None):
    """Each weighting's path of strengths from its own start: (θ stacked (G, C, ...), iterations (G, C)).

    Weighting g reads only its rows `rows_GM[g]` of X (gathered once per path; padding entries weigh 0).
    max_iter 0 skips a (weighting, strength): θ passes through unchanged, with 0 iterations. With
    `basis_DK` (orthonormal columns), the features are x_NK = X Q and θ's weights are coordinates c, w = Q c:
    the same problem when w stays in span(Q) (L-BFGS's iterates are combinations of gradients, X's rows and
    the start), with its tolerance on max |Q ∂J/∂c|, the gradient in w. `intercept`: see `objective`.
    """
    measure, aux = (lambda grad, aux: (grad_max(grad), aux), 0) if basis_DK is None else basis_measure(basis_DK, tol)

    def path(args):
        theta, rows_M, weight_M, l2_C, max_iter_C = args
        x_MK, y_M = x_NK[rows_M], y_N[rows_M]

        value_fn = lambda l2: functools.partial(
            objective, x_NK=x_MK, y=y_M, weight_N=weight_M, l2=l2, intercept=intercept
        )

        def at_strength(carry, l2_and_max_iter):
            (theta, state, value, grad, last_l2), (l2, max_iter) = carry, l2_and_max_iter

            def solve(theta, state, value, grad):  # J, ∇J and the memory moved to λ: no pass over X
                value, grad = move_value_and_grad(theta, value, grad, l2 - last_l2)
                state = move_memory(state, l2 - last_l2)
                return minimize(theta, state, value, grad, value_fn(l2), tol, max_iter, measure, aux)

            skip = lambda *carried: (*carried, jnp.zeros((), jnp.int32))
            theta, state, value, grad, step = jax.lax.cond(max_iter > 0, solve, skip, theta, state, value, grad)
            return (theta, state, value, grad, jnp.where(max_iter > 0, l2, last_l2)), (theta, step)

        value, grad = jax.value_and_grad(value_fn(l2_C[0]))(theta)
        start = (theta, _lbfgs().init(theta), value, grad, l2_C[0])
        return jax.lax.scan(at_strength, start, (l2_C, max_iter_C))[1]

    return jax.lax.map(path, (theta_G, rows_GM, weight_GM, l2_GC, max_iter_GC))


def newton_direction(theta, grad, x_NK, weight_N, l2, intercept=None):
    """-(∇²J)⁻¹ ∇J by Cholesky (see the module docstring); -∇J where the factorization fails (not finite)."""
    dtype = x_NK.dtype
    p_N = jax.nn.sigmoid(x_NK @ theta["w"] + theta["b"])
    d_N = weight_N * p_N * (1 - p_N) / jnp.sum(weight_N)
    ones_N1 = jnp.ones((x_NK.shape[0], 1), dtype) * (1 if intercept is None else intercept)  # 0: no intercept
    x_NP = jnp.concatenate([x_NK, ones_N1], axis=1)
    penalty_P = jnp.concatenate([jnp.full(x_NK.shape[1:], l2, dtype), jnp.zeros(1, dtype)])
    hessian_PP = x_NP.T @ (d_N[:, None] * x_NP) + jnp.diag(penalty_P)
    # ε·(1 + max diagonal): keeps padded zero columns (and C = inf) factorizable, far below any curvature used.
    hessian_PP = hessian_PP + jnp.finfo(dtype).eps * (1 + jnp.max(jnp.diag(hessian_PP))) * jnp.eye(x_NP.shape[1])
    grad_P = jnp.concatenate([grad["w"], grad["b"][None]])
    step_P = -jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(hessian_PP), grad_P)
    step_P = jnp.where(jnp.all(jnp.isfinite(step_P)), step_P, -grad_P)
    return {"w": step_P[:-1], "b": step_P[-1]}


def multinomial_direction(value_fn, theta, grad):
    """-(∇²J + c·P)⁻¹ ∇J for K classes, ∇²J by `jax.hessian` on the flattened θ; -∇J where the factorization
    fails.

    P projects on the shifts common to all classes (W's columns, and the intercepts), along which the softmax
    does not change: J's null directions without a penalty. Their gradient is 0 (without a penalty) or λΣₖwₖ,
    so the step keeps Σₖwₖ and Σₖbₖ where they are (0 from a zero start, as scikit-learn's solvers), and
    c = 1 + max diag(∇²J) keeps the system positive definite.
    """
    flat_P, unravel = ravel_pytree(theta)  # {"b": (K,), "w": (D, K)}: the order of a (D + 1) x K array
    K = theta["b"].shape[0]
    hessian_PP = jax.hessian(lambda f: value_fn(unravel(f)))(flat_P)
    common_PP = jnp.kron(jnp.eye(len(flat_P) // K, dtype=flat_P.dtype), jnp.full((K, K), 1 / K, flat_P.dtype))
    top = 1 + jnp.max(jnp.diag(hessian_PP))
    # ε·top·I as in `newton_direction`: keeps padded zero columns and a masked intercept factorizable
    hessian_PP = hessian_PP + top * common_PP + jnp.finfo(flat_P.dtype).eps * top * jnp.eye(len(flat_P))
    grad_P = ravel_pytree(grad)[0]
    step_P = -jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(hessian_PP), grad_P)
    return unravel(jnp.where(jnp.all(jnp.isfinite(step_P)), step_P, -grad_P))


def backtrack(value_fn, theta, value, grad, step):
    """θ + t·step with t = 1, 1/2, ... (at most LINESEARCH_STEPS halvings) until J decreases by 1e-4·t·∇Jᵀstep
    (Armijo): (new θ, its J)."""
    slope = optax.tree.vdot(grad, step)
    at = lambda t: jax.tree.map(lambda a, s: a + t * s, theta, step)

    def too_high(carry):
        t, new_value, k = carry
        return (k < LINESEARCH_STEPS) & ~(new_value <= value + 1e-4 * t * slope)  # NaN is too high

    def halve(carry):
        t, _, k = carry
        return t / 2, value_fn(at(t / 2)), k + 1

    one = jnp.ones((), value.dtype)
    t, new_value, _ = jax.lax.while_loop(too_high, halve, (one, value_fn(at(one)), jnp.zeros((), jnp.int32)))
    return at(t), new_value


@jax.jit
def newton(theta, x_NK, y_N, weight_N, l2, max_iter, tol, basis_DK=None, intercept=None):
    """Newton's method on J from `theta`: (θ, iterations).

    It stops once max |∂J/∂θ| <= tol and the last step moved θ by at most tol relatively (‖Δθ‖ <= tol‖θ‖:
    converging quadratically, θ is then within about tol² of the minimizer, where a gradient test alone
    can stop at tol/μ on ill-conditioned data), or when J stops decreasing (`minimize`'s 64ε), or after
    max_iter iterations. max_iter, tol and λ = `l2` are traced: a new value runs the same program. Padded
    rows weigh 0. With `basis_DK` (orthonormal columns), x_NK = X Q and θ's weights are coordinates c of
    w = Q c (as in `lbfgs_paths`), the tolerance on max |Q ∂J/∂c|. `intercept`: see `objective`.
    """
    value_fn = functools.partial(objective, x_NK=x_NK, y=y_N, weight_N=weight_N, l2=l2, intercept=intercept)
    value_and_grad = jax.value_and_grad(value_fn)
    ftol = 64 * jnp.finfo(x_NK.dtype).eps

    def measure(grad):
        if basis_DK is None:
            return grad_max(grad)
        return jnp.maximum(jnp.max(jnp.abs(basis_DK @ grad["w"])), jnp.max(jnp.abs(grad["b"])))

    def keep_going(carry):
        _, value, _, big, step, previous, moved = carry
        scale = jnp.maximum(jnp.maximum(jnp.abs(previous), jnp.abs(value)), 1.0)
        stalled = (step > 0) & (previous - value <= ftol * scale)
        return (step < max_iter) & ~stalled & ((big > tol) | (moved > tol))

    def iteration(carry):
        theta, value, grad, _, step, _, _ = carry
        if theta["w"].ndim == 1:
            direction = newton_direction(theta, grad, x_NK, weight_N, l2, intercept)
        else:
            direction = multinomial_direction(value_fn, theta, grad)
        new_theta, _ = backtrack(value_fn, theta, value, grad, direction)
        new_value, grad = value_and_grad(new_theta)
        size = optax.tree.norm(new_theta)
        moved = optax.tree.norm(jax.tree.map(jnp.subtract, new_theta, theta)) / jnp.where(size > 0, size, 1.0)
        return new_theta, new_value, grad, measure(grad), step + 1, value, moved

    value, grad = value_and_grad(theta)
    inf = jnp.full((), jnp.inf, value.dtype)
    carry = (theta, value, grad, measure(grad), jnp.zeros((), jnp.int32), inf, inf)
    theta, *_, step, _, _ = jax.lax.while_loop(keep_going, iteration, carry)
    return theta, step
