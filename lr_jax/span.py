r"""Training in the span of the data: logistic regression by SGD (plain, momentum, Nesterov; any schedule)
on the m x m Gram matrix K = X Xᵀ instead of the m x n features, for m < n examples.

Every gradient of J is Xᵀr + λw (rᵢ = ∂J_data/∂zᵢ), so from w₀ the weights never leave w₀'s line plus
the row space of X. With coefficients a (one per example), c (on w₀) and the bias b:

    w = c·w₀ + Xᵀa,     z = Xw + b = K a + c·z₀ + b,     K = X Xᵀ,  z₀ = X w₀
    ∂J/∂w = Xᵀ(r + λa) + λc·w₀,      ∂J/∂b = Σᵢ rᵢ,      ‖w‖² = aᵀK a + 2c·aᵀz₀ + c²‖w₀‖²
    ‖∇J‖² = gₐᵀK gₐ + 2 g_c·gₐᵀz₀ + g_c²‖w₀‖² + g_b²    (g = the gradient's coefficients)

optax's sgd (`trace`: v ← g + μv, with Nesterov g + μv; then × -α_t) is linear in the gradient and treats
every leaf alike, so optax itself, run on the coefficients {"a", "c", "b"} with the gradient's
coefficients {r + λa, λc, Σr}, yields the coefficients of the weight-space iterates: the same iterates in
exact arithmetic, at m² instead of 2mn multiply-adds per step. A minibatch's gradient is X_Bᵀr_B: r_B
scattered into a. Adam (per-coordinate scaling) and L-BFGS (its line search in w) leave the span:
they train in weights (`choose`).

The span's own arithmetic is float64, also in a float32 run (whose features, weights and costs stay float32):
it costs m² per step, and float32 would move the course's float32 cost table (by 1.3e-6 with K from XLA's
float32 product, by 8.2e-7 with float32 coefficients) more than the 1.4e-8 between a printed cost and its
rounding boundary. The state is a `TrainState` whose `opt_state` is a `SpanState` (w₀, the coefficients,
optax's state of them, all float64) and whose `params` are the weights materialized at the end of each
compiled chunk, so hooks, checkpoints, early stopping and evaluation see ordinary weights, and a checkpoint
holds the coefficients (a run resumes exactly).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lr_jax import pixels, runtime, train
from lr_jax.errors import ConfigError
from lr_jax.models.interface import Model, param_dtype
from lr_jax.models.logistic import LOGISTIC, LogisticModel
from lr_jax.optim import HParams, OptimSpec, as_spec, make_optimizer

SPAN, WEIGHTS = "span", "weights"  # train.parametrization's choices besides auto
LINEAR_OPTIMIZERS = frozenset({"sgd"})  # optax.sgd with or without (Nesterov) momentum, any schedule
MAX_EXAMPLES = 16384  # K's float64 accumulator: 8·m² bytes = 2 GiB at this m
GRAM_COLUMNS = 1024  # features per block while K is accumulated: the float64 copy of X is m x 1024 at most
HIGHEST = jax.lax.Precision.HIGHEST  # no reduced-precision passes for the span's products on a GPU
F64 = jnp.float64  # the span's arithmetic (see the module docstring)


class SpanState(NamedTuple):
    """The optimizer state of a run in the span (`TrainState.opt_state`), float64."""

    anchor: jax.Array  # w₀, f64[n]: the starting weights
    coef: dict  # {"a": f64[m], "c": f64[], "b": f64[]}: w = c·w₀ + Xᵀa, and the bias
    inner: Any  # optax's state of `coef`


class Gram(NamedTuple):
    """What the loop needs of X and w₀, computed once per fit, float64."""

    k_MM: jax.Array  # K = X Xᵀ
    z0_M: jax.Array  # z₀ = X w₀
    anchor_sq: jax.Array  # ‖w₀‖²


def choose(
    setting: str, *, m: int, n: int, optimizer: str, model: Model, num_steps: int, sharded: bool = False
) -> tuple[str, str]:
    """(SPAN or WEIGHTS, why) for `train.parametrization` = `setting` (auto, weights or span).

    auto picks the span when it is exact (logistic regression, optimizer sgd, one device) and pays:
    m <= n/4 (K's m² float64 values, 8m² bytes, at most twice X's m·n bytes as uint8 pixels), m <=
    MAX_EXAMPLES (K within 2 GiB), and the iterations repay building K: K costs m²n multiply-adds once
    and m² per step, the weights 2mn per step, so the span pays when num_steps·(2n - m) > m·n.
    """
    exact = _why_not_exact(optimizer, model, sharded)
    if setting == SPAN:
        if exact:
            raise ConfigError(f"train.parametrization=span: {exact}. Use train.parametrization=auto or weights.")
        return SPAN, f"forced, m={m}, n={n}"
    if setting == WEIGHTS:
        return WEIGHTS, "forced"
    if exact:
        return WEIGHTS, exact
    if 4 * m > n:
        return WEIGHTS, f"m={m} > n/4={n // 4}: K = X Xᵀ would outweigh X"
    if m > MAX_EXAMPLES:
        return WEIGHTS, f"m={m} > {MAX_EXAMPLES}: K's float64 accumulator would exceed 2 GiB"
    if num_steps * (2 * n - m) <= m * n:
        return WEIGHTS, f"{num_steps} iterations do not repay building K (m={m}, n={n})"
    return SPAN, f"m={m} < n={n}"


def _why_not_exact(optimizer: str, model: Model, sharded: bool) -> str:
    """Why the span does not hold the weight-space iterates ('' when it does)."""
    if optimizer not in LINEAR_OPTIMIZERS:
        return f"optim.name={optimizer} is not linear in the gradients (only sgd, with any momentum and schedule)"
    if not isinstance(model, LogisticModel):
        return "the span parametrization trains logistic regression only (model.name=logistic)"
    if sharded:
        return "the span parametrization runs on one device (set parallel.data_parallel=false)"
    return ""


def is_span(state: train.TrainState) -> bool:
    """Whether `state` trains in the span (its optimizer state is a `SpanState`)."""
    return isinstance(state.opt_state, SpanState)


def to_span(state: train.TrainState, hparams: HParams, *, m: int, optim: str | OptimSpec = "sgd") -> train.TrainState:
    """`state` (at its start) as a span state over m examples: a = 0, c = 1, the same weights and bias."""
    with runtime.precision_scope("float64"):
        return _to_span(state, hparams, m=m, optim=optim)


@functools.partial(jax.jit, static_argnames=("m", "optim"))
def _to_span(state, hparams, *, m, optim):
    coef = {"a": jnp.zeros((m,), F64), "c": jnp.ones((), F64), "b": state.params["b"].astype(F64)}
    inner = make_optimizer(optim, _widened(hparams)).init(coef)
    return state._replace(opt_state=SpanState(state.params["w"].astype(F64), coef, inner))


def _widened(hparams: HParams) -> HParams:
    return {name: value.astype(F64) for name, value in hparams.items()}


def _column_blocks(fn, x_ND, *rest_D):
    """[fn(x_ND[:, block], *(r[block] for r in rest_D)) for each block of GRAM_COLUMNS features], as a
    stacked pytree over the whole blocks and the tail's apart: (stacked, tail or None)."""
    n = x_ND.shape[1]
    cols = min(n, GRAM_COLUMNS)
    num_blocks, tail = divmod(n, cols)

    def block(start, size):
        x_MC = jax.lax.dynamic_slice_in_dim(x_ND, start, size, axis=1)
        return fn(x_MC, *(jax.lax.dynamic_slice_in_dim(r, start, size) for r in rest_D))

    stacked = jax.lax.map(lambda j: block(j * cols, cols), jnp.arange(num_blocks))
    return stacked, (block(num_blocks * cols, tail) if tail else None)


