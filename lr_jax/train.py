"""Gradient descent as one compiled program: optax updates inside `lax.scan`, built and jitted once.

    w := w - α ∂J/∂w,   b := b - α ∂J/∂b      (optax.sgd; gradients from jax.grad)

Hyperparameters travel as a dict of traced scalar arrays (`hparams`), so a new learning rate reuses the
compiled program; only the optimizer's name and the number of steps are static. The cost recorded for
step t is J at the parameters *before* update t, as in the course's `optimize`.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lr_jax.loss import cost
from lr_jax.model import Params

HParams = dict  # {"learning_rate": Array[]} - traced, fixed dtype


class TrainState(NamedTuple):
    params: Params
    opt_state: Any
    step: jax.Array  # int32[], iterations done so far
    key: jax.Array  # PRNG key for anything random during training


def make_optimizer(name: str, hparams: HParams) -> optax.GradientTransformation:
    """The optax transformation named in the config, built from (possibly traced) hyperparameters."""
    if name == "sgd":
        return optax.sgd(hparams["learning_rate"])
    raise ValueError(f"unknown optimizer {name!r}")


def make_hparams(learning_rate: float, dtype=jnp.float32) -> HParams:
    """Hyperparameters as arrays of a fixed dtype, so that new values do not recompile."""
    return {"learning_rate": jnp.asarray(learning_rate, dtype)}


@functools.partial(jax.jit, static_argnames=("optim",))
def init_state(params: Params, hparams: HParams, key: jax.Array, *, optim: str = "sgd") -> TrainState:
    """Optimizer state for `params`, with the step counter at 0."""
    opt_state = make_optimizer(optim, hparams).init(params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), key)


def train_step(state: TrainState, x_ND, y_N, hparams: HParams, optim: str):
    """One update: (new state, J at the parameters before the update)."""
    cost_value, grads = jax.value_and_grad(cost)(state.params, x_ND, y_N)
    updates, opt_state = make_optimizer(optim, hparams).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainState(params, opt_state, state.step + 1, state.key), cost_value


@functools.partial(jax.jit, static_argnames=("num_steps", "optim"))
def run_steps(state: TrainState, x_ND, y_N, hparams: HParams, *, num_steps: int, optim: str = "sgd"):
    """`num_steps` updates in one `lax.scan`: (final state, cost before each step, f[num_steps])."""
    step = functools.partial(train_step, x_ND=x_ND, y_N=y_N, hparams=hparams, optim=optim)
    return jax.lax.scan(lambda s, _: step(s), state, xs=None, length=num_steps)


class FitResult(NamedTuple):
    state: TrainState
    costs: jax.Array  # f[steps run], J before each step
    compile_s: float  # seconds spent compiling (once per distinct chunk length)
    run_s: float  # seconds spent running the compiled chunks, callbacks excluded


def fit(state: TrainState, x_ND, y_N, hparams: HParams, *, num_steps: int, optim: str = "sgd",
        chunk_size: int | None = None, on_chunk: Sequence[Callable] = (), run: Callable = run_steps
        ) -> FitResult:
    """Advance `state` to step `num_steps` in compiled chunks (one chunk, one call, by default).

    Between chunks, each `on_chunk(state, costs_of_chunk)` runs on the host (progress, checkpoints);
    a state that is already part-way (a resumed run) continues from its `step`. `run` is `run_steps`
    or a jitted function of the same signature, e.g. `sweep.run_steps_batched` for a grid of states
    (whose costs then have the steps on the last axis).
    """
    chunk = chunk_size or max(num_steps, 1)
    compiled, costs, compile_s, run_s = {}, [], 0.0, 0.0
    done = int(np.max(state.step))  # a grid's states share one step
    while done < num_steps:
        n = min(chunk, num_steps - done)
        if n not in compiled:
            t0 = time.perf_counter()
            compiled[n] = run.lower(state, x_ND, y_N, hparams, num_steps=n, optim=optim).compile()
            compile_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        state, costs_n = jax.block_until_ready(compiled[n](state, x_ND, y_N, hparams))
        run_s += time.perf_counter() - t0
        costs.append(costs_n)
        done += n
        for callback in on_chunk:
            callback(state, costs_n)
    if len(costs) == 1:  # the common single-call case: no concatenation to compile
        all_costs = costs[0]
    else:
        all_costs = (jnp.concatenate(costs, axis=-1) if costs
                     else jnp.zeros(state.step.shape + (0,), x_ND.dtype))
    return FitResult(state, all_costs, compile_s, run_s)
