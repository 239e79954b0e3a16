"""Image folders: any size and mode to uint8 RGB, one cache per folder, changed files re-read, bad files reported."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from lr_jax import data
from lr_jax.config import Config, DataConfig
from lr_jax.data import image_folder, images
from lr_jax.errors import DataError

# (file name, mode, size): every mode Pillow commonly opens, sizes other than 64.
IMAGES = {
    "cat": [
        ("a.jpg", "RGB", (80, 60)),
        ("b.png", "RGBA", (30, 30)),
        ("c.PNG", "L", (64, 64)),
        ("d.jpeg", "CMYK", (100, 120)),
        ("e.png", "P", (17, 9)),
    ],
    "non-cat": [("f.jpg", "RGB", (64, 64)), ("g.png", "I;16", (40, 50)), ("h.png", "LA", (64, 32))],
}


def _write_image(path, mode, size, seed=0):
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(rgb).convert(mode).save(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    for label, files in IMAGES.items():
        (root / label).mkdir(parents=True)
        for name, mode, size in files:
            _write_image(root / label / name, mode, size)
    (root / "cat" / "notes.txt").write_text("not an image, and not an image extension: ignored")
    return root


def _cfg(root, tmp_path, **kw) -> DataConfig:
    return DataConfig(name="image_folder", dir=str(root), cache_dir=str(tmp_path / "cache"), **kw)


def test_every_mode_and_size_becomes_uint8_rgb(folder, tmp_path):
    split = image_folder.read_folder(folder, _cfg(folder, tmp_path, image_size=32))
    assert split.x_raw.shape == (8, 32, 32, 3) and split.x_raw.dtype == np.uint8
    assert split.y.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]  # non-cat (class 0) first, then cat
    assert split.classes == ("non-cat", "cat")
    expected = np.asarray(Image.open(folder / "cat" / "a.jpg").convert("RGB").resize((32, 32), Image.BICUBIC))
    np.testing.assert_array_equal(split.x_raw[3], expected)


def test_second_load_reads_the_cache_and_a_changed_file_is_read_again(folder, tmp_path, monkeypatch):
    cfg = _cfg(folder, tmp_path)
    first = np.array(image_folder.read_folder(folder, cfg).x_raw)
    decoded = []
    monkeypatch.setattr(images, "load_image", lambda p, s: decoded.append(p) or np.zeros((s, s, 3), np.uint8))
    np.testing.assert_array_equal(image_folder.read_folder(folder, cfg).x_raw, first)
    assert decoded == []
    (folder / "cat" / "a.jpg").touch()  # same bytes: still cached
    image_folder.read_folder(folder, cfg)
    assert decoded == []
    _write_image(folder / "cat" / "a.jpg", "RGB", (80, 60), seed=1)  # new content
    image_folder.read_folder(folder, cfg)
    assert len(decoded) == 8


@pytest.mark.parametrize("skip", [False, True])
def test_unreadable_files_are_listed_in_one_error_or_skipped_with_a_count(folder, tmp_path, caplog, skip):
    (folder / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "non-cat" / "empty.png").write_bytes(b"")
    cfg = _cfg(folder, tmp_path, skip_bad_images=skip)
    if not skip:
        with pytest.raises(DataError, match=r"2 of 10 image file\(s\) cannot be read.*broken\.jpg.*skip_bad_images"):
            image_folder.read_folder(folder, cfg)
        return
    with caplog.at_level(logging.WARNING):
        split = image_folder.read_folder(folder, cfg)
    assert len(split.y) == 8 and "skipped 2 unreadable image(s) of 10" in caplog.text


def test_train_and_test_subfolders_or_a_seeded_split(folder, tmp_path):
    splits = data.load(_cfg(folder, tmp_path, test_fraction=0.25))
    assert (len(splits["train"].y), len(splits["test"].y)) == (6, 2)
    again = data.load(_cfg(folder, tmp_path, test_fraction=0.25))
    np.testing.assert_array_equal(again["test"].x_raw, splits["test"].x_raw)
    split_root = tmp_path / "split"
    split_root.mkdir()
    folder.rename(split_root / "train")
    (split_root / "test" / "cat").mkdir(parents=True)
    (split_root / "test" / "non-cat").mkdir()
    _write_image(split_root / "test" / "cat" / "x.png", "RGB", (64, 64))
    _write_image(split_root / "test" / "non-cat" / "y.png", "RGB", (64, 64))
    splits = data.load(_cfg(split_root, tmp_path))
    assert (len(splits["train"].y), splits["test"].y.tolist()) == (8, [0, 1])


def test_own_classes_image_size_and_raw_scale_load_as_configured(tmp_path):
    """data=image_folder data.classes=[other,ferret] data.image_size=24 data.scale=false: no trace of the course."""
    root = tmp_path / "ferrets"
    for label, (name, count) in enumerate([("other", 3), ("ferret", 2)]):
        (root / name).mkdir(parents=True)
        for i in range(count):
            _write_image(root / name / f"{i}.png", "RGB", (50, 40), seed=10 * label + i)
    cfg = Config.from_dict(
        {
            "data": {
                "name": "image_folder",
                "dir": str(root),
                "cache_dir": str(tmp_path / "cache"),
                "classes": ["other", "ferret"],
                "image_size": 24,
                "scale": False,
                "test_fraction": 0.4,
            }
        }
    ).data

    splits = data.load(cfg)

    assert [len(s.y) for s in splits.values()] == [3, 2]
    assert sorted(np.concatenate([s.y for s in splits.values()]).tolist()) == [0, 0, 0, 1, 1]
    for split in splits.values():
        assert split.classes == ("other", "ferret") and split.x_raw.shape[1:] == (24, 24, 3)
        x_MD = split.features(np.float32, scale=cfg.scale)  # raw 0-255 values, as the run feeds them
        assert x_MD.shape == (len(split.y), 24 * 24 * 3) and x_MD.max() > 1
        np.testing.assert_array_equal(x_MD, split.x_raw.reshape(len(split.y), -1))
    whole = image_folder.read_folder(root, cfg)  # class 0's files first, each decoded at 24x24
    np.testing.assert_array_equal(whole.x_raw[3], images.load_image(root / "ferret" / "0.png", 24))


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: None, "is not a folder"),
        (
            lambda root: (root / "dogs").mkdir(parents=True),
            r"no sub-folder\(s\) \['non-cat', 'cat'\].*found \['dogs'\]",
        ),
        (lambda root: [(root / c).mkdir(parents=True) for c in ("cat", "non-cat")], "no .jpg/.jpeg/.png images"),
    ],
)
def test_unusable_folders_name_the_problem(tmp_path, setup, message):
    root = tmp_path / "photos"
    setup(root)
    with pytest.raises(DataError, match=message):
        data.load(_cfg(root, tmp_path))
