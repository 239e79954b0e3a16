"""Data that cannot train a classifier, caches that cannot be trusted, resources that would run out: through
the CLI, each refusal is one `error:` line (exit 2) and every file as it was; each recovery is one warning
and a finished run."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lr_jax.data import image_folder
from lr_jax.runfolder import report
from tests.helpers import png_declaring, random_image
from tests.runfolder.test_transaction_faults import assert_one_error


def photos(root, counts):
    """`counts` small images in each named sub-folder of `root` (0: an empty folder)."""
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            random_image((8 + i, 6 + i), "RGB").save(root / name / f"{i}.png")
    return root


def folder_overrides(root, run, cache, *extra):
    return [
        "data=image_folder",
        f"data.dir={root}",
        f"data.cache_dir={cache}",
        "data.image_size=4",
        "data.test_fraction=0.25",
        "train.num_iterations=5",
        "train.checkpoint_every=0",
        "train.print_cost=false",
        "train.progress=false",
        f"hydra.run.dir={run}",
        *extra,
    ]


def broken_jpeg(root):
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")


def gif(root):
    random_image((8, 8), "RGB").save(root / "cat" / "anim.gif")


REFUSED = {
    "not-a-folder": ({}, lambda root: root.rmdir(), (), ("data.dir=", "is not a folder", "one sub-folder per class")),
    "class-folder-missing": (
        {"cat": 3, "birds": 2},
        None,
        (),
        ("no sub-folder(s) ['non-cat'] (found ['birds', 'cat'])",),
    ),
    "empty-class-folder": (
        {"cat": 3, "non-cat": 0},
        None,
        (),
        ("no .jpg/.jpeg/.png images in class folder(s) ['non-cat']",),
    ),
    "folder-no-class": ({"cat": 3, "non-cat": 3, "dogs": 2}, None, (), ("sub-folder(s) ['dogs'] are no class",)),
    "unreadable-image": (
        {"cat": 3, "non-cat": 3},
        broken_jpeg,
        (),
        ("1 of 7 image file(s) cannot be used", "cat/broken.jpg"),
    ),
    "image-not-jpeg-or-png": ({"cat": 3, "non-cat": 3}, gif, (), ("cat/anim.gif (not a .jpg/.jpeg/.png file",)),
    "one-class-after-test-split": (
        {"cat": 1, "non-cat": 3},
        None,
        ("data.test_fraction=0.25", "data.seed=1"),  # the one cat is drawn for the test split
        ("the training set holds no example of class ['cat'] (3 'non-cat', 0 'cat')",),
    ),
}


@pytest.mark.parametrize(  # a CLI run each: the fast lane keeps three
    "case",
    [
        c
        if c in ("not-a-folder", "unreadable-image", "one-class-after-test-split")
        else pytest.param(c, marks=pytest.mark.slow)
        for c in REFUSED
    ],
)
def test_data_that_cannot_train_a_classifier_is_refused(case, tmp_path, run_cli, snapshot):
    counts, spoil, extra, says = REFUSED[case]
    root, run = photos(tmp_path / "photos", counts), tmp_path / "run"
    root.mkdir(exist_ok=True)
    if spoil:
        spoil(root)
    if case == "one-class-after-test-split":  # the permutation image_folder.load draws with data.seed=1
        assert np.random.default_rng([1, 2]).permutation(4)[0] == 3  # file 3 (after non-cat's 3) is the cat
    before = snapshot(tmp_path)

    code, out, err = run_cli("train", *folder_overrides(root, run, tmp_path / "cache", *extra))

    assert_one_error(code, err)
    assert all(s in err for s in says), err
    after = snapshot(tmp_path)
    assert {name: after.get(name) for name in before} == before  # nothing that existed changed
    assert not run.exists() or snapshot(run) == {}


def test_an_image_size_beyond_memory_is_refused_naming_the_key_and_bytes(tmp_path, run_cli, snapshot, monkeypatch):
    root, run = photos(tmp_path / "photos", {"cat": 2, "non-cat": 2}), tmp_path / "run"
    monkeypatch.setattr(image_folder, "available_memory", lambda: 2**20)
    before = snapshot(root)

    code, _, err = run_cli("train", *folder_overrides(root, run, tmp_path / "cache", "data.image_size=4096"))

    assert_one_error(code, err)
    assert err.startswith("error: data.image_size=4096: the 4 images of ") and f"need {4 * 4096**2 * 3} bytes" in err
    assert snapshot(root) == before and (not run.exists() or snapshot(run) == {})
    assert not (tmp_path / "cache").exists()


def input_warnings(caplog):
    """The run's warnings about its inputs: the outcome checks' (`lr_jax.outcomes`, logged by the report; a few
    iterations on six photos learn little) are not what these tests are about."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name != report.__name__]


