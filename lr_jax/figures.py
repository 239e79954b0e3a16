"""What to look at after a run: `mistakes.png` (the misclassified test images) and `weights.png` (w,
or the input weights of each first-layer unit).

Both are drawn on a matplotlib `Figure` (no pyplot: no global state) with a fixed pixel size, and
written atomically through `artifacts.save_figure`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from lr_jax import artifacts

MISTAKE_COLUMNS = 5  # images per row of mistakes.png
CELL_INCHES = 1.8  # each image with its label; at DPI this is 180 pixels
TITLE_INCHES = 0.4
DPI = 100
WEIGHT_ZOOM = 4  # weights.png shows each weight as a ZOOM x ZOOM block of pixels
UNIT_COLUMNS = 8  # weights.png of a model with several first-layer units: this many images per row
GAP = 2  # white pixels between two units' images


def mistakes_figure(
    x_raw_MHWC: np.ndarray, y_M: np.ndarray, proba_M: np.ndarray, threshold: float, classes: Sequence[str]
) -> Figure:
    """A grid of the misclassified images, each titled with its true and predicted class and P(cat)."""
    pred_M = (proba_M > threshold).astype(np.int64)
    wrong = np.flatnonzero(pred_M != y_M)
    cols = min(MISTAKE_COLUMNS, max(wrong.size, 1))
    rows = max(math.ceil(wrong.size / cols), 1)
    fig = Figure(figsize=(cols * CELL_INCHES, rows * CELL_INCHES + TITLE_INCHES), dpi=DPI, layout="constrained")
    fig.suptitle(f"{wrong.size} of {y_M.size} images misclassified (#index, p = P({classes[1]}))", fontsize=9)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(x_raw_MHWC[i])
        ax.set_title(f"#{i} true: {classes[y_M[i]]}\npred: {classes[pred_M[i]]}, p={proba_M[i]:.2f}", fontsize=7)
    if wrong.size == 0:
        axes[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    return fig


def weights_image(w_D: np.ndarray, image_size: int) -> np.ndarray:
    """w as an RGB uint8 image: grey is 0, white / black the largest |w| of either sign."""
    w_HWC = np.asarray(w_D, np.float64).reshape(image_size, image_size, 3)
    largest = np.abs(w_HWC).max()
    shown = 0.5 + w_HWC / (2 * largest) if largest > 0 else np.full_like(w_HWC, 0.5)
    return np.round(255 * shown).astype(np.uint8)


def units_image(units_KD: np.ndarray, image_size: int) -> np.ndarray:
    """Each unit's input weights as a `weights_image`, tiled UNIT_COLUMNS wide with GAP white pixels between.

    One unit (logistic regression's w) is exactly its `weights_image`.
    """
    tiles = [weights_image(w_D, image_size) for w_D in np.asarray(units_KD)]
    if len(tiles) == 1:
        return tiles[0]
    cols = min(UNIT_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    step = image_size + GAP
    grid = np.full((rows * step - GAP, cols * step - GAP, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * step : r * step + image_size, c * step : c * step + image_size] = tile
    return grid


def weights_figure(units_KD: np.ndarray, image_size: int) -> Figure:
    """`units_image`, each pixel a WEIGHT_ZOOM-wide square, placed 1:1 on the canvas (no resampling)."""
    rgb = units_image(units_KD, image_size).repeat(WEIGHT_ZOOM, axis=0).repeat(WEIGHT_ZOOM, axis=1)
    fig = Figure(figsize=(rgb.shape[1] / DPI, rgb.shape[0] / DPI), dpi=DPI)
    fig.figimage(rgb, origin="upper")
    return fig


def save_inspection(
    workdir: str | os.PathLike,
    x_raw_MHWC,
    y_M,
    proba_M,
    units_KD,
    *,
    threshold: float,
    image_size: int,
    classes: Sequence[str],
) -> None:
    """Write `mistakes.png` and `weights.png` (the model's `unit_weights`, one image per unit)."""
    artifacts.save_figure(
        os.path.join(workdir, "mistakes.png"),
        mistakes_figure(np.asarray(x_raw_MHWC), np.asarray(y_M), np.asarray(proba_M), threshold, classes),
        dpi=DPI,
    )
    artifacts.save_figure(os.path.join(workdir, "weights.png"), weights_figure(units_KD, image_size), dpi=DPI)
