"""A synthetic data set of any size: uint8 "pixels" labelled by a known linear separator.

Row r of the stream is drawn from `numpy.random.default_rng([seed, 1, r // CHUNK_ROWS])` chunk by chunk,
so any range of rows is the same whichever process generates it and memory stays bounded by the output
plus one chunk. The label is the side of the true separator:

    y = 1  iff  w_trueᵀ(x / 255 - 1/2) > 0,    w_true ~ N(0, I) from `default_rng([seed, 0])`

so the data are linearly separable. Train is rows [0, m), test rows [m, m + m_test) of the same stream.
"""

from __future__ import annotations

import numpy as np

from lr_jax.config import DataConfig
from lr_jax.data.split import Split

CHUNK_ROWS = 512
CLASSES = ("negative", "positive")


def true_separator(num_features: int, seed: int) -> np.ndarray:
    """w_true, float64[n], the separator that defines the labels."""
    return np.random.default_rng([seed, 0]).standard_normal(num_features)


def aligned_empty(shape, dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialized array whose data start on an `alignment`-byte boundary.

    JAX's CPU backend then uses the NumPy buffer in place (`jax.device_put` copies a misaligned one), so
    data on the "device" cost no second copy in host memory.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + alignment, np.uint8)
    offset = -raw.ctypes.data % alignment
    return raw[offset : offset + size].view(dtype).reshape(shape)


def generate(start: int, stop: int, num_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows [start, stop) of the stream: (uint8[k, n] pixels, int64[k] labels)."""
    w_D = true_separator(num_features, seed).astype(np.float32)
    half_sum_w = np.float32(0.5) * w_D.sum()
    x_KD = aligned_empty((stop - start, num_features), np.uint8)
    y_K = np.empty(stop - start, np.int64)
    for chunk in range(start // CHUNK_ROWS, -(-stop // CHUNK_ROWS)):
        lo, hi = chunk * CHUNK_ROWS, (chunk + 1) * CHUNK_ROWS
        rows_CD = np.random.default_rng([seed, 1, chunk]).integers(0, 256, (CHUNK_ROWS, num_features), np.uint8)
        a, b = max(lo, start), min(hi, stop)
        part = rows_CD[a - lo : b - lo]
        x_KD[a - start : b - start] = part
        # wᵀ(x/255 - 1/2) as (xᵀw)/255 - Σw/2: one matrix-vector product, 8x faster than scaling x first
        y_K[a - start : b - start] = (part @ w_D) / np.float32(255) - half_sum_w > 0
    return x_KD, y_K


def load(cfg: DataConfig, rows: slice | None = None) -> dict[str, Split]:
    """{"train", "test"} Splits; `rows` restricts the training split to those rows (one process's shard)."""
    m, n = cfg.num_examples, cfg.num_features
    start, stop, _ = (rows or slice(0, m)).indices(m)
    train = Split(*generate(start, stop, n, cfg.seed), CLASSES)
    test = Split(*generate(m, m + cfg.num_test, n, cfg.seed), CLASSES)
    return {"train": train, "test": test}
