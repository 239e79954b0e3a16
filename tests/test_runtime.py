"""The process set-up: an unusable compilation cache folder is warned about once and left out."""

from __future__ import annotations

import errno
import logging

import jax
import pytest

from lr_jax import runtime


def _read_only(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize("kind", ["under-a-file", "read-only"])
def test_an_unusable_compilation_cache_is_warned_about_once_and_left_out(kind, tmp_path, monkeypatch, caplog):
    (tmp_path / "file").write_text("a file, not a folder")
    folder = tmp_path / "file" / "xla" if kind == "under-a-file" else tmp_path / "xla"
    if kind == "read-only":  # root ignores chmod: inject the refusal
        monkeypatch.setattr(runtime.tempfile, "mkstemp", _read_only)
    before = jax.config.jax_compilation_cache_dir

    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            runtime.use_compilation_cache(str(folder))

    assert jax.config.jax_compilation_cache_dir == before
    assert len(caplog.records) == 1, caplog.text
    says = "Not a directory" if kind == "under-a-file" else "Permission denied"
    assert f"train.compilation_cache_dir={folder}: {folder} cannot be used ({says})" in caplog.text
    assert "running without the compilation cache" in caplog.text and "set it to null" in caplog.text


def test_a_usable_compilation_cache_folder_is_created_0700(tmp_path, monkeypatch):
    monkeypatch.setattr(jax.config, "update", lambda *args: None)  # leave the session's cache as it is
    runtime.use_compilation_cache(str(tmp_path / "new" / "xla"))
    assert (tmp_path / "new" / "xla").stat().st_mode & 0o777 == 0o700
    assert list((tmp_path / "new" / "xla").iterdir()) == []  # the probe file is gone
