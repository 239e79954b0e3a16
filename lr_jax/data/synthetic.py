"""A synthetic data set of any size: uint8 "pixels" labelled by a known linear separator.

Row r of the stream is drawn from `numpy.random.default_rng([seed, 1, r // CHUNK_ROWS])` chunk by chunk,
so any range of rows is the same whichever process generates it and memory stays bounded by the output
plus one chunk. The label is the side of the true separator:

    y = 1  iff  w_trueᵀ(x / 255 - 1/2) > 0,    w_true ~ N(0, I) from `default_rng([seed, 0])`

so the data are linearly separable. With `num_classes` K > 2 the label is the class of the largest of K
linear scores (a linear teacher of K classes, still separable by softmax regression):

    y = argmax_k W_trueᵀ(x / 255 - 1/2),    W_true ~ N(0, I) of shape (n, K) from `default_rng([seed, 0])`

With `teacher="mlp"` (two classes) the labels come from a fixed random network
instead (the scale study's task): its hidden units square their input, so no linear model does much
better than chance while a network with enough units and examples approaches 100 %:

    u = (x / 255 - 1/2)·√12  (unit variance),   h = W_tᵀu / √n,   y = 1  iff  Σⱼ vⱼ (hⱼ² - 1) > 0,

W_t ~ N(0, 1) of shape (n, TEACHER_WIDTH) and v ~ N(0, 1) from `default_rng([seed, 2])`; each hⱼ is about
N(0, 1), so the score has mean about 0 and the classes are roughly balanced.

Train is rows [0, m), test rows [m, m + m_test) of the same stream.
"""

from __future__ import annotations

import numpy as np

from lr_jax.config import DataConfig
from lr_jax.data.split import Split

CHUNK_ROWS = 512
CLASSES = ("negative", "positive")  # two classes; K > 2: class_names(K)
TEACHER_WIDTH = 16  # hidden units of the mlp teacher


def class_names(num_classes: int) -> tuple[str, ...]:
    """The classes' names: CLASSES for two, "class0" ... "class{K-1}" for K > 2."""
    return CLASSES if num_classes == 2 else tuple(f"class{k}" for k in range(num_classes))


def true_scores(num_features: int, num_classes: int, seed: int) -> np.ndarray:
    """W_true, float64[n, K], the K-class teacher (K > 2)."""
    return np.random.default_rng([seed, 0]).standard_normal((num_features, num_classes))


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


def mlp_teacher(num_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(W_t float64[n, TEACHER_WIDTH], v float64[TEACHER_WIDTH]), the network that labels teacher="mlp" data."""
    rng = np.random.default_rng([seed, 2])
    return rng.standard_normal((num_features, TEACHER_WIDTH)), rng.standard_normal(TEACHER_WIDTH)


def mlp_teacher_labels(x_KD: np.ndarray, seed: int) -> np.ndarray:
    """The mlp teacher's labels of uint8 rows."""
    w_DH, v_H = mlp_teacher(x_KD.shape[1], seed)
    h_KH = (x_KD / 255.0 - 0.5) * np.sqrt(12.0) @ w_DH / np.sqrt(x_KD.shape[1])
    return (np.square(h_KH) - 1) @ v_H > 0


def generate(
    start: int, stop: int, num_features: int, seed: int, teacher: str = "linear", num_classes: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Rows [start, stop) of the stream: (uint8[k, n] pixels, int64[k] labels)."""
    if num_classes > 2:
        w_D = true_scores(num_features, num_classes, seed).astype(np.float32)  # (n, K) here
    else:
        w_D = true_separator(num_features, seed).astype(np.float32)
    half_sum_w = np.float32(0.5) * w_D.sum(axis=0)
    x_KD = aligned_empty((stop - start, num_features), np.uint8)
    y_K = np.empty(stop - start, np.int64)
    for chunk in range(start // CHUNK_ROWS, -(-stop // CHUNK_ROWS)):
        lo, hi = chunk * CHUNK_ROWS, (chunk + 1) * CHUNK_ROWS
        rows_CD = np.random.default_rng([seed, 1, chunk]).integers(0, 256, (CHUNK_ROWS, num_features), np.uint8)
        a, b = max(lo, start), min(hi, stop)
        part = rows_CD[a - lo : b - lo]
        x_KD[a - start : b - start] = part
        if teacher == "mlp":
            y_K[a - start : b - start] = mlp_teacher_labels(part, seed)
        elif num_classes > 2:
            y_K[a - start : b - start] = np.argmax((part @ w_D) / np.float32(255) - half_sum_w, axis=1)
        else:  # wᵀ(x/255 - 1/2) as (xᵀw)/255 - Σw/2: one matrix-vector product on the uint8 rows, no scaled copy
            y_K[a - start : b - start] = (part @ w_D) / np.float32(255) - half_sum_w > 0
    return x_KD, y_K


def load(cfg: DataConfig, rows: slice | None = None) -> dict[str, Split]:
    """{"train", "test"} Splits; `rows` restricts the training split to those rows (one process's shard)."""
    m, n = cfg.num_examples, cfg.num_features
    start, stop, _ = (rows or slice(0, m)).indices(m)
    k, names = cfg.num_classes, class_names(cfg.num_classes)
    train = Split(*generate(start, stop, n, cfg.seed, cfg.teacher, k), names)
    test = Split(*generate(m, m + cfg.num_test, n, cfg.seed, cfg.teacher, k), names)
    return {"train": train, "test": test}
