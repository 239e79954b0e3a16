"""The course's cat / non-cat data: locate (or download), read, verify and flatten the two HDF5 files.

Each image is flattened in the course's order, `x.reshape(m, -1)` (12288 values per 64x64 RGB image,
R, G, B interleaved per pixel), and scaled by 1/255. Labels become a flat (m,) vector whatever layout
the file stores ((m,), (m, 1) or (1, m)). Content is checked against the sha256 of the four arrays,
which identifies the data set independently of how a copy's HDF5 bytes are laid out.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from lr_jax import download
from lr_jax.config import DataConfig
from lr_jax.errors import DataError

CONTENT_SHA256 = {
    "train_set_x": "5a22f47625d19c47045c085a17fdb1a263bae0fa9c67020fd40112e19dadc2c3",
    "train_set_y": "217e8c93aff2ec2a3f6137ab9f997236d8382a26856546b1fbf30ccd4bf7610e",
    "test_set_x": "c23d288e4a7ad7ab5b8b8e69e1aaefc683de77cbd020598fd6b4acdccbebabf3",
    "test_set_y": "7bfaabd03cfd57ee3f50dc1569bf1b72c548f7877d2f7ed9611ec69e697b8909",
}
DEFAULT_CLASSES = ("non-cat", "cat")


class Split(NamedTuple):
    """One split of the data: raw pixels, flat labels and class names."""

    x_raw: np.ndarray  # uint8[m, H, W, 3] images as stored (uint8[m, n] for synthetic features)
    y: np.ndarray  # int64[m], 0 = classes[0], 1 = classes[1]
    classes: tuple[str, ...]

    def features(self, dtype=np.float32, scale: bool = True) -> np.ndarray:
        """The course's design matrix, (m, H*W*3) scaled to [0, 1] (0-255 if not `scale`), rounded to `dtype`."""
        return flatten_and_scale(self.x_raw, dtype, scale)


def flatten_and_scale(x_raw: np.ndarray, dtype=np.float32, scale: bool = True) -> np.ndarray:
    """`x.reshape(m, -1) / 255` (raw 0-255 values if not `scale`), in float64, rounded once to `dtype`."""
    x_MD = x_raw.reshape(x_raw.shape[0], -1).astype(np.float64)
    return (x_MD / 255.0 if scale else x_MD).astype(dtype)


def content_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-contiguous bytes (how the shared README identifies the data)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def read_split(path: str | os.PathLike, split: str, verify: bool = True) -> Split:
    """Read `{split}_set_x` / `{split}_set_y` (and optional `list_classes`) from one HDF5 file."""
    path = Path(path)
    x_key, y_key = f"{split}_set_x", f"{split}_set_y"
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in (x_key, y_key) if k not in f]
            if missing:
                raise DataError(
                    f"{path}: missing key(s) {missing} (found {sorted(f.keys())}). Expected the course's "
                    f"'{x_key}' (m, 64, 64, 3) uint8 and '{y_key}' labels; use the course's file."
                )
            x_raw, y_stored = np.asarray(f[x_key]), np.asarray(f[y_key])
            classes = _read_classes(f)
    except OSError as e:
        raise DataError(
            f"{path}: cannot be read as HDF5 ({e}). The file is truncated, corrupt or not HDF5: "
            "delete it and provide the course's file again."
        ) from e
    x_raw, y = _check_arrays(path, x_key, y_key, x_raw, y_stored)
    if verify:
        _verify_content(path, {x_key: x_raw, y_key: y})
    return Split(x_raw, y, classes)


def _read_classes(f: h5py.File) -> tuple[str, ...]:
    if "list_classes" not in f:
        return DEFAULT_CLASSES
    return tuple(c.decode() if isinstance(c, bytes) else str(c) for c in np.asarray(f["list_classes"]))


