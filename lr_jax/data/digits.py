"""scikit-learn's bundled handwritten digits: 1,797 images of 8x8 pixels in 10 classes, the digits 0 to 9.

No download: `sklearn.datasets.load_digits` reads a file shipped inside scikit-learn (install it with
`pip install scikit-learn`). Each pixel holds 0 to 16 (ink counts of a 4x4 block of the original 32x32
bitmap); the features are those values divided by 16, in [0, 1], stored as float32 `x_raw` of shape
(m, 64): features already, which the pipeline takes as they are (no 1/255 scaling).

The test split is `data.test_fraction` of the examples, drawn by a permutation seeded by `data.seed` as the
image-folder source draws its own (both splits keep the data set's order).
"""

from __future__ import annotations

import numpy as np

from lr_jax.config import DataConfig
from lr_jax.data.split import Split
from lr_jax.errors import DataError

CLASSES = tuple(str(d) for d in range(10))
PIXEL_MAX = 16.0  # load_digits' largest pixel value


def read_digits() -> Split:
    """The whole data set: f32[1797, 64] features in [0, 1] and their int64 labels."""
    try:
        from sklearn.datasets import load_digits  # only for this source: scikit-learn imports slowly
    except ImportError as e:
        raise DataError(
            "data.name=digits reads scikit-learn's bundled digits, and scikit-learn is not installed: "
            "pip install scikit-learn (or choose another data set)."
        ) from e
    bunch = load_digits()
    x_MD = (np.asarray(bunch.data, np.float64) / PIXEL_MAX).astype(np.float32)
    return Split(x_MD, np.asarray(bunch.target, np.int64), CLASSES)


def load(cfg: DataConfig) -> dict[str, Split]:
    """{"train": Split, "test": Split}: `cfg.test_fraction` of the digits held out, drawn with `cfg.seed`."""
    whole = read_digits()
    order = np.random.default_rng([cfg.seed, 2]).permutation(len(whole.y))
    num_test = max(1, round(cfg.test_fraction * len(order)))
    pick = {"train": np.sort(order[num_test:]), "test": np.sort(order[:num_test])}
    return {s: Split(whole.x_raw[i], whole.y[i], whole.classes) for s, i in pick.items()}
