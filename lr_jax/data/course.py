"""The course's cat / non-cat data: locate (or download), read, check and verify the two HDF5 files.

Each file holds `{split}_set_x`, uint8[m, 64, 64, 3], `{split}_set_y` and optionally `list_classes`.
Labels become a flat (m,) vector whatever layout the file stores ((m,), (m, 1) or (1, m)). Content is
checked against the sha256 of the four arrays, which identifies the data set independently of how a
copy's HDF5 bytes are laid out.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from lr_jax.config import DataConfig
from lr_jax.data import download
from lr_jax.data.split import DEFAULT_CLASSES, Split, content_sha256
from lr_jax.errors import DataError

CONTENT_SHA256 = {
    "train_set_x": "5a22f47625d19c47045c085a17fdb1a263bae0fa9c67020fd40112e19dadc2c3",
    "train_set_y": "217e8c93aff2ec2a3f6137ab9f997236d8382a26856546b1fbf30ccd4bf7610e",
    "test_set_x": "c23d288e4a7ad7ab5b8b8e69e1aaefc683de77cbd020598fd6b4acdccbebabf3",
    "test_set_y": "7bfaabd03cfd57ee3f50dc1569bf1b72c548f7877d2f7ed9611ec69e697b8909",
}


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
        raise DataError(
            f"{path}: '{x_key}' holds no images; an empty data set cannot be trained on. "
            "Provide a file with at least one image per split."
        )
    if y_stored.size != m or y_stored.ndim > 2 or (y_stored.ndim == 2 and 1 not in y_stored.shape):
        raise DataError(
            f"{path}: '{y_key}' has shape {y_stored.shape} for {m} images; expected ({m},), ({m}, 1) or (1, {m})."
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
