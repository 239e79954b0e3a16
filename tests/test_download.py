"""Finding the data (data.dir, then LR_JAX_DATA_DIR, then the cache) and downloading it with pooch.

Downloads go to a local HTTP server on 127.0.0.1 that serves a folder of the test's choosing.
"""

import functools
import http.server
import shutil
import threading

import pytest

from lr_jax import data
from lr_jax.config import DataConfig
from lr_jax.data import download
from lr_jax.errors import DataError

NAMES = sorted(download.FILES.values())


@pytest.fixture
def serve():
    """serve(folder) -> base URL of a quiet HTTP server on 127.0.0.1 for that folder."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache and no LR_JAX_DATA_DIR."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(download.ENV_DATA_DIR, raising=False)
    return download.default_cache_dir()


def test_cache_dir_is_under_xdg_cache(cache, tmp_path):
    assert cache == tmp_path / "xdg" / "lr_jax" / "catvnoncat"


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


def test_search_order_config_then_env_then_cache(data_dir, cache, tmp_path, monkeypatch):
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