def _features64(x_MC, dtype):
    """The features exactly as the weight-space run of `dtype` sees them, widened to float64."""
    return pixels.as_features(x_MC, dtype).astype(F64)


def gram(x_ND, anchor_D, dtype) -> Gram:
    """K, z₀ and ‖w₀‖² of the run's features (of `dtype`), accumulated in float64."""
    with runtime.precision_scope("float64"):
        return _gram(x_ND, anchor_D, dtype=dtype)


@functools.partial(jax.jit, static_argnames=("dtype",))
def _gram(x_ND, anchor_D, *, dtype) -> Gram:
    def block(x_MC, w_C):
        x_MC = _features64(x_MC, dtype)
        return jnp.dot(x_MC, x_MC.T, precision=HIGHEST), jnp.dot(x_MC, w_C, precision=HIGHEST), w_C @ w_C

    stacked, tail = _column_blocks(block, x_ND, anchor_D)
    total = jax.tree.map(lambda s: jnp.sum(s, axis=0), stacked)
    return Gram(*(total if tail is None else jax.tree.map(jnp.add, total, tail)))


def materialize(x_ND, span_state: SpanState, dtype):
    """The weights {"w": c·w₀ + Xᵀa, "b": b} of a span state, computed in float64, in `dtype`."""
    a, c, b = span_state.coef["a"], span_state.coef["c"], span_state.coef["b"]
    stacked, tail = _column_blocks(lambda x_MC: jnp.dot(a, _features64(x_MC, dtype), precision=HIGHEST), x_ND)
    xa_D = stacked.reshape(-1) if tail is None else jnp.concatenate([stacked.reshape(-1), tail])
    return {"w": (c * span_state.anchor + xa_D).astype(dtype), "b": b.astype(dtype)}