def _check_arrays(path, x_key, y_key, x_raw, y_stored):
    if np.issubdtype(x_raw.dtype, np.floating) and not np.isfinite(x_raw).all():
        bad = np.unique(np.nonzero(~np.isfinite(x_raw.reshape(x_raw.shape[0], -1)))[0])
        raise DataError(
            f"{path}: '{x_key}' holds NaN or infinite values (in {bad.size} image(s), first index "
            f"{bad[0]}); features must be finite. Repair or drop those images, and store uint8 pixels."
        )
    if x_raw.ndim != 4 or x_raw.shape[-1] != 3 or x_raw.dtype != np.uint8:
        raise DataError(
            f"{path}: '{x_key}' has shape {x_raw.shape} and dtype {x_raw.dtype}; expected "
            "(m, height, width, 3) uint8 RGB images."
        )
    m = x_raw.shape[0]
    if m == 0:
        raise DataError(f"{path}: '{x_key}' holds no images; an empty data set cannot be trained on. "
                        "Provide a file with at least one image per split.")
    if y_stored.size != m or y_stored.ndim > 2 or (y_stored.ndim == 2 and 1 not in y_stored.shape):
        raise DataError(
            f"{path}: '{y_key}' has shape {y_stored.shape} for {m} images; expected ({m},), ({m}, 1) "
            f"or (1, {m})."
        )
    y = y_stored.ravel()
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5]
        raise DataError(f"{path}: '{y_key}' holds labels {bad.tolist()} outside {{0, 1}}; use 0 or 1.")
    return x_raw, y.astype(np.int64)


def _verify_content(path, arrays: dict[str, np.ndarray]) -> None:
    for key, array in arrays.items():
        digest = content_sha256(array)
        if digest != CONTENT_SHA256[key]:
            raise DataError(
                f"{path}: '{key}' differs from the course's data set (content sha256 {digest[:12]}..., "
                f"expected {CONTENT_SHA256[key][:12]}...). Replace the file with the course's copy, or "
                "set data.verify=false to train on a deliberate variant."
            )


def shard_rows(m: int, index: int, count: int) -> slice:
    """The contiguous block of rows [index * ceil(m/count), ...) that process `index` of `count` trains on."""
    block = -(-m // count)
    return slice(min(m, index * block), min(m, (index + 1) * block))


def load_course(cfg: DataConfig) -> dict[str, Split]:
    """Locate (downloading if allowed), read, check and verify both splits: {"train": Split, "test": Split}."""
    folder = download.locate(cfg.dir, cfg.base_url, download=cfg.download)
    paths = {split: folder / name for split, name in download.FILES.items()}
    splits = {split: read_split(path, split, verify=False) for split, path in paths.items()}
    _check_image_sizes(paths, splits, cfg.image_size)
    if cfg.verify:  # after the shape checks, whose messages say more than a checksum
        for split, path in paths.items():
            _verify_content(path, {f"{split}_set_x": splits[split].x_raw, f"{split}_set_y": splits[split].y})
    return splits


def _check_image_sizes(paths, splits: dict[str, Split], image_size: int) -> None:
    sizes = {split: s.x_raw.shape[1:3] for split, s in splits.items()}
    if sizes["train"] != sizes["test"]:
        raise DataError(
            f"{paths['train']} holds {_hw(sizes['train'])} images but {paths['test']} holds "
            f"{_hw(sizes['test'])} images; train and test must have the same size. Resize one set to match."
        )
    if sizes["train"] != (image_size, image_size):
        raise DataError(
            f"{paths['train']}: images are {_hw(sizes['train'])}, but data.image_size={image_size} says "
            f"{_hw((image_size, image_size))}. Set data.image_size to the files' size (square images only)."
        )


def _hw(size) -> str:
    return f"{size[0]}x{size[1]}"


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


def load(cfg: DataConfig, shard: tuple[int, int] = (0, 1)) -> dict[str, Split]:
    """{"train": Split, "test": Split} of the data set `cfg.name`.

    `shard=(index, count)` keeps only process `index`'s block of the training rows (`shard_rows`); the
    test split is always whole.
    """
    if cfg.name == "synthetic":
        from lr_jax import synthetic

        return synthetic.load(cfg, shard_rows(cfg.num_examples, *shard))
    if cfg.name == "image_folder":
        from lr_jax import image_folder

        splits = image_folder.load(cfg)
    else:
        splits = load_course(cfg)
    if shard != (0, 1):
        train = splits["train"]
        rows = shard_rows(len(train.y), *shard)
        splits["train"] = Split(train.x_raw[rows], train.y[rows], train.classes)
    return splits
