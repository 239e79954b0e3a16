"""What to look at after a run: `mistakes.png` (the misclassified test images) and `weights.png` (w,
or the input weights of each first-layer unit).

Both are composed as pixels with NumPy and Pillow (labels in PIL's default font): no matplotlib, so they
need neither its import nor its drawing. Written atomically through `artifacts.atomic_open`.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from lr_jax import artifacts

MISTAKE_COLUMNS = 5  # images per row of mistakes.png
CELL = 180  # pixels of each image's cell: two label lines above the image
TITLE = 40  # pixels of the title band
LABEL = 30  # pixels of the label lines above each image
IMAGE_ZOOM = 2  # a 64x64 image is shown 128x128 (nearest neighbour: every pixel a 2x2 block)
WEIGHT_ZOOM = 4  # weights.png shows each weight as a ZOOM x ZOOM block of pixels
UNIT_COLUMNS = 8  # weights.png of a model with several first-layer units: this many images per row
GAP = 2  # white pixels between two units' images


def mistakes_image(
    x_raw_MHWC: np.ndarray, y_M: np.ndarray, proba_M: np.ndarray, threshold: float, classes: Sequence[str]
) -> Image.Image:
    """A grid of the misclassified images, each labelled with its index, true and predicted class and P(class 1)."""
    pred_M = (proba_M > threshold).astype(np.int64)
    wrong = np.flatnonzero(pred_M != y_M)
    cols = min(MISTAKE_COLUMNS, max(wrong.size, 1))
    rows = max(math.ceil(wrong.size / cols), 1)
    canvas = Image.new("RGB", (cols * CELL, rows * CELL + TITLE), "white")
    draw = ImageDraw.Draw(canvas)
    title = f"{wrong.size} of {y_M.size} images misclassified (#index, p = P({classes[1]}))"
    draw.text((cols * CELL // 2, TITLE // 2), title, fill="black", anchor="mm")
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        left, top = c * CELL, TITLE + r * CELL
        label = f"#{i} true: {classes[y_M[i]]}\npred: {classes[pred_M[i]]}, p={proba_M[i]:.2f}"
        draw.multiline_text((left + CELL // 2, top + 2), label, fill="black", anchor="ma", align="center")
        pixels_HWC = np.asarray(x_raw_MHWC[i], np.uint8).repeat(IMAGE_ZOOM, axis=0).repeat(IMAGE_ZOOM, axis=1)
        tile = Image.fromarray(pixels_HWC[..., :3] if pixels_HWC.ndim == 3 else pixels_HWC).convert("RGB")
        tile.thumbnail((CELL - 4, CELL - LABEL - 4))  # a large image shrinks to its cell; 64x64 fits as it is
        canvas.paste(tile, (left + (CELL - tile.width) // 2, top + LABEL))
    if wrong.size == 0:
        draw.text((CELL // 2, TITLE + CELL // 2), "no mistakes", fill="black", anchor="mm")
    return canvas


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


def weights_png(units_KD: np.ndarray, image_size: int) -> Image.Image:
    """`units_image`, each pixel a WEIGHT_ZOOM-wide square (no resampling)."""
    rgb = units_image(units_KD, image_size).repeat(WEIGHT_ZOOM, axis=0).repeat(WEIGHT_ZOOM, axis=1)
    return Image.fromarray(rgb)


def save_png(path: str | os.PathLike, image: Image.Image) -> None:
    """`image` as PNG, encoded in memory (zlib level 1: less compression work than the default, slightly
    larger files), then written atomically."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    with artifacts.atomic_open(path, "wb") as f:
        f.write(buf.getvalue())


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
    mistakes = mistakes_image(np.asarray(x_raw_MHWC), np.asarray(y_M), np.asarray(proba_M), threshold, classes)
    save_png(os.path.join(workdir, "mistakes.png"), mistakes)
    save_png(os.path.join(workdir, "weights.png"), weights_png(units_KD, image_size))