def _data_cost(z_N, y_N, weight_N):
    """The data term of `loss.cost` from the logits: the mean, or Σ sᵢLᵢ / Σ sᵢ."""
    loss_N = optax.sigmoid_binary_cross_entropy(z_N, y_N.astype(z_N.dtype))
    if weight_N is None:
        return jnp.mean(loss_N)
    weight_N = weight_N.astype(loss_N.dtype)
    return jnp.sum(weight_N * loss_N) / jnp.sum(weight_N)


def _value_and_grad(g: Gram, coef, y_N, weight_N, l2):
    """J at `coef` and the coefficients of ∇J (full batch)."""
    a, c = coef["a"], coef["c"]
    ka_M = jnp.dot(g.k_MM, a, precision=HIGHEST)
    data, r_M = jax.value_and_grad(_data_cost)(ka_M + c * g.z0_M + coef["b"], y_N, weight_N)
    squares = a @ ka_M + 2 * c * (a @ g.z0_M) + c * c * g.anchor_sq
    value = data + jnp.where(l2 == 0, 0.0, 0.5 * l2 * squares)  # as `loss.cost`: no NaN from an overflow
    return value, {"a": r_M + l2 * a, "c": l2 * c, "b": jnp.sum(r_M)}


def _grad_norm(g: Gram, grads, tol):
    """‖∇J‖ in weight space, computed only when tol > 0 reads it (a second m² product per step)."""

    def norm():
        ga, gc = grads["a"], grads["c"]
        sq = ga @ jnp.dot(g.k_MM, ga, precision=HIGHEST) + 2 * gc * (ga @ g.z0_M) + gc * gc * g.anchor_sq
        return jnp.sqrt(jnp.maximum(sq, 0) + grads["b"] ** 2)

    return jax.lax.cond(tol > 0, norm, lambda: jnp.asarray(jnp.inf, F64))


