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


@pytest.mark.parametrize(
    "labels, val_fraction, says",
    [
        ([0, 0, 0, 0], 0.0, "holds no example of class ['cat'] (4 'non-cat', 0 'cat')"),
        ([1, 1, 1], 0.0, "holds no example of class ['non-cat'] (0 'non-cat', 3 'cat')"),
        ([0, 0, 0, 1], 0.25, "the training set after data.val_fraction=0.25 holds no example of class ['cat']"),
    ],
)
def test_a_training_set_without_both_classes_is_refused(rng, labels, val_fraction, says):
    from lr_jax.config import DataConfig

    cfg = DataConfig(dir="/data/photos", val_fraction=val_fraction)
    split = data.Split(small_images(rng, m=len(labels)), np.array(labels), data.DEFAULT_CLASSES)
    if val_fraction:  # the permutation puts the one cat into the validation split
        split = split._replace(y=np.zeros(4, int))
        split.y[np.random.default_rng(cfg.split_seed).permutation(4)[0]] = 1
    train, _ = data.split_validation(split, cfg.val_fraction, cfg.split_seed)
    with pytest.raises(DataError) as e:
        data.check_both_classes(train, cfg)
    assert str(e.value).startswith("data.dir=/data/photos: ") and says in str(e.value)
    assert "a classifier needs both classes" in str(e.value)
    assert ("or lower data.val_fraction" in str(e.value)) == bool(val_fraction)


def test_a_training_set_with_both_classes_passes(rng):
    from lr_jax.config import DataConfig

    data.check_both_classes(data.Split(small_images(rng, m=2), np.array([1, 0]), data.DEFAULT_CLASSES), DataConfig())
