"""uint8 pixels kept as uint8 in host and device memory, scaled by 1/255 inside the compiled step.

A data set of m images of n values costs m*n bytes, not 4*m*n. On CPU, XLA converts a whole uint8 matrix
to float before a dot product (4x the memory, and slow), so the rows are processed in chunks that stay in
cache (`lax.scan` over `dynamic_slice`s of X), and the cost and its gradient come out of ONE pass:

    J = Σ_c Σ_{i∈c} wᵢLᵢ / Σ wᵢ,      ∇J = Σ_c ∇(Σ_{i∈c} wᵢLᵢ) / Σ wᵢ

each chunk's gradient taken with `jax.value_and_grad` while its converted rows are still in cache, and
the sum handed to the outer `jax.grad` through a `custom_vjp`: each chunk is converted once per step,
not once for the forward pass and again for a recomputed backward pass (`chunk_rows()` rows at a time;
`scripts/benchmark.py --suite scale` measures the throughput).

When a device mesh with a "batch" axis is set (`jax.set_mesh`, see `lr_jax.parallel`), each device makes
its pass over its own rows inside `jax.shard_map` and the sums are all-reduced (`psum`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

BATCH_AXIS = "batch"
PIXEL_MAX = 255.0
# Rows per chunk by backend: small chunks stay in the CPU's caches; an accelerator wants big ones.
CHUNK_ROWS = {"cpu": 64}
DEFAULT_CHUNK_ROWS = 32768
MIN_CHUNKS = 4  # fewer rows than this many chunks: one piece, no loop (the course's 209 images)
# Backends on which `features_dot` of integer pixels is a fused multiply-and-sum instead of a dot product.
# A dot product of uint8 rows makes XLA convert them into a float buffer first (on a GPU, 13 bytes of
# memory traffic per pixel instead of 1); a sum of products reads the uint8 once inside one reduction
# kernel. Empty until measured: `python scripts/gpu_check.py pixels` compares the two on a GPU.
FUSED_REDUCTION_BACKENDS: set[str] = set()


def is_pixels(x) -> bool:
    """True for integer arrays, which hold raw 0-255 pixels to be scaled by 1/255."""
    return jnp.issubdtype(x.dtype, jnp.integer)


def as_features(x, dtype):
    """Integer pixels divided by 255 in `dtype` (the course's features, to the last bit); floats as they are."""
    return x.astype(dtype) / PIXEL_MAX if is_pixels(x) else x


def features_dot(x_D, w_D):
    """(x / 255)ᵀw for integer pixels (xᵀw for floats), as a dot product or, on the backends of
    `FUSED_REDUCTION_BACKENDS`, as a sum of products that XLA fuses with the conversion."""
    if is_pixels(x_D) and w_D.ndim == 1 and jax.default_backend() in FUSED_REDUCTION_BACKENDS:
        return jnp.sum(as_features(x_D, w_D.dtype) * w_D, axis=-1)
    return jnp.dot(as_features(x_D, w_D.dtype), w_D)


@functools.partial(jax.jit, static_argnames="dtype")
def _features(x, dtype):
    return as_features(x, dtype)


def for_training(x_ND, dtype):
    """`x_ND` as a training program takes it: integer pixels too few for the chunked pass converted to
    features here, once (as `as_features`); anything else as it is.

    Given small uint8 pixels, XLA converts them inside the training program anyway, before its loop, into a
    buffer that the loop's products read more slowly than an input; the memory is the same, as that buffer
    exists while it trains.
    """
    return _features(x_ND, dtype) if is_pixels(x_ND) and not is_large(x_ND) else x_ND


def is_large(x_ND) -> bool:
    """Enough rows for the chunked pass; fewer go through plain autodiff (the same numbers, no loop)."""
    return x_ND.shape[0] >= MIN_CHUNKS * chunk_rows()


def chunk_rows() -> int:
    return CHUNK_ROWS.get(jax.default_backend(), DEFAULT_CHUNK_ROWS)


def _batch_mesh():
    """The mesh set by `jax.set_mesh` when it has a "batch" axis, else None (also on JAX without meshes)."""
    get = getattr(jax.sharding, "get_abstract_mesh", None)
    mesh = get() if get else None
    return None if mesh is None or mesh.empty or BATCH_AXIS not in mesh.axis_names else mesh


def _per_device(fn, out_specs, *args):
    """`fn(*args)` on each device's rows (args after the first are batch-sharded) when a mesh is set."""
    mesh = _batch_mesh()
    if mesh is None:
        return fn(*args)
    specs = (P(),) + tuple(None if a is None else P(BATCH_AXIS) for a in args[1:])
    return jax.shard_map(fn, mesh=mesh, in_specs=specs, out_specs=out_specs)(*args)


def _device_varying(tree):
    """Mark replicated values as per-device inside shard_map: JAX would otherwise psum their gradient."""
    if hasattr(jax.lax, "pcast"):  # current JAX
        return jax.tree.map(lambda a: jax.lax.pcast(a, BATCH_AXIS, to="varying"), tree)
    if hasattr(jax.lax, "pvary"):  # its earlier name
        return jax.tree.map(lambda a: jax.lax.pvary(a, BATCH_AXIS), tree)
    return tree  # older shard_map leaves gradients per device


def _scan_chunks(fn, x_ND, *rest):
    """Σ over row chunks of `fn(x_chunk, *rest_chunks)` (a pytree), the tail chunk included."""
    m, rows = x_ND.shape[0], chunk_rows()
    num_chunks, tail = divmod(m, rows)
    take = lambda a, start, size: None if a is None else jax.lax.dynamic_slice_in_dim(a, start, size)
    if num_chunks < MIN_CHUNKS:
        return fn(x_ND, *rest)

    def body(total, i):
        part = fn(*(take(a, i * rows, rows) for a in (x_ND, *rest)))
        return jax.tree.map(jnp.add, total, part), None

    first = fn(*(take(a, 0, rows) for a in (x_ND, *rest)))
    total, _ = jax.lax.scan(body, first, jnp.arange(1, num_chunks))
    if tail:
        total = jax.tree.map(jnp.add, total, fn(*(take(a, num_chunks * rows, tail) for a in (x_ND, *rest))))
    return total


def batched_logit(vlogit, params, x_ND: jax.Array) -> jax.Array:
    """z = X w / 255 + b for uint8 X of shape (m, n) (z f[m], or f[m, K] for K logits per example), per device
    and in row chunks; `vlogit(params, x_chunk)` is the model's batched forward pass."""

    def local(p, x):
        rows = chunk_rows()
        if x.shape[0] < MIN_CHUNKS * rows:
            return vlogit(p, x)
        head = x.shape[0] // rows * rows
        chunk = lambda i: vlogit(p, jax.lax.dynamic_slice_in_dim(x, i * rows, rows))
        z_C = jax.lax.map(jax.checkpoint(chunk), jnp.arange(x.shape[0] // rows))  # (chunks, rows[, K])
        z = z_C.reshape(-1, *z_C.shape[2:])
        return jnp.concatenate([z, vlogit(p, x[head:])]) if head < x.shape[0] else z

    return _per_device(local, P(BATCH_AXIS), params, x_ND)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def loss_sum(batch_losses, params, x_ND, y_N, weight_N):
    """Σᵢ wᵢ L(params, xᵢ, yᵢ) (wᵢ = 1 when weight_N is None) in one chunked pass over X; `batch_losses(params,
    x_chunk, y_chunk)` gives each example's loss."""
    return _loss_sum_and_grad(batch_losses, params, x_ND, y_N, weight_N)[0]


def _loss_sum_and_grad(batch_losses, params, x_ND, y_N, weight_N):
    def chunk_sum(p, x, y, w):
        loss = batch_losses(p, x, y)
        return jnp.sum(loss if w is None else w * loss)

    def local(p, x, y, w):
        sharded = _batch_mesh() is not None
        p = _device_varying(p) if sharded else p  # so that each device's gradient stays its own
        total = _scan_chunks(lambda *c: jax.value_and_grad(chunk_sum)(p, *c), x, y, w)
        return jax.lax.psum(total, BATCH_AXIS) if sharded else total

    return _per_device(local, (P(), P()), params, x_ND, y_N, weight_N)


def _loss_sum_bwd(batch_losses, grads, cotangent):
    return jax.tree.map(lambda g: g * cotangent, grads), None, None, None


loss_sum.defvjp(_loss_sum_and_grad, _loss_sum_bwd)  # forward: (Σ wL, its gradient as residual)