def _minibatch_epoch(state, g: Gram, y_N, weight_N, hparams, optim, batch_size):
    """ceil(m / B) updates over the permutation `train._minibatch_epoch` draws from the same key."""
    key, perm_key = jax.random.split(state.key)
    m = y_N.shape[0]
    idx_KB, mask_KB = train.epoch_batches(perm_key, m, batch_size)
    span_state = state.opt_state
    weight_N = jnp.ones(y_N.shape, F64) if weight_N is None else weight_N.astype(F64)
    opt, l2 = make_optimizer(optim, hparams), hparams["l2"]

    def batch_update(carry, batch):
        coef, inner = carry
        idx_B, mask_B = batch
        z_B = jnp.dot(g.k_MM[idx_B], coef["a"], precision=HIGHEST) + coef["c"] * g.z0_M[idx_B] + coef["b"]
        r_B = jax.grad(_data_cost)(z_B, y_N[idx_B], weight_N[idx_B] * mask_B.astype(F64))
        grads = {"a": jnp.zeros((m,), F64).at[idx_B].add(r_B) + l2 * coef["a"], "c": l2 * coef["c"]}
        updates, inner = opt.update({**grads, "b": jnp.sum(r_B)}, inner, coef)
        return (optax.apply_updates(coef, updates), inner), None

    (coef, inner), _ = jax.lax.scan(batch_update, (span_state.coef, span_state.inner), (idx_KB, mask_KB))
    return state._replace(opt_state=span_state._replace(coef=coef, inner=inner), step=state.step + 1, key=key)


def _full_batch_update(state, grads, hparams, optim):
    span_state = state.opt_state
    updates, inner = make_optimizer(optim, hparams).update(grads, span_state.inner, span_state.coef)
    coef = optax.apply_updates(span_state.coef, updates)
    return state._replace(opt_state=span_state._replace(coef=coef, inner=inner), step=state.step + 1)


def run_steps(state: train.TrainState, x_ND, y_N, hparams: HParams, *, gram: Gram, **kwargs):
    """`train.run_steps` in the span (in JAX's 64-bit mode): (final state, its weights materialized in the
    run's dtype; cost before each iteration, in that dtype)."""
    with runtime.precision_scope("float64"):
        return _run_steps(state, x_ND, y_N, hparams, gram=gram, **kwargs)


@functools.partial(jax.jit, static_argnames=("num_steps", "optim", "batch_size", "model"))
def _run_steps(state, x_ND, y_N, hparams, *, gram, num_steps, optim="sgd", weight_N=None, batch_size=None, model=None):
    del model  # logistic regression (`choose`)
    if as_spec(optim).name not in LINEAR_OPTIMIZERS:
        raise ConfigError(f"optim.name={as_spec(optim).name}: the span parametrization needs sgd")
    dtype, hparams = param_dtype(state.params), _widened(hparams)
    start, tol = state.step, hparams["tol"]
    objective = functools.partial(_value_and_grad, gram, y_N=y_N, weight_N=weight_N, l2=hparams["l2"])

    def iteration(carry):
        state, costs_T, value, grads, _ = carry
        costs_T = costs_T.at[state.step - start].set(value)
        if batch_size is None:
            state = _full_batch_update(state, grads, hparams, optim)
        else:
            state = _minibatch_epoch(state, gram, y_N, weight_N, hparams, optim, batch_size)
        value, grads = objective(state.opt_state.coef)
        return state, costs_T, value, grads, _grad_norm(gram, grads, tol)

    value, grads = objective(state.opt_state.coef)
    carry = (state, jnp.full((num_steps,), jnp.nan, F64), value, grads, _grad_norm(gram, grads, tol))

    def keep_going(carry):
        return (carry[0].step - start < num_steps) & ~(carry[-1] < tol)

    state, costs_T, *_ = jax.lax.while_loop(keep_going, iteration, carry)
    return state._replace(params=materialize(x_ND, state.opt_state, dtype)), costs_T.astype(dtype)


def fit(
    state: train.TrainState,
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
) -> train.FitResult:
    """`train.fit` of a span state (`to_span`): K built once, then the same chunks and hooks."""
    t0 = time.perf_counter()
    with runtime.CompileMeter() as compiling:
        k = jax.block_until_ready(gram(x_ND, state.opt_state.anchor, param_dtype(state.params)))
    build_s = time.perf_counter() - t0
    result = train.fit(
        state,
        x_ND,
        y_N,
        hparams,
        num_steps=num_steps,
        optim=optim,
        chunk_size=chunk_size,
        on_chunk=on_chunk,
        weight_N=weight_N,
        batch_size=batch_size,
        model=model,
        run=functools.partial(run_steps, gram=k),
    )
    return result._replace(
        compile_s=result.compile_s + compiling.seconds, run_s=result.run_s + build_s - compiling.seconds
    )
