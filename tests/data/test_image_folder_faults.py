"""What the image cache promises (docs/image-cache.md): it is used only when every image file hashes to its
manifest entry and the cached arrays hash to what was recorded when they were written. A damaged cache
whose header is still valid, or an image replaced with its size and mtime restored, is noticed: the
folder is decoded again and the run trains on the same pixels as a run without a cache."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest

from tests.data.test_refused_faults import folder_overrides, input_warnings, photos, retrain_on_a_damaged_cache
from tests.helpers import random_image


def _params(run):
    with np.load(run / "params.npz") as npz:
        return {k: npz[k] for k in npz.files}


def _flip_bytes(path):
    """Invert 16 bytes in the middle of the array data; the .npy header stays valid."""
    data = bytearray(path.read_bytes())
    middle = len(data) - (len(data) - 128) // 2  # the data starts after the 128-byte header
    data[middle : middle + 16] = bytes(255 - b for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


def _reverse_rows(path):
    """The same array with its images in reverse order: same header, shape and size."""
    pixels = np.load(path)
    np.save(path, np.ascontiguousarray(pixels[::-1]))


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_flip_bytes, _reverse_rows], ids=["bytes-flipped", "rows-reversed"])
def test_a_damaged_cache_with_a_valid_header_is_rebuilt_with_one_warning(damage, tmp_path, run_cli, snapshot, caplog):
    folder, [warning] = retrain_on_a_damaged_cache(
        tmp_path, run_cli, snapshot, caplog, lambda folder: damage(folder / "pixels.npy")
    )

    assert str(folder) in warning and "pixels.npy's content does not match the sha256 recorded" in warning
    assert "decoding the folder again" in warning
    first, second = _params(tmp_path / "first"), _params(tmp_path / "second")
    assert all(np.array_equal(first[k], second[k]) for k in first)  # the same pixels: the same training


@pytest.mark.slow
def test_an_image_replaced_with_its_size_and_mtime_restored_is_decoded_again(tmp_path, run_cli, caplog):
    root, cache = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "cache"
    code, _, err = run_cli("train", *folder_overrides(root, tmp_path / "first", cache))
    assert code == 0, err
    target = root / "cat" / "0.png"
    stat = target.stat()
    replacement = tmp_path / "replacement.png"
    random_image((8, 6), "L").convert("RGB").save(replacement)  # other content, then padded to the old size
    data = replacement.read_bytes()
    assert len(data) <= stat.st_size
    target.write_bytes(data + b"\0" * (stat.st_size - len(data)))  # PNG ignores bytes after IEND
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli("train", *folder_overrides(root, tmp_path / "second", cache))

    assert code == 0, err
    assert input_warnings(caplog) == []  # a changed folder is not a damaged cache: decoded again without a warning
    [folder] = cache.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    [entry] = [e for e in manifest["files"] if e["path"] == "cat/0.png"]
    import hashlib

    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    first, second = _params(tmp_path / "first"), _params(tmp_path / "second")
    assert not all(np.array_equal(first[k], second[k]) for k in first)  # trained on the new image


def test_the_cache_records_the_sha256_of_its_arrays(tmp_path):
    """manifest.json's arrays_sha256 is the sha256 of the arrays' C-order bytes (split.content_sha256)."""
    from lr_jax.config import DataConfig
    from lr_jax.data import image_folder
    from lr_jax.data.split import content_sha256

    root = photos(tmp_path / "photos", {"cat": 2, "non-cat": 2})
    cfg = DataConfig(name="image_folder", dir=str(root), image_size=4, cache_dir=str(tmp_path / "cache"))
    split = image_folder.read_folder(root, cfg)
    [folder] = (tmp_path / "cache").iterdir()
    recorded = json.loads((folder / "manifest.json").read_text())["arrays_sha256"]
    assert recorded == {"pixels.npy": content_sha256(split.x_raw), "labels.npy": content_sha256(split.y)}
