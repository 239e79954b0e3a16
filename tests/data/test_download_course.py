"""Downloading the real course files from a local HTTP server on 127.0.0.1: verified, or refused and removed."""

import shutil

import pytest

from lr_jax import data
from lr_jax.config import DataConfig
from lr_jax.data import download
from lr_jax.errors import DataError

NAMES = sorted(download.FILES.values())


def test_verified_download_into_the_cache(data_dir, serve, cache):
    url = serve(data_dir)
    splits = data.load(DataConfig(base_url=url))
    assert sorted(p.name for p in cache.iterdir()) == NAMES
    assert splits["train"].y.sum() == 72 and splits["test"].y.sum() == 33
    assert download.locate(None, "http://127.0.0.1:9/") == cache  # second time: no download needed


def test_corrupted_download_is_refused_and_removed(data_dir, serve, cache, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in NAMES:
        shutil.copy(data_dir / name, mirror / name)
    raw = bytearray((mirror / "test_catvnoncat.h5").read_bytes())
    raw[5000] ^= 0xFF
    (mirror / "test_catvnoncat.h5").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="did not match its sha256") as e:
        data.load(DataConfig(base_url=serve(mirror)))
    assert "data.dir=" in str(e.value) and "LR_JAX_DATA_DIR" in str(e.value)
    assert sorted(p.name for p in cache.iterdir()) == ["train_catvnoncat.h5"]  # the good file stays
    assert not list(cache.glob("*test*"))  # no partial or temporary file is left
