r"""Training in the span of the data: a model's first layer trained by SGD (plain, momentum, Nesterov; any
schedule) on the m x m Gram matrix K = X Xᵀ instead of the m x n features, for m < n examples.

A model that sees x only through the product x W of its first-layer weights W (n, *units): logistic
regression's w (n,), the MLP's W1 (n, h) (`model.first_layer`, `model.from_first_layer`). Every gradient
of J in W is XᵀR + λW (R = ∂J_data/∂(XW), m x units), so from W₀ the first layer never leaves W₀'s line
plus the row space of X. With coefficients A (m, *units), c (on W₀) and the model's other params θ:

    W = c·W₀ + XᵀA,     XW = K A + c·Z₀,     K = X Xᵀ,  Z₀ = X W₀
    ∂J/∂W = Xᵀ(R + λA) + λc·W₀,      ∂J/∂θ as in weights,      ‖W‖² = ⟨A, KA⟩ + 2c⟨A, Z₀⟩ + c²‖W₀‖²
    ‖∇J‖² = ⟨G_A, K G_A⟩ + 2 g_c⟨G_A, Z₀⟩ + g_c²‖W₀‖² + ‖∇_θ J‖²    (G = the gradient's coefficients)

(for logistic regression θ = {b}, ∂J/∂b = Σᵢ rᵢ). optax's sgd (`trace`: v ← g + μv, with Nesterov
g + μv; then × -α_t) is linear in the gradient and treats every leaf alike, so optax itself, run on
{"a", "c", *θ} with the gradient's coefficients {R + λA, λc, ∂J/∂θ}, yields the coefficients of the
weight-space iterates: the same iterates in exact arithmetic, at m²·units instead of 2mn·units multiply-adds
per step for the first layer. A minibatch's gradient is X_BᵀR_B: R_B scattered into A's rows. Adam
(per-coordinate scaling) and L-BFGS (its line search in W) leave the span: they train in weights (`choose`).
A sweep's grid (states stacked on axis 0) shares one K; each point keeps its own W₀ and Z₀.

The span's own arithmetic is float64, also in a float32 run (whose features, weights and costs stay float32):
it costs m² per step, and float32 would move the course's float32 cost table (by 1.3e-6 with K from XLA's
float32 product, by 8.2e-7 with float32 coefficients) more than the 1.4e-8 between a printed cost and its
rounding boundary. The state is a `TrainState` whose `opt_state` is a `SpanState` (W₀, the coefficients and
θ, optax's state of them, all float64) and whose `params` are the weights materialized at the end of each
compiled chunk, so hooks, checkpoints, early stopping and evaluation see ordinary weights, and a checkpoint
holds the coefficients (a run resumes exactly).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lr_jax import loss, pixels, runtime, train
from lr_jax.errors import ConfigError
from lr_jax.models.interface import Model, is_softmax, param_dtype
from lr_jax.models.logistic import LOGISTIC
from lr_jax.optim import HParams, OptimSpec, as_spec, make_optimizer

SPAN, WEIGHTS = "span", "weights"  # train.parametrization's choices besides auto
LINEAR_OPTIMIZERS = frozenset({"sgd"})  # optax.sgd with or without (Nesterov) momentum, any schedule
MAX_EXAMPLES = 16384  # K's float64 accumulator: 8·m² bytes = 2 GiB at this m
GRAM_COLUMNS = 1024  # features per block while K is accumulated: the float64 copy of X is m x 1024 at most
HIGHEST = jax.lax.Precision.HIGHEST  # no reduced-precision passes for the span's products on a GPU
F64 = jnp.float64  # the span's arithmetic (see the module docstring)
SPAN_COEFFICIENTS = ("a", "c")  # the coefficients of the first layer; the other keys of `coef` are its params


class SpanState(NamedTuple):
    """The optimizer state of a run in the span (`TrainState.opt_state`), float64."""

    anchor: jax.Array  # W₀, f64[n, *units]: the first layer's starting weights
    coef: dict  # {"a": f64[m, *units], "c": f64[]} (W = c·W₀ + XᵀA) and the model's other params
    inner: Any  # optax's state of `coef`


class Gram(NamedTuple):
    """What the loop needs of X and W₀, computed once per fit, float64."""

    k_MM: jax.Array  # K = X Xᵀ
    z0_M: jax.Array  # Z₀ = X W₀, f64[m, *units]
    anchor_sq: jax.Array  # ‖W₀‖²


def first_layer(model: Model) -> str | None:
    """The params key of the model's first-layer weights W (n, *units), whose product X W is all the model
    makes of x (`model.from_first_layer`), or None for a model that does not declare one."""
    return getattr(model, "first_layer", None)


def first_layer_units(model: Model, state: train.TrainState) -> int:
    """The columns of the first layer of `state` (a grid's too): 1 for w (n,), h for W (n, h)."""
    leaf = first_layer(model)
    if leaf is None:
        return 1
    grid = 1 if is_grid(state) else 0  # a grid's axis leads every leaf
    return math.prod(state.params[leaf].shape[grid + 1 :])


def choose(
    setting: str,
    *,
    m: int,
    n: int,
    optimizer: str,
    model: Model,
    num_steps: int,
    sharded: bool = False,
    units: int = 1,
) -> tuple[str, str]:
    """(SPAN or WEIGHTS, why) for `train.parametrization` = `setting` (auto, weights or span).

    auto picks the span when it is exact (a model with a first layer, optimizer sgd, one device) and pays:
    m <= n/4 (K's m² float64 values, 8m² bytes, at most twice X's m·n bytes as uint8 pixels), m <=
    MAX_EXAMPLES (K within 2 GiB), and the iterations repay building K: K costs m²n multiply-adds once;
    the first layer of `units` columns costs m²·units per step in the span against 2mn·units in weights,
    so the span pays when num_steps·units·(2n - m) > m·n.
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
    if num_steps * units * (2 * n - m) <= m * n:
        return WEIGHTS, f"{num_steps} iterations do not repay building K (m={m}, n={n})"
    return SPAN, f"m={m} < n={n}"


def _why_not_exact(optimizer: str, model: Model, sharded: bool) -> str:
    """Why the span does not hold the weight-space iterates ('' when it does)."""
    if optimizer not in LINEAR_OPTIMIZERS:
        return f"optim.name={optimizer} is not linear in the gradients (only sgd, with any momentum and schedule)"
    if first_layer(model) is None:
        return f"the span parametrization needs a model with a first layer (logistic or mlp), not {model!r}"
    if sharded:
        return "the span parametrization runs on one device (set parallel.data_parallel=false)"
    return ""


def is_span(state: train.TrainState) -> bool:
    """Whether `state` trains in the span (its optimizer state is a `SpanState`)."""
    return isinstance(state.opt_state, SpanState)


def work_params(state: train.TrainState) -> int:
    """The parameters an iteration multiplies each example by (`stages.chunk_length`'s work): all of them in
    weights; in the span, A's m·units (K·A) instead of the first layer's n·units. A grid's: all its members'."""
    sizes = sum(math.prod(jnp.shape(leaf)) for leaf in jax.tree.leaves(state.params))
    if not is_span(state):
        return sizes
    return sizes - math.prod(jnp.shape(state.opt_state.anchor)) + math.prod(jnp.shape(state.opt_state.coef["a"]))


def is_grid(state: train.TrainState) -> bool:
    """Whether `state` is a sweep's grid of states stacked on a leading axis (its step is a vector)."""
    return jnp.ndim(state.step) == 1


def to_span(
    state: train.TrainState, hparams: HParams, *, m: int, optim: str | OptimSpec = "sgd", model: Model = LOGISTIC
) -> train.TrainState:
    """`state` (at its start; a sweep's stacked grid too) as a span state over m examples: A = 0, c = 1, the
    same weights."""
    convert = functools.partial(_to_span, m=m, optim=optim, leaf=first_layer(model))
    with runtime.precision_scope("float64"):
        return (jax.vmap(convert) if is_grid(state) else convert)(state, hparams)


@functools.partial(jax.jit, static_argnames=("m", "optim", "leaf"))
def _to_span(state, hparams, *, m, optim, leaf):
    w0 = state.params[leaf]
    rest = {k: v.astype(F64) for k, v in state.params.items() if k != leaf}
    coef = {"a": jnp.zeros((m, *w0.shape[1:]), F64), "c": jnp.ones((), F64), **rest}
    inner = make_optimizer(optim, _widened(hparams)).init(coef)
    return state._replace(opt_state=SpanState(w0.astype(F64), coef, inner))


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


def _block_sum(fn, x_ND, *rest_D):
    """Σ over the feature blocks of fn(x block, rest blocks...), a pytree."""
    stacked, tail = _column_blocks(fn, x_ND, *rest_D)
    total = jax.tree.map(lambda s: jnp.sum(s, axis=0), stacked)
    return total if tail is None else jax.tree.map(jnp.add, total, tail)


def _features64(x_MC, dtype):
    """The features exactly as the weight-space run of `dtype` sees them, widened to float64."""
    return pixels.as_features(x_MC, dtype).astype(F64)


def _times(x_MC, w_C):
    """X W over the features (axis 0 of W, of any trailing shape)."""
    return jnp.tensordot(x_MC, w_C, axes=(1, 0), precision=HIGHEST)


def gram(x_ND, anchor, dtype, *, grid: bool = False) -> Gram:
    """K, Z₀ and ‖W₀‖² of the run's features (of `dtype`), accumulated in float64; for a grid (`anchor`
    stacked on axis 0) one K and the anchors' terms stacked."""
    with runtime.precision_scope("float64"):
        terms = functools.partial(_anchor_terms, x_ND, dtype=dtype)
        z0, anchor_sq = (jax.vmap(terms) if grid else terms)(anchor)
        return Gram(_kernel(x_ND, dtype=dtype), z0, anchor_sq)


@functools.partial(jax.jit, static_argnames=("dtype",))
def _kernel(x_ND, *, dtype):
    def block(x_MC):
        x_MC = _features64(x_MC, dtype)
        return jnp.dot(x_MC, x_MC.T, precision=HIGHEST)

    return _block_sum(block, x_ND)


@functools.partial(jax.jit, static_argnames=("dtype",))
def _anchor_terms(x_ND, anchor, *, dtype):
    return _block_sum(lambda x_MC, w_C: (_times(_features64(x_MC, dtype), w_C), jnp.sum(w_C * w_C)), x_ND, anchor)


def materialize(x_ND, span_state: SpanState, dtype, model: Model = LOGISTIC):
    """The weights of a span state ({first layer: c·W₀ + XᵀA, the other params}), computed in float64, in
    `dtype`."""
    a, c = span_state.coef["a"], span_state.coef["c"]
    stacked, tail = _column_blocks(lambda x_MC: _times(_features64(x_MC, dtype).T, a), x_ND)
    xa = stacked.reshape(-1, *a.shape[1:])
    xa = xa if tail is None else jnp.concatenate([xa, tail])
    params = {k: v.astype(dtype) for k, v in _rest(span_state.coef).items()}
    return {**params, first_layer(model): (c * span_state.anchor + xa).astype(dtype)}


def _rest(coef) -> dict:
    """The model's params besides its first layer, as `coef` holds them."""
    return {k: v for k, v in coef.items() if k not in SPAN_COEFFICIENTS}


def _squares(model: Model, rest, units_ndim: int):
    """‖·‖² of the penalized params besides the first layer (which stands in as a zero of one element)."""
    zero = jnp.zeros((1,) * (1 + units_ndim), F64)
    leaves = jax.tree.leaves(model.penalized({**rest, first_layer(model): zero}))
    return sum(jnp.sum(jnp.square(leaf)) for leaf in leaves)


def _first_layer_squares(g: Gram, a, c, ka):
    """‖c·W₀ + XᵀA‖² = ⟨A, KA⟩ + 2c⟨A, Z₀⟩ + c²‖W₀‖²."""
    return jnp.sum(a * ka) + 2 * c * jnp.sum(a * g.z0_M) + c * c * g.anchor_sq


def _value_and_grad(g: Gram, coef, y_N, weight_N, l2, model: Model, rows=None):
    """J at `coef` and the coefficients of ∇J: full batch, or the minibatch of example indices `rows`
    (int[B]; `weight_N` then the batch's weights), whose value is not needed."""
    a, c, rest = coef["a"], coef["c"], _rest(coef)
    units_ndim = a.ndim - 1
    ka = jnp.tensordot(g.k_MM if rows is None else g.k_MM[rows], a, axes=(1, 0), precision=HIGHEST)
    z0 = g.z0_M if rows is None else g.z0_M[rows]

    def objective(xw, rest):  # J but the first layer's L2 term, from the first layer's product X W
        z = model.from_first_layer(rest, xw)
        if z.shape[: y_N.ndim] != y_N.shape or z.ndim != y_N.ndim + is_softmax(model):  # at trace time
            raise ConfigError(f"{model!r} gives logits of shape {z.shape} for labels of shape {y_N.shape}")
        data = loss.mean_loss(loss.logit_loss(model, z, loss.targets(model, y_N, z.dtype)), weight_N)  # as cost's
        return data + jnp.where(l2 == 0, 0.0, 0.5 * l2 * _squares(model, rest, units_ndim))

    value, (r, rest_grads) = jax.value_and_grad(objective, argnums=(0, 1))(ka + c * z0, rest)
    r_a = r if rows is None else jnp.zeros(a.shape, F64).at[rows].add(r)  # X_Bᵀ r_B: r_B on the batch's rows
    if rows is None:
        squares = _first_layer_squares(g, a, c, ka)
        value = value + jnp.where(l2 == 0, 0.0, 0.5 * l2 * squares)  # as `loss.cost`: no NaN from an overflow
    return value, {"a": r_a + l2 * a, "c": l2 * c, **rest_grads}


def _grad_norm(g: Gram, grads, tol):
    """‖∇J‖ in weight space, computed only when tol > 0 reads it (a second m² product per step)."""

    def norm():
        ga, gc = grads["a"], grads["c"]
        kga = jnp.tensordot(g.k_MM, ga, axes=(1, 0), precision=HIGHEST)
        rest = sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree.leaves(_rest(grads)))
        return jnp.sqrt(jnp.maximum(_first_layer_squares(g, ga, gc, kga), 0) + rest)

    return jax.lax.cond(tol > 0, norm, lambda: jnp.asarray(jnp.inf, F64))


def _minibatch_epoch(state, g: Gram, y_N, weight_N, hparams, optim, batch_size, model):
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
        weight_B = weight_N[idx_B] * mask_B.astype(F64)
        _, grads = _value_and_grad(g, coef, y_N[idx_B], weight_B, l2, model, rows=idx_B)
        updates, inner = opt.update(grads, inner, coef)
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


def run_steps_batched(states: train.TrainState, x_ND, y_N, hparams: HParams, *, gram: Gram, **kwargs):
    """`run_steps` for a sweep's grid (states, hparams and the anchors' terms of `gram` stacked on axis 0,
    K shared): (final states, costs f[C, num_steps])."""
    with runtime.precision_scope("float64"):
        return _run_steps_batched(states, x_ND, y_N, hparams, gram=gram, **kwargs)


STATIC = ("num_steps", "optim", "batch_size", "model")


@functools.partial(jax.jit, static_argnames=STATIC)
def _run_steps(state, x_ND, y_N, hparams, *, gram, **kwargs):
    return _steps(state, x_ND, y_N, hparams, gram=gram, **kwargs)


@functools.partial(jax.jit, static_argnames=STATIC)
def _run_steps_batched(states, x_ND, y_N, hparams, *, gram, weight_N=None, **kwargs):
    def one(state, hp, z0, anchor_sq):
        g = Gram(gram.k_MM, z0, anchor_sq)
        return _steps(state, x_ND, y_N, hp, gram=g, weight_N=weight_N, **kwargs)

    return jax.vmap(one)(states, hparams, gram.z0_M, gram.anchor_sq)


def _steps(state, x_ND, y_N, hparams, *, gram, num_steps, optim="sgd", weight_N=None, batch_size=None, model=LOGISTIC):
    if as_spec(optim).name not in LINEAR_OPTIMIZERS:
        raise ConfigError(f"optim.name={as_spec(optim).name}: the span parametrization needs sgd")
    dtype, hparams = param_dtype(state.params), _widened(hparams)
    start, tol = state.step, hparams["tol"]
    objective = functools.partial(_value_and_grad, gram, y_N=y_N, weight_N=weight_N, l2=hparams["l2"], model=model)

    def iteration(carry):
        state, costs_T, value, grads, _ = carry
        costs_T = costs_T.at[state.step - start].set(value)
        if batch_size is None:
            state = _full_batch_update(state, grads, hparams, optim)
        else:
            state = _minibatch_epoch(state, gram, y_N, weight_N, hparams, optim, batch_size, model)
        value, grads = objective(state.opt_state.coef)
        return state, costs_T, value, grads, _grad_norm(gram, grads, tol)

    value, grads = objective(state.opt_state.coef)
    carry = (state, jnp.full((num_steps,), jnp.nan, F64), value, grads, _grad_norm(gram, grads, tol))

    def keep_going(carry):
        return (carry[0].step - start < num_steps) & ~(carry[-1] < tol)

    state, costs_T, *_ = jax.lax.while_loop(keep_going, iteration, carry)
    return state._replace(params=materialize(x_ND, state.opt_state, dtype, model)), costs_T.astype(dtype)


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
    """`train.fit` of a span state (`to_span`; a sweep's stacked grid too): K built once, then the same
    chunks and hooks."""
    t0 = time.perf_counter()
    grid = is_grid(state)
    with runtime.CompileMeter() as compiling:
        k = jax.block_until_ready(gram(x_ND, state.opt_state.anchor, param_dtype(state.params), grid=grid))
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
        run=functools.partial(run_steps_batched if grid else run_steps, gram=k),
    )
    return result._replace(
        compile_s=result.compile_s + compiling.seconds, run_s=result.run_s + build_s - compiling.seconds
    )