def retrain_on_a_damaged_cache(tmp_path, run_cli, snapshot, caplog, damage):
    """Train on six photos (filling the image cache), `damage(cache_folder)`, train again from the cache into
    `tmp_path / "second"`; both runs exit 0 and the photos stay as they were. Return (the cache folder, the
    second run's input warnings)."""
    root, cache = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "cache"
    code, _, err = run_cli("train", *folder_overrides(root, tmp_path / "first", cache))
    assert code == 0, err
    [folder] = cache.iterdir()
    damage(folder)
    before = snapshot(root)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli("train", *folder_overrides(root, tmp_path / "second", cache))
    assert code == 0, err
    assert snapshot(root) == before
    return folder, input_warnings(caplog)


@pytest.mark.slow  # a whole CLI run over an image folder
def test_skipped_images_are_counted_and_listed_and_the_run_finishes(tmp_path, run_cli, snapshot, caplog):
    root, run = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "run"
    broken_jpeg(root)
    gif(root)
    before = snapshot(root)

    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli("train", *folder_overrides(root, run, tmp_path / "cache", "data.skip_bad_images=true"))

    assert code == 0, err
    [warning] = input_warnings(caplog)
    assert "skipped 2 of 8 image file(s) (data.skip_bad_images=true): " in warning
    assert "cat/broken.jpg" in warning and "cat/anim.gif" in warning
    assert (run / "metrics.json").is_file() and snapshot(root) == before


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "name", [*(pytest.param(n, marks=pytest.mark.slow) for n in ("pixels.npy", "labels.npy")), "manifest.json"]
)
def test_a_truncated_image_cache_is_rebuilt_and_the_run_finishes(name, tmp_path, run_cli, snapshot, caplog):
    folder, [warning] = retrain_on_a_damaged_cache(
        tmp_path, run_cli, snapshot, caplog, lambda folder: _truncate(folder / name)
    )

    assert str(folder) in warning and "decoding the folder again" in warning
    assert (tmp_path / "second" / "metrics.json").is_file()
    np.load(folder / "pixels.npy")  # whole again


def test_an_unwritable_image_cache_is_left_out_and_the_run_finishes(tmp_path, run_cli, snapshot, caplog):
    root, run = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "run"
    (tmp_path / "file").write_text("where the cache folder would go")
    before = snapshot(root)

    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli("train", *folder_overrides(root, run, tmp_path / "file" / "cache"))

    assert code == 0, err
    [warning] = input_warnings(caplog)
    assert "the image cache cannot be written" in warning and "Set data.cache_dir" in warning
    assert (run / "metrics.json").is_file() and snapshot(root) == before


def test_an_unusable_compilation_cache_is_warned_about_and_the_run_finishes(tmp_path, run_cli, caplog):
    root, run = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "run"
    (tmp_path / "file").write_text("where the cache folder would go")
    xla = tmp_path / "file" / "xla"

    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli(
            "train", *folder_overrides(root, run, tmp_path / "cache", f"train.compilation_cache_dir={xla}")
        )

    assert code == 0, err
    [warning] = input_warnings(caplog)
    assert f"train.compilation_cache_dir={xla}: {xla} cannot be used (Not a directory)" in warning
    assert (run / "metrics.json").is_file()


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (10_000, 10_000)])  # Pillow's error; its warning
def test_predict_refuses_a_decompression_bomb_naming_the_file(width, height, finished_run, tmp_path, run_cli, snapshot):
    bomb = png_declaring(tmp_path / "bomb.png", width, height)
    before = snapshot(finished_run)

    code, out, err = run_cli("predict", f"run={finished_run}", f"images=[{bomb}]")

    assert_one_error(code, err)
    assert err.startswith(f"error: {bomb}: refused as a possible decompression bomb (") and out == ""
    assert snapshot(finished_run) == before
