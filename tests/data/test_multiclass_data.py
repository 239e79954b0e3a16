"""K-class data: scikit-learn's digits (data=digits), the synthetic K-class teacher, image folders with K class
folders, and the class checks of every source."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax import data
from lr_jax.config import Config, DataConfig
from lr_jax.data import digits, image_folder, synthetic
from lr_jax.errors import DataError

pytest.importorskip("sklearn")


def test_digits_are_the_bundled_set_scaled_by_16_and_split_by_seed():
    from sklearn.datasets import load_digits

    splits = data.load(DataConfig(name="digits"))
    train, test = splits["train"], splits["test"]
    assert len(train.y) + len(test.y) == 1797 and len(test.y) == round(0.2 * 1797)
    assert train.x_raw.dtype == np.float32 and train.x_raw.shape[1] == 64
    assert train.classes == tuple("0123456789") and set(np.unique(train.y)) == set(range(10))
    # every example once: the features are load_digits' /16 (exact: k/16 is a float32 for k = 0..16)
    whole = load_digits()
    x = np.concatenate([train.x_raw, test.x_raw])
    y = np.concatenate([train.y, test.y])
    order = np.lexsort(np.c_[x, y].T)
    reference = np.lexsort(np.c_[whole.data / 16, whole.target].T)
    np.testing.assert_array_equal(x[order], (whole.data / 16).astype(np.float32)[reference])
    again = data.load(DataConfig(name="digits"))["test"]
    np.testing.assert_array_equal(again.y, test.y)
    other = data.load(DataConfig(name="digits", seed=1))["test"]
    assert not np.array_equal(other.x_raw, test.x_raw)
    assert Config.from_dict({"data": {"name": "digits"}}).model.n_classes == 10


def test_features_of_float_data_are_taken_as_they_are():
    """flatten_and_scale scales uint8 pixels by 1/255 and leaves float features (digits) as they are."""
    x = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    np.testing.assert_array_equal(data.flatten_and_scale(x, np.float64), x.astype(np.float64))


def test_synthetic_k_class_teacher_labels_by_the_largest_score():
    x, y = synthetic.generate(0, 300, 12, seed=3, num_classes=4)
    w = synthetic.true_scores(12, 4, 3)
    np.testing.assert_array_equal(y, np.argmax((x / 255.0 - 0.5) @ w, axis=1))
    assert set(np.unique(y)) == {0, 1, 2, 3}
    splits = synthetic.load(DataConfig(name="synthetic", num_examples=50, num_test=10, num_features=12, num_classes=4))
    assert splits["train"].classes == ("class0", "class1", "class2", "class3")
    binary = synthetic.load(DataConfig(name="synthetic", num_examples=50, num_test=10, num_features=12))
    assert binary["train"].classes == synthetic.CLASSES  # two classes: the separator, as before
    np.testing.assert_array_equal(binary["train"].y, synthetic.generate(0, 50, 12, 0)[1])


def write_class_folders(root, classes, per_class=3):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (10, 10), (40 * k, 10 * i, 200)).save(root / name / f"{i}.png")


def test_image_folder_with_three_class_folders(tmp_path):
    classes = ["cat", "dog", "bird"]
    write_class_folders(tmp_path / "photos", classes)
    cfg = DataConfig(
        name="image_folder", dir=str(tmp_path / "photos"), classes=tuple(classes), image_size=8,
        cache_dir=str(tmp_path / "cache"), test_fraction=0.3,
    )  # fmt: skip
    splits = image_folder.load(cfg)
    y = np.concatenate([splits["train"].y, splits["test"].y])
    assert sorted(np.bincount(y).tolist()) == [3, 3, 3] and splits["train"].classes == tuple(classes)
    assert Config.from_dict({"data": {"name": "image_folder", "classes": classes}}).model.softmax


def test_a_missing_class_is_named_among_k(tmp_path):
    split = data.Split(np.zeros((4, 2), np.uint8), np.array([0, 2, 2, 0]), ("a", "b", "c"))
    with pytest.raises(DataError, match=r"no example of class \['b'\] \(2 'a', 0 'b', 2 'c'\).*each of its 3"):
        data.check_both_classes(split, DataConfig(name="synthetic"))


def test_digits_without_scikit_learn_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DataError, match="pip install scikit-learn"):
        digits.read_digits()
