"""mistakes.png and weights.png: written by every run, with the pixel sizes and contents promised."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax import artifacts, figures


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
    artifacts.save_figure(
        tmp_path / "m.png", figures.mistakes_figure(x_raw, y, proba, 0.5, ("non-cat", "cat")), dpi=figures.DPI
    )
    with Image.open(tmp_path / "m.png") as image:
        assert image.size == size
