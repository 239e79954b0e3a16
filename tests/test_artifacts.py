"""Atomic writes: the file appears whole or not at all, with the usual permissions."""

import os

import numpy as np
import pytest

from lr_jax import artifacts


def test_atomic_open_writes_and_leaves_no_temporary(tmp_path):
    with artifacts.atomic_open(tmp_path / "a.txt") as f:
        f.write("hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), artifacts.atomic_open(tmp_path / "a.txt") as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert (tmp_path / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_new_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        with artifacts.atomic_open(tmp_path / "a.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_params_round_trip(tmp_path):
    params = {"w": np.arange(5, dtype=np.float32), "b": np.float32(0.5)}
    artifacts.save_params(tmp_path / "params.npz", params)
    loaded = artifacts.load_params(tmp_path / "params.npz")
    np.testing.assert_array_equal(loaded["w"], params["w"])
    assert loaded["b"].shape == () and loaded["b"] == 0.5
