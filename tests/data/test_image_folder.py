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
from tests.helpers import random_image

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
def test_skipped_files_are_listed_in_one_error_or_skipped_with_a_count_and_list(folder, tmp_path, caplog, skip):
    (folder / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "non-cat" / "empty.png").write_bytes(b"")
    random_image((8, 8), "RGB").save(folder / "cat" / "anim.gif")  # Pillow reads it; the loader does not
    cfg = _cfg(folder, tmp_path, skip_bad_images=skip)
    if not skip:
        with pytest.raises(DataError, match=r"3 of 11 image file\(s\) cannot be used: .*skip_bad_images") as e:
            image_folder.read_folder(folder, cfg)
        for name in ("cat/broken.jpg", "non-cat/empty.png", "cat/anim.gif (not a .jpg/.jpeg/.png file: convert it)"):
            assert name in str(e.value)
        return
    for _ in range(2):  # decoded, then from the cache: the same warning
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            split = image_folder.read_folder(folder, cfg)
        assert len(split.y) == 8 and len(caplog.records) == 1
        assert "skipped 3 of 11 image file(s) (data.skip_bad_images=true): " in caplog.text
        assert all(name in caplog.text for name in ("cat/broken.jpg", "non-cat/empty.png", "cat/anim.gif"))


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
        (
            lambda root: _folder_with(root, {"cat": 2, "non-cat": 0}),
            r"no .jpg/.jpeg/.png images in class folder\(s\) \['non-cat'\]; a classifier needs examples of both",
        ),
        (
            lambda root: _folder_with(root, {"cat": 2, "non-cat": 2, "dogs": 1, "birds": 1}),
            r"sub-folder\(s\) \['birds', 'dogs'\] are no class of data.classes=\['non-cat', 'cat'\]",
        ),
        (
            lambda root: _folder_with(root, {"cat": 2, "non-cat": 2, "train/cat": 1}),
            r"sub-folder\(s\) \['train'\] are no class",  # train/ without test/: not the split layout
        ),
    ],
)
def test_unusable_folders_name_the_problem(tmp_path, setup, message):
    root = tmp_path / "photos"
    setup(root)
    with pytest.raises(DataError, match=message):
        data.load(_cfg(root, tmp_path))


def _folder_with(root, counts):
    """`counts` images of 8x8 in each named sub-folder of `root` (0: an empty folder)."""
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            random_image((8 + i, 8), "RGB").save(root / name / f"{i}.png")


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _other_shape(path):
    np.save(path, np.load(path)[:-1])  # a valid file, one image short


def _other_labels(path):
    np.save(path, 1 - np.load(path))


CACHE_DAMAGE = {
    "pixels-truncated": ("pixels.npy", _truncate, "ValueError"),
    "pixels-empty": ("pixels.npy", lambda p: p.write_bytes(b""), "EOFError"),
    "pixels-another-shape": ("pixels.npy", _other_shape, "pixels.npy holds uint8[7, 64, 64, 3]"),
    "pixels-missing": ("pixels.npy", lambda p: p.unlink(), "FileNotFoundError"),
    "labels-truncated": ("labels.npy", _truncate, "ValueError"),
    "labels-altered": ("labels.npy", _other_labels, "labels.npy does not hold the manifest's labels"),
    "manifest-truncated": ("manifest.json", _truncate, "manifest.json cannot be read (JSONDecodeError"),
    "manifest-no-files": ("manifest.json", lambda p: p.write_text("{}"), "manifest.json cannot be read (KeyError"),
}


@pytest.mark.parametrize("damage", CACHE_DAMAGE)
def test_a_damaged_cache_is_rebuilt_with_one_warning(damage, folder, tmp_path, caplog):
    cfg = _cfg(folder, tmp_path)
    first = image_folder.read_folder(folder, cfg)
    expected_x, expected_y = np.array(first.x_raw), np.array(first.y)
    cache = image_folder._cache_dir(folder, cfg)
    name, damage_fn, says = CACHE_DAMAGE[damage]
    damage_fn(cache / name)

    with caplog.at_level(logging.WARNING):
        again = image_folder.read_folder(folder, cfg)

    assert len(caplog.records) == 1 and says in caplog.text and "decoding the folder again" in caplog.text
    np.testing.assert_array_equal(again.x_raw, expected_x)
    np.testing.assert_array_equal(again.y, expected_y)
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the rebuilt cache is whole again
        np.testing.assert_array_equal(image_folder.read_folder(folder, cfg).x_raw, expected_x)
    assert caplog.records == []


def test_an_unwritable_cache_folder_leaves_the_decoded_images_with_one_warning(folder, tmp_path, caplog):
    (tmp_path / "file").write_text("a file where the cache folder would go")
    cfg = DataConfig(name="image_folder", dir=str(folder), cache_dir=str(tmp_path / "file" / "cache"))
    with caplog.at_level(logging.WARNING):
        split = image_folder.read_folder(folder, cfg)
    assert split.x_raw.shape == (8, 64, 64, 3) and len(caplog.records) == 1
    assert "the image cache cannot be written" in caplog.text and "Set data.cache_dir" in caplog.text


def test_an_image_size_that_would_not_fit_in_memory_is_refused_before_decoding(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(image_folder, "available_memory", lambda: 2**20)
    monkeypatch.setattr(images, "load_image", lambda *a: pytest.fail("decoded"))
    with pytest.raises(DataError) as e:
        image_folder.read_folder(folder, _cfg(folder, tmp_path, image_size=4096))
    need = 8 * 4096 * 4096 * 3
    assert str(e.value).startswith(f"data.image_size=4096: the 8 images of {folder} decoded at 4096x4096 RGB need ")
    assert f"need {need} bytes (0.4 GiB), more than the {2**20} bytes" in str(e.value)
    assert "Use a smaller data.image_size" in str(e.value)


def test_available_memory_is_a_positive_number_of_bytes():
    free = image_folder.available_memory()
    assert free is None or 2**20 < free < 2**50
