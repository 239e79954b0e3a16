"""mistakes.png and weights.png: written by every run, with the pixel sizes and contents promised."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lr_jax.runfolder import inspection as figures


def test_weights_image_is_grey_at_zero_and_spans_the_largest_weight():
    w = np.zeros(4 * 4 * 3)
    np.testing.assert_array_equal(figures.weights_image(w, 4), 128)
    w[[0, 7]] = [-2.0, 2.0]
    shown = figures.weights_image(w, 4).ravel()
    assert (shown[0], shown[7], shown[1]) == (0, 255, 128)


@pytest.mark.parametrize("n_wrong, size", [(0, (180, 220)), (1, (180, 220)), (7, (900, 400))])
def test_mistakes_figure_size_follows_the_number_of_mistakes(tmp_path, n_wrong, size):
    y = np.zeros(10, np.int64)
    proba = np.where(np.arange(10) < n_wrong, 0.9, 0.1)
    x_raw = np.zeros((10, 8, 8, 3), np.uint8)
    figures.save_png(tmp_path / "m.png", figures.mistakes_image(x_raw, y, proba, 0.5, ("non-cat", "cat")))
    with Image.open(tmp_path / "m.png") as image:
        assert image.size == size


def test_mistakes_grid_shows_each_wrong_image_2x_in_its_cell(tmp_path):
    # Pixels, not a plot: image k of the grid is the k-th misclassified image, each pixel a 2x2 block.
    rng = np.random.default_rng(0)
    x_raw = rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    y, proba = np.array([1, 0, 1, 0, 1, 0]), np.array([0.2, 0.1, 0.9, 0.8, 0.3, 0.4])  # wrong: 0, 3, 4
    figures.save_png(tmp_path / "m.png", figures.mistakes_image(x_raw, y, proba, 0.5, ("non-cat", "cat")))
    with Image.open(tmp_path / "m.png") as image:
        rgb = np.asarray(image.convert("RGB"))
    assert rgb.shape == (figures.TITLE + figures.CELL, 3 * figures.CELL, 3)
    for k, i in enumerate([0, 3, 4]):
        left = k * figures.CELL + (figures.CELL - 128) // 2
        tile = rgb[figures.TITLE + figures.LABEL :][:128, left : left + 128]
        np.testing.assert_array_equal(tile[::2, ::2], x_raw[i])


def test_inspection_figures_do_not_import_matplotlib(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from lr_jax.runfolder import inspection as figures\n"
        "x = np.zeros((4, 8, 8, 3), np.uint8)\n"
        "figures.save_inspection(sys.argv[1], x, np.zeros(4, int), np.full(4, 0.9), np.ones((1, 192)),"
        " threshold=0.5, image_size=8, classes=('a', 'b'))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert (tmp_path / "mistakes.png").is_file() and (tmp_path / "weights.png").is_file()
