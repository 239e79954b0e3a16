"""Finding the data (data.dir, then LR_JAX_DATA_DIR, then the cache) and downloading it with pooch.

Downloads go to a local HTTP server on 127.0.0.1 that serves a folder of the test's choosing.
"""

import pytest

from lr_jax import data
from lr_jax.config import DataConfig
from lr_jax.data import download
from lr_jax.errors import DataError

NAMES = sorted(download.FILES.values())


def test_cache_dir_is_under_xdg_cache(cache, tmp_path):
    assert cache == tmp_path / "xdg" / "lr_jax" / "catvnoncat"


def test_unreachable_server_gives_one_clear_message(serve, cache, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as e:
        data.load(DataConfig(dir=None, base_url=serve(empty)))  # an explicit data.dir is never downloaded into
    message = str(e.value)
    for expected in (
        "train_catvnoncat.h5",
        "LR_JAX_DATA_DIR: (unset)",
        str(cache),
        "failed",
        "data.dir=/that/folder",
        "data.download=true",
    ):
        assert expected in message
    assert not any(cache.iterdir())


def test_no_download_when_switched_off(cache):
    with pytest.raises(DataError, match=r"downloads are off \(data.download=false\)"):
        download.locate(None, "http://127.0.0.1:9/", download=False)


def test_search_order_config_then_env_then_cache(cache, tmp_path, monkeypatch):
    for folder in (tmp_path / "a", tmp_path / "b", cache):
        folder.mkdir(parents=True)
        for name in NAMES:
            (folder / name).write_bytes(b"")
    monkeypatch.setenv(download.ENV_DATA_DIR, str(tmp_path / "b"))
    assert download.locate(str(tmp_path / "a"), "unused") == tmp_path / "a"
    assert download.locate(None, "unused") == tmp_path / "b"
    with pytest.raises(DataError, match=r"data.dir=.*incomplete does not hold \['test_catvnoncat.h5', 'train_"):
        download.locate(str(tmp_path / "incomplete"), "unused")  # explicit beats found: no fallback to b
    monkeypatch.delenv(download.ENV_DATA_DIR)
    assert download.locate(None, "unused") == cache
