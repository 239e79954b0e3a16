"""The course's real HDF5 files: shapes, counts, hashes, the course's flattening, verification of variants."""

from __future__ import annotations

import numpy as np
import pytest

from lr_jax import data
from lr_jax.errors import DataError
from tests.helpers import COURSE_CLASSES, write_course_h5


def test_raw_pixels_are_the_scaled_ones_times_255(course_data):
    x_raw = course_data["train"].x_raw[:3]
    np.testing.assert_allclose(
        data.flatten_and_scale(x_raw, np.float64, scale=False),
        255 * data.flatten_and_scale(x_raw, np.float64),
        rtol=1e-15,
    )


def test_real_data_shapes_counts_and_hashes(course_data):
    train, test = course_data["train"], course_data["test"]
    assert train.x_raw.shape == (209, 64, 64, 3) and train.x_raw.dtype == np.uint8
    assert test.x_raw.shape == (50, 64, 64, 3)
    assert (train.y.shape, int(train.y.sum())) == ((209,), 72)
    assert (test.y.shape, int(test.y.sum())) == ((50,), 33)
    assert train.classes == ("non-cat", "cat")


def test_features_follow_the_course_flattening(course_data):
    """x.reshape(m, -1) / 255: R, G, B of pixel (0, 0), then pixel (0, 1), ..."""
    split = course_data["train"]
    x_ND = split.features()
    assert x_ND.shape == (209, 12288) and x_ND.dtype == np.float32
    np.testing.assert_array_equal(x_ND[5, :6], split.x_raw[5, 0, :2, :].ravel() / np.float32(255))
    np.testing.assert_array_equal(x_ND[5, 64 * 3 : 64 * 3 + 3], split.x_raw[5, 1, 0, :] / np.float32(255))
    assert x_ND.min() >= 0.0 and x_ND.max() <= 1.0


@pytest.mark.parametrize("label_shape", ["(m,)", "(m, 1)", "(1, m)"])
@pytest.mark.parametrize("with_classes", [True, False])
def test_real_data_in_every_layout_passes_verification(course_data, tmp_path, label_shape, with_classes):
    """Relabelled layouts and a missing list_classes hold the same content: they verify."""
    split = course_data["test"]
    y = {"(m,)": split.y, "(m, 1)": split.y[:, None], "(1, m)": split.y[None, :]}[label_shape]
    path = write_course_h5(tmp_path / "t.h5", "test", split.x_raw, y, COURSE_CLASSES if with_classes else None)
    loaded = data.read_split(path, "test", verify=True)
    np.testing.assert_array_equal(loaded.y, split.y)
    assert loaded.y.shape == (50,) and loaded.classes == ("non-cat", "cat")


@pytest.mark.parametrize("what, key", [("pixel", "test_set_x"), ("label", "test_set_y")])
def test_altered_copy_is_refused_naming_the_array(course_data, tmp_path, what, key):
    split = course_data["test"]
    x, y = split.x_raw.copy(), split.y.copy()
    if what == "pixel":
        x[3, 10, 10, 1] ^= 1
    else:
        y[7] = 1 - y[7]
    path = write_course_h5(tmp_path / "t.h5", "test", x, y)
    with pytest.raises(DataError, match=key) as e:
        data.read_split(path, "test", verify=True)
    assert "data.verify=false" in str(e.value)
    assert data.read_split(path, "test", verify=False).y[7] == y[7]  # a deliberate variant loads


def test_truncated_real_file_is_refused(data_dir, tmp_path):
    raw = (data_dir / "test_catvnoncat.h5").read_bytes()
    (tmp_path / "test_catvnoncat.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="truncated, corrupt or not HDF5"):
        data.read_split(tmp_path / "test_catvnoncat.h5", "test")
