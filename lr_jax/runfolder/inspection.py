"""What to look at after a run: `mistakes.png` (the misclassified test images) and `weights.png` (w,
or the input weights of each first-layer unit, under a title and beside a colour bar with its scale).

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
MARGIN = 10  # weights.png: white pixels left of the weights and between them and the colour bar
BAR_WIDTH = 16  # weights.png: the colour bar's width in pixels
BAR_LABELS = 80  # weights.png: pixels right of the colour bar for its scale


def draw_title(draw: ImageDraw.ImageDraw, width: int, lines: Sequence[str]) -> None:
    """One or two centred lines in the TITLE band at the top."""
    for k, line in enumerate(lines):
        y = TITLE // 2 if len(lines) == 1 else TITLE // 4 + k * TITLE // 2
        draw.text((width // 2, y), line, fill="black", anchor="mm")


def text_width(text: str) -> int:
    """Pixels `text` takes in PIL's default font."""
    return math.ceil(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text))


def mistakes_image(
    x_raw_MHWC: np.ndarray,
    y_M: np.ndarray,
    proba_M: np.ndarray,
    threshold: float,
    classes: Sequence[str],
    subject: str = "",
) -> Image.Image:
    """A grid of the misclassified images, each labelled with its index, true and predicted class and P(class 1);
    the title says how many and, with `subject` (`plots.run_subject`), of which model (widened to fit it)."""
    pred_M = (proba_M > threshold).astype(np.int64)
    wrong = np.flatnonzero(pred_M != y_M)
    cols = min(MISTAKE_COLUMNS, max(wrong.size, 1))
    rows = max(math.ceil(wrong.size / cols), 1)
    title = [f"{wrong.size} of {y_M.size} test images misclassified (#index, p = P({classes[1]}))"]
    if subject:
        title.append(subject)
    width = max(cols * CELL, *(text_width(line) + 2 * MARGIN for line in title)) if subject else cols * CELL
    canvas = Image.new("RGB", (width, rows * CELL + TITLE), "white")
    draw = ImageDraw.Draw(canvas)
    draw_title(draw, width, title)
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


def weights_png(units_KD: np.ndarray, image_size: int, subject: str = "") -> Image.Image:
    """`units_image`, each pixel a WEIGHT_ZOOM-wide square (no resampling), at `weights_origin()`, under a
    two-line title (what it shows, and `subject`) and beside a colour bar: each colour channel of a pixel
    is that weight, black the largest negative |w|, grey 0, white the largest positive."""
    units_KD = np.asarray(units_KD)
    rgb = units_image(units_KD, image_size).repeat(WEIGHT_ZOOM, axis=0).repeat(WEIGHT_ZOOM, axis=1)
    height, width = rgb.shape[:2]
    one = units_KD.shape[0] == 1
    largest = f"{float(np.abs(units_KD).max()):.3g}" if one else "max"
    shows = "w" if one else f"input weights of {units_KD.shape[0]} units (max: each unit's own largest |w|)"
    title = [f"{shows}, each value one colour channel", *([subject] if subject else [])]
    total = max(MARGIN + width + MARGIN + BAR_WIDTH + BAR_LABELS, *(text_width(t) + 2 * MARGIN for t in title))
    canvas = Image.new("RGB", (total, TITLE + height + MARGIN), "white")
    canvas.paste(Image.fromarray(rgb), weights_origin())
    bar_left = MARGIN + width + MARGIN
    ramp = np.linspace(255, 0, height).round().astype(np.uint8)  # top: +largest (white); bottom: -largest
    canvas.paste(Image.fromarray(np.repeat(ramp[:, None], BAR_WIDTH, axis=1)).convert("RGB"), (bar_left, TITLE))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((bar_left - 1, TITLE - 1, bar_left + BAR_WIDTH, TITLE + height), outline="black")
    labels_left = bar_left + BAR_WIDTH + 4
    scale = ((f"+{largest}", TITLE, "la"), ("0", TITLE + height // 2, "lm"), (f"-{largest}", TITLE + height, "ld"))
    for text, y, anchor in scale:
        draw.text((labels_left, y), text, fill="black", anchor=anchor)
    draw_title(draw, total, title)
    return canvas


def weights_origin() -> tuple[int, int]:
    """(left, top) of the weights in weights.png: below the title band, MARGIN from the left."""
    return MARGIN, TITLE


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
    subject: str = "",
) -> None:
    """Write `mistakes.png` and `weights.png` (the model's `unit_weights`, one image per unit), titled with
    `subject` (`plots.run_subject`: model, data, learning rate)."""
    x, y, proba = np.asarray(x_raw_MHWC), np.asarray(y_M), np.asarray(proba_M)
    save_png(os.path.join(workdir, "mistakes.png"), mistakes_image(x, y, proba, threshold, classes, subject))
    save_png(os.path.join(workdir, "weights.png"), weights_png(units_KD, image_size, subject))
