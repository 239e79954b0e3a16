"""The HDF5 loader: the course's layout and the variants that circulate, content verification, errors."""

import numpy as np
import pytest

from lr_jax import data
from lr_jax.errors import DataError
from tests.helpers import write_course_h5


def small_images(rng, m=6, size=4):
    return rng.integers(0, 256, size=(m, size, size, 3), dtype=np.uint8)


def test_features_rounded_once_from_float64(rng):
    x_raw = small_images(rng)
    exact = x_raw.reshape(6, -1) / 255.0  # float64, as in the course
    np.testing.assert_array_equal(data.flatten_and_scale(x_raw, np.float32), exact.astype(np.float32))
    np.testing.assert_array_equal(data.flatten_and_scale(x_raw, np.float64), exact)


def test_generated_file_loads_without_verification(rng, tmp_path):
    x = small_images(rng)
    path = write_course_h5(tmp_path / "s.h5", "train", x, np.array([0, 1, 1, 0, 1, 0]), classes=None)
    split = data.read_split(path, "train", verify=False)
    np.testing.assert_array_equal(split.x_raw, x)
    assert split.features().shape == (6, 48) and split.classes == data.DEFAULT_CLASSES


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p, x, y: write_course_h5(p, "train", x, y), "missing key"),  # saved under the wrong split name
        (lambda p, x, y: write_course_h5(p, "test", x[..., 0], y), "expected (m, height, width, 3) uint8"),
        (lambda p, x, y: write_course_h5(p, "test", x.astype(np.float32), y), "expected (m, height, width, 3) uint8"),
        (lambda p, x, y: write_course_h5(p, "test", x, y[:-1]), "expected (6,), (6, 1) or (1, 6)"),
        (lambda p, x, y: write_course_h5(p, "test", x, np.stack([y, y])), "expected (6,), (6, 1) or (1, 6)"),
        (lambda p, x, y: write_course_h5(p, "test", x, y + 1), "outside {0, 1}"),
        (lambda p, x, y: write_course_h5(p, "test", x[:0], y[:0]), "holds no images"),
        (lambda p, x, y: p.write_bytes(b"not an hdf5 file"), "cannot be read as HDF5"),
    ],
)
def test_bad_files_raise_a_clear_error(rng, tmp_path, make, message):
    path = tmp_path / "bad.h5"
    make(path, small_images(rng), np.array([0, 1, 1, 0, 1, 0]))
    with pytest.raises(DataError, match="bad.h5") as e:
        data.read_split(path, "test", verify=False)
    assert message in str(e.value)
