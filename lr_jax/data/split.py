"""One split of a data set, and what every source and caller does with one: flatten, scale, shard, carve.

The leaf of the data package: every source (`course`, `image_folder`, `synthetic`) builds `Split`s from
here, and nothing here imports a source. Features follow the course's order, `x.reshape(m, -1)` (R, G, B
interleaved per pixel), scaled by 1/255 in float64 and rounded once to the run's dtype.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from lr_jax.config import DataConfig
from lr_jax.errors import DataError

DEFAULT_CLASSES = ("non-cat", "cat")


class Split(NamedTuple):
    """One split of the data: raw pixels, flat labels and class names."""

    x_raw: np.ndarray  # uint8[m, H, W, 3] images as stored (uint8[m, n] for synthetic, f32[m, n] digits features)
    y: np.ndarray  # int64[m], 0 = classes[0], 1 = classes[1], ... (K classes: 0 to K - 1)
    classes: tuple[str, ...]

    def features(self, dtype=np.float32, scale: bool = True) -> np.ndarray:
        """The course's design matrix, (m, H*W*3) scaled to [0, 1] (0-255 if not `scale`), rounded to `dtype`."""
        return flatten_and_scale(self.x_raw, dtype, scale)


def flatten_and_scale(x_raw: np.ndarray, dtype=np.float32, scale: bool = True) -> np.ndarray:
    """`x.reshape(m, -1) / 255` (raw 0-255 values if not `scale`), in float64, rounded once to `dtype`; float
    `x_raw` are features already (data=digits) and are only flattened and rounded."""
    x_MD = x_raw.reshape(x_raw.shape[0], -1).astype(np.float64)
    if x_raw.dtype.kind == "f":
        return x_MD.astype(dtype)
    return (x_MD / 255.0 if scale else x_MD).astype(dtype)


def content_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-contiguous bytes (how the shared README identifies the data)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def shard_rows(m: int, index: int, count: int) -> slice:
    """The contiguous block of rows [index * ceil(m/count), ...) that process `index` of `count` trains on."""
    block = -(-m // count)
    return slice(min(m, index * block), min(m, (index + 1) * block))


def split_validation(split: Split, fraction: float, seed: int) -> tuple[Split, Split | None]:
    """(train, val): round(fraction * m) examples drawn for validation by a permutation seeded by `seed`.

    Both parts keep the original order of their examples; `fraction = 0` returns (split, None).
    """
    m = split.y.shape[0]
    n_val = int(round(fraction * m))
    if n_val == 0:
        return split, None
    if n_val >= m:
        raise DataError(f"data.val_fraction={fraction} leaves no training example out of {m}; use less.")
    is_val = np.zeros(m, bool)
    is_val[np.random.default_rng(seed).permutation(m)[:n_val]] = True
    part = lambda keep: Split(split.x_raw[keep], split.y[keep], split.classes)
    return part(~is_val), part(is_val)


def check_both_classes(train: Split, cfg: DataConfig) -> None:
    """Refuse a training set (after the validation split) without an example of a class (either of two, any
    of K)."""
    k = len(train.classes)
    counts = np.bincount(train.y, minlength=k)
    missing = [train.classes[c] for c in range(k) if counts[c] == 0]
    if not missing:
        return
    source = f"data.dir={cfg.dir}" if cfg.dir else f"data.name={cfg.name}"
    after = f" after data.val_fraction={cfg.val_fraction}" if cfg.val_fraction else ""
    held_out = ", or lower data.val_fraction" if cfg.val_fraction else ""
    held = ", ".join(f"{counts[c]} {train.classes[c]!r}" for c in range(k))
    every = "both classes" if k == 2 else f"an example of each of its {k} classes"
    raise DataError(
        f"{source}: the training set{after} holds no example of class {missing} ({held}); a classifier needs "
        f"{every}. Add examples of {missing}{held_out}."
    )
