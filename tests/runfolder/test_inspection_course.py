"""mistakes.png and weights.png of the finished course run: the pixel sizes and contents promised."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax import artifacts
from lr_jax.runfolder import inspection as figures


@pytest.mark.slow  # the finished 2000-iteration course run
def test_run_writes_mistakes_grid_of_its_15_misclassified_test_images(course_run):
    # The course run gets 35 of 50 test images right: 15 mistakes, 5 columns x 3 rows of 180-pixel
    # cells under a 40-pixel title.
    with Image.open(course_run / "mistakes.png") as image:
        assert image.size == (5 * 180, 3 * 180 + 40)


@pytest.mark.slow  # the finished 2000-iteration course run
def test_run_writes_weights_as_a_64x64x3_image_zoomed_4x(course_run):
    w = artifacts.load_params(course_run / "params.npz")["w"]
    with Image.open(course_run / "weights.png") as image:  # under a title, beside a colour bar
        left, top = figures.weights_origin()
        rgb = np.asarray(image.convert("RGB"))[top : top + 256, left : left + 256]
    np.testing.assert_array_equal(rgb[::4, ::4], figures.weights_image(w, 64))
    np.testing.assert_array_equal(rgb, rgb[::4, ::4].repeat(4, axis=0).repeat(4, axis=1))
