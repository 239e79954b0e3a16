"""Training as one compiled program: optax updates inside `lax.while_loop`, built and jitted once.

    w := w - α ∂J/∂w,   b := b - α ∂J/∂b      (optax.sgd; gradients from jax.grad)

Hyperparameters travel as a dict of traced scalar arrays (`hparams`), so a new learning rate, momentum,
λ or tolerance reuses the compiled program; only the optimizer's structure (`OptimSpec`: its name,
Nesterov, the schedule's shape, L-BFGS's memory), the batch size and the number of steps are static.
The cost recorded for iteration t is J at the parameters *before* iteration t, as in the course's
`optimize`.

One iteration is one pass over the training set (an epoch, as in scikit-learn's `n_iter_`): one full-batch
update, or ceil(m / batch_size) minibatch updates over a fresh permutation drawn from the state's PRNG key.
Before each iteration the full-batch gradient is computed; once ‖∇J‖₂ < `tol` the loop stops with the
state untouched, so `state.step` counts the iterations actually made.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lr_jax import runtime
from lr_jax.loss import cost
from lr_jax.models.interface import Model, Params, param_dtype
from lr_jax.models.logistic import LOGISTIC
from lr_jax.optim import HParams, OptimSpec, as_spec, make_optimizer


class TrainState(NamedTuple):
    params: Params
    opt_state: Any
    step: jax.Array  # int32[], iterations done so far
    key: jax.Array  # PRNG key for anything random during training


@functools.partial(jax.jit, static_argnames=("optim",))
def init_state(params: Params, hparams: HParams, key: jax.Array, *, optim: str | OptimSpec = "sgd") -> TrainState:
    """Optimizer state for `params`, with the step counter at 0."""
    opt_state = make_optimizer(optim, hparams).init(params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), key)


def epoch_batches(key: jax.Array, m: int, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """One epoch's minibatches: indices int[K, B] of a random permutation of range(m), and mask bool[K, B].

    The last batch is padded to `batch_size` (masked out), so every batch has one shape; indices are
    sorted within each batch (a batch is a set), which makes batch_size >= m the identity order.
    """
    num_batches = -(-m // batch_size)
    perm_M = jax.random.permutation(key, m)
    padded_M = jnp.concatenate([perm_M, jnp.full((num_batches * batch_size - m,), m, perm_M.dtype)])
    idx_KB = jnp.sort(padded_M.reshape(num_batches, batch_size), axis=1)
    mask_KB = idx_KB < m
    return jnp.where(mask_KB, idx_KB, 0), mask_KB


def _full_batch_update(state, grads, value, value_fn, hparams, optim):
    opt = make_optimizer(optim, hparams)
    if as_spec(optim).name == "lbfgs":
        updates, opt_state = opt.update(
            grads, state.opt_state, state.params, value=value, grad=grads, value_fn=value_fn
        )
    else:
        updates, opt_state = opt.update(grads, state.opt_state, state.params)
    return TrainState(optax.apply_updates(state.params, updates), opt_state, state.step + 1, state.key)


def _minibatch_epoch(state, x_ND, y_N, weight_N, hparams, optim, batch_size, model):
    """ceil(m / B) updates over a fresh permutation; padding examples weigh 0."""
    key, perm_key = jax.random.split(state.key)
    idx_KB, mask_KB = epoch_batches(perm_key, x_ND.shape[0], batch_size)
    dtype = param_dtype(state.params)  # x may be uint8 pixels
    weight_N = jnp.ones(y_N.shape, dtype) if weight_N is None else weight_N
    opt = make_optimizer(optim, hparams)

    def batch_update(carry, batch):
        params, opt_state = carry
        idx_B, mask_B = batch
        w_B = weight_N[idx_B] * mask_B.astype(dtype)
        grads = jax.grad(cost)(params, x_ND[idx_B], y_N[idx_B], w_B, hparams["l2"], model)
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    (params, opt_state), _ = jax.lax.scan(batch_update, (state.params, state.opt_state), (idx_KB, mask_KB))
    return TrainState(params, opt_state, state.step + 1, key)


def _objective_and_update(x_ND, y_N, hparams, optim, weight_N, batch_size, model):
    """(value_fn: params -> J, update: (state, J, ∇J at its params) -> the state after one iteration)."""
    value_fn = functools.partial(cost, x_ND=x_ND, y_N=y_N, weight_N=weight_N, l2=hparams["l2"], model=model)

    def update(state, value, grads):
        if batch_size is None:
            return _full_batch_update(state, grads, value, value_fn, hparams, optim)
        return _minibatch_epoch(state, x_ND, y_N, weight_N, hparams, optim, batch_size, model)

    return value_fn, update


def train_step(
    state: TrainState,
    x_ND,
    y_N,
    hparams: HParams,
    optim: str | OptimSpec,
    weight_N=None,
    batch_size: int | None = None,
    model: Model = LOGISTIC,
):
    """One iteration: (new state, J before it, ‖∇J‖ before it); the state is kept as is once ‖∇J‖ < tol.

    `run_steps` runs L-BFGS's iterations through it; first-order ones with the gradient of the next
    iteration computed in this one (see there), which needs no branch.
    """
    value_fn, update = _objective_and_update(x_ND, y_N, hparams, optim, weight_N, batch_size, model)
    if as_spec(optim).name == "lbfgs":  # reuses the value and gradient the line search computed
        value, grads = optax.value_and_grad_from_state(value_fn)(state.params, state=state.opt_state)
    else:
        value, grads = jax.value_and_grad(value_fn)(state.params)
    grad_norm = optax.tree.norm(grads)
    new_state = jax.lax.cond(grad_norm < hparams["tol"], lambda: state, lambda: update(state, value, grads))
    return new_state, value, grad_norm


@functools.partial(jax.jit, static_argnames=("num_steps", "optim", "batch_size", "model"))
def run_steps(
    state: TrainState,
    x_ND,
    y_N,
    hparams: HParams,
    *,
    num_steps: int,
    optim: str | OptimSpec = "sgd",
    weight_N=None,
    batch_size: int | None = None,
    model: Model = LOGISTIC,
):
    """Up to `num_steps` iterations in one `lax.while_loop`, stopping once ‖∇J‖ < tol.

    Returns (final state, cost before each iteration f[num_steps], NaN for those not run).

    With a first-order optimizer the loop carries J and ∇J of the current parameters: an iteration
    records J, updates, and computes J and ∇J of the new parameters, which the loop's condition tests
    against tol before the next. So no iteration needs a branch to keep the state of a converged run (a
    `lax.cond` there would copy the parameters and optimizer state in and out of its branches every
    iteration), at the price of one gradient more per call. Under `jax.vmap` (a
    sweep) JAX's own batching of the loop keeps each converged member's state.
    """
    start = state.step
    costs_T = jnp.full((num_steps,), jnp.nan, param_dtype(state.params))  # x may be uint8 pixels
    if as_spec(optim).name == "lbfgs":

        def iteration(carry):
            state, costs_T, _ = carry
            new_state, value, grad_norm = train_step(state, x_ND, y_N, hparams, optim, weight_N, batch_size, model)
            value = jnp.where(new_state.step > state.step, value, jnp.nan)  # NaN: stopped, no iteration made
            return new_state, costs_T.at[state.step - start].set(value), grad_norm

        carry: tuple[Any, ...] = (state, costs_T, jnp.asarray(jnp.inf, param_dtype(state.params)))
    else:
        value_fn, update = _objective_and_update(x_ND, y_N, hparams, optim, weight_N, batch_size, model)
        value_and_grad = jax.value_and_grad(value_fn)

        def iteration(carry):
            state, costs_T, value, grads, _ = carry
            costs_T = costs_T.at[state.step - start].set(value)
            state = update(state, value, grads)
            value, grads = value_and_grad(state.params)
            return state, costs_T, value, grads, optax.tree.norm(grads)

        value, grads = value_and_grad(state.params)
        carry = (state, costs_T, value, grads, optax.tree.norm(grads))

    def keep_going(carry):
        return (carry[0].step - start < num_steps) & ~(carry[-1] < hparams["tol"])

    state, costs_T, *_ = jax.lax.while_loop(keep_going, iteration, carry)
    return state, costs_T


def steps_done(state: TrainState) -> int:
    """The iterations `state` has made (a grid's states share one step), read on the host.

    `np.max` of a JAX array would call its `.max()` and compile a reduction; a host copy compiles nothing.
    """
    return int(np.max(jax.device_get(state.step)))


class StopTraining(Exception):
    """Raised by an `on_chunk` hook to end `fit` at this chunk boundary, keeping the state reached (early stopping)."""


class FitResult(NamedTuple):
    state: TrainState
    costs: np.ndarray  # f[iterations run], J before each iteration (on the host)
    compile_s: float  # seconds JAX spent compiling (or loading from the persistent cache) in `fit`
    run_s: float  # seconds spent running the compiled chunks, callbacks excluded
    converged: bool | np.ndarray = False  # stopped early because ‖∇J‖ < tol (bool[C] for a grid of states)
    stopped: bool = False  # a hook ended the run early (`StopTraining`: early stopping)


def fit(
    state: TrainState,
    x_ND,
    y_N,
    hparams: HParams,
    *,
    num_steps: int,
    optim: str | OptimSpec = "sgd",
    chunk_size: int | None = None,
    on_chunk: Sequence[Callable] = (),
    weight_N=None,
    batch_size: int | None = None,
    model: Model = LOGISTIC,
    run: Callable = run_steps,
) -> FitResult:
    """Advance `state` to step `num_steps` (or until ‖∇J‖ < tol) in compiled chunks (one by default).

    Between chunks, each `on_chunk(state, costs_of_chunk)` runs on the host (progress, checkpoints); one
    that raises `StopTraining` ends the fit there (the hooks after it skip that chunk), any other exception
    ends the run;
    a state that is already part-way (a resumed run) continues from its `step`. `run` is `run_steps`
    or a jitted function of the same signature, e.g. `sweep.run_steps_batched` for a grid of states
    (whose costs then have the steps on the last axis; the grid stops once every member has).
    `weight_N` weights the examples' losses (0 for padding; None = plain mean).
    """
    chunk = chunk_size or max(num_steps, 1)
    costs, compile_s, run_s = [], 0.0, 0.0
    done, converged, stopped = steps_done(state), False, False
    args, kwargs = (x_ND, y_N, hparams), {"weight_N": weight_N}
    static = {"optim": optim, "batch_size": batch_size, "model": model}
    while done < num_steps and not converged and not stopped:
        n = min(chunk, num_steps - done)
        # Through jit's own cache: a program of these shapes compiled before in this process is reused.
        t0 = time.perf_counter()
        with runtime.CompileMeter() as compiling:
            state, costs_n = jax.block_until_ready(run(state, *args, **kwargs, num_steps=n, **static))
        compile_s += compiling.seconds
        run_s += time.perf_counter() - t0 - compiling.seconds
        ran = steps_done(state) - done
        converged, done = ran < n, done + ran
        costs.append(np.asarray(costs_n)[..., :ran])  # on the host: slicing and joining compile nothing
        try:
            for callback in on_chunk:
                callback(state, costs[-1])
        except StopTraining:
            stopped = True
    empty = np.zeros(np.shape(state.step) + (0,), param_dtype(state.params))
    all_costs = np.concatenate(costs, axis=-1) if costs else empty
    converged_per_state = (np.asarray(state.step) < num_steps) & (not stopped)  # by tol (a flag per grid member)
    return FitResult(
        state,
        all_costs,
        compile_s,
        run_s,
        bool(converged_per_state) if converged_per_state.ndim == 0 else converged_per_state,
        stopped,
    )
