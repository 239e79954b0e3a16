"""The synthetic data set: any row range on its own, labels from the known separator."""

from __future__ import annotations

import numpy as np
import pytest

from lr_jax import data
from lr_jax.config import DataConfig
from lr_jax.data import synthetic


@pytest.mark.parametrize("start, stop", [(0, 1), (5, 700), (511, 513), (1000, 1300)])
def test_any_row_range_equals_the_same_rows_of_the_whole_stream(start, stop):
    x_all, y_all = synthetic.generate(0, 1300, 40, seed=3)
    x, y = synthetic.generate(start, stop, 40, seed=3)
    np.testing.assert_array_equal(x, x_all[start:stop])
    np.testing.assert_array_equal(y, y_all[start:stop])


def test_labels_are_the_side_of_the_true_separator_and_seeds_differ():
    x, y = synthetic.generate(0, 2000, 50, seed=0)
    assert x.dtype == np.uint8 and x.shape == (2000, 50)
    margin = (x / 255 - 0.5) @ synthetic.true_separator(50, seed=0)
    np.testing.assert_array_equal(y, (margin > 0).astype(np.int64))
    assert 0.4 < y.mean() < 0.6
    assert not np.array_equal(synthetic.generate(0, 10, 50, seed=1)[0], x[:10])


def test_load_shards_the_training_rows_and_keeps_the_test_split_whole():
    cfg = DataConfig(name="synthetic", num_examples=301, num_test=20, num_features=8)
    whole = data.load(cfg)
    shards = [data.load(cfg, shard=(i, 2)) for i in range(2)]
    np.testing.assert_array_equal(np.concatenate([s["train"].x_raw for s in shards]), whole["train"].x_raw)
    np.testing.assert_array_equal(shards[1]["test"].y, whole["test"].y)
    assert len(whole["test"].y) == 20


def test_generated_pixels_are_aligned_so_the_cpu_device_shares_them():
    import jax

    x, _ = synthetic.generate(0, 100, 33, seed=0)
    assert x.ctypes.data % 64 == 0
    if jax.default_backend() == "cpu":
        assert jax.device_put(x).unsafe_buffer_pointer() == x.ctypes.data  # no second copy
