"""What to look at after a run: `mistakes.png` (the misclassified test images) and `weights.png` (w,
or the input weights of each first-layer unit, under a title and beside a colour bar with its scale).
A run of K classes names the true and predicted class of each mistake and shows one image per class (the
class's column of W), all on one scale (`save_class_inspection`).

Both are composed as pixels with NumPy and Pillow (labels in PIL's default font): no matplotlib, so they
need neither its import nor its drawing. Written atomically through `artifacts.atomic_open`.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from lr_jax import artifacts
from lr_jax.errors import DataError

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
    zoom: int = IMAGE_ZOOM,
) -> Image.Image:
    """A grid of the misclassified images (each pixel a `zoom`-wide square), each labelled with its index, true
    and predicted class and P(class 1) (for K classes, `proba_M` of shape (M, K): the most probable class and its
    probability); the title says how many and, with `subject` (`plots.run_subject`), of which model (widened
    to fit it)."""
    pred_M, p_M, shown = predictions(proba_M, threshold, classes)
    wrong = np.flatnonzero(pred_M != y_M)
    cols = min(MISTAKE_COLUMNS, max(wrong.size, 1))
    rows = max(math.ceil(wrong.size / cols), 1)
    title = [f"{wrong.size} of {y_M.size} test images misclassified (#index, p = {shown})"]
    if subject:
        title.append(subject)
    width = max(cols * CELL, *(text_width(line) + 2 * MARGIN for line in title)) if subject else cols * CELL
    canvas = Image.new("RGB", (width, rows * CELL + TITLE), "white")
    draw = ImageDraw.Draw(canvas)
    draw_title(draw, width, title)
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        left, top = c * CELL, TITLE + r * CELL
        label = f"#{i} true: {classes[y_M[i]]}\npred: {classes[pred_M[i]]}, p={p_M[i]:.2f}"
        draw.multiline_text((left + CELL // 2, top + 2), label, fill="black", anchor="ma", align="center")
        pixels_HWC = np.asarray(x_raw_MHWC[i], np.uint8).repeat(zoom, axis=0).repeat(zoom, axis=1)
        if pixels_HWC.ndim == 3:  # colour (the first 3 channels) or grey with a channel axis
            pixels_HWC = pixels_HWC[..., 0] if pixels_HWC.shape[2] == 1 else pixels_HWC[..., :3]
        tile = Image.fromarray(pixels_HWC).convert("RGB")
        tile.thumbnail((CELL - 4, CELL - LABEL - 4))  # a large image shrinks to its cell; 64x64 fits as it is
        canvas.paste(tile, (left + (CELL - tile.width) // 2, top + LABEL))
    if wrong.size == 0:
        draw.text((CELL // 2, TITLE + CELL // 2), "no mistakes", fill="black", anchor="mm")
    return canvas


def fitting_zoom(image_shape: Sequence[int]) -> int:
    """The largest whole zoom (at least IMAGE_ZOOM) at which an image of `image_shape` fits its mistakes cell."""
    return max(IMAGE_ZOOM, (CELL - LABEL - 4) // max(int(image_shape[0]), int(image_shape[1])))


def predictions(proba_M: np.ndarray, threshold: float, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """(predicted class, the p a mistake is labelled with, what p is): P(class 1) against `threshold`, or for
    class probabilities (M, K) the most probable class (the first on a tie) and its probability."""
    proba_M = np.asarray(proba_M)
    if proba_M.ndim == 2:
        pred_M = np.argmax(proba_M, axis=1)
        return pred_M, np.take_along_axis(proba_M, pred_M[:, None], axis=1)[:, 0], "P(predicted class)"
    return (proba_M > threshold).astype(np.int64), proba_M, f"P({classes[1]})"


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
    draw_title(draw_colour_bar(canvas, MARGIN + width + MARGIN, height, largest), total, title)
    return canvas


def draw_colour_bar(canvas: Image.Image, left: int, height: int, largest: str) -> ImageDraw.ImageDraw:
    """A grey ramp from +`largest` (white, top) through 0 to -`largest` (black), `height` pixels from TITLE
    down at `left`, framed and labelled; returns the canvas's drawing context."""
    ramp = np.linspace(255, 0, height).round().astype(np.uint8)  # top: +largest (white); bottom: -largest
    canvas.paste(Image.fromarray(np.repeat(ramp[:, None], BAR_WIDTH, axis=1)).convert("RGB"), (left, TITLE))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((left - 1, TITLE - 1, left + BAR_WIDTH, TITLE + height), outline="black")
    scale = ((f"+{largest}", TITLE, "la"), ("0", TITLE + height // 2, "lm"), (f"-{largest}", TITLE + height, "ld"))
    for text, y, anchor in scale:
        draw.text((left + BAR_WIDTH + 4, y), text, fill="black", anchor=anchor)
    return draw


CLASS_TILE = 128  # weights.png of K classes: each class's image zoomed to about this many pixels (8x8 16-fold)
CLASS_COLUMNS = 5  # weights.png of K classes: this many classes per row
CLASS_LABEL = 16  # weights.png of K classes: pixels of the class name above each image


class ClassTiles(NamedTuple):
    """Where weights.png of K classes puts each class's image: `zoom` (pixels per weight), the (left, top)
    of each class's image, and the size of the grid (below the title band, left of the colour bar)."""

    zoom: int
    origins: list[tuple[int, int]]
    width: int
    height: int


def class_tiles(class_names: Sequence[str], image_shape: Sequence[int]) -> ClassTiles:
    """The layout of weights.png for `class_names` and images of `image_shape` ((H, W) or (H, W, C))."""
    h, w = int(image_shape[0]), int(image_shape[1])
    zoom = max(1, CLASS_TILE // max(h, w))
    cell_w = max(w * zoom, *(text_width(name) for name in class_names))
    cell_h = CLASS_LABEL + h * zoom + MARGIN
    cols = min(CLASS_COLUMNS, len(class_names))
    origins = []
    for k in range(len(class_names)):
        r, c = divmod(k, cols)
        origins.append((MARGIN + c * (cell_w + MARGIN) + (cell_w - w * zoom) // 2, TITLE + r * cell_h + CLASS_LABEL))
    rows = math.ceil(len(class_names) / cols)
    return ClassTiles(zoom, origins, MARGIN + cols * (cell_w + MARGIN) - MARGIN, rows * cell_h - MARGIN)


def class_image(w_D: np.ndarray, image_shape: Sequence[int], largest: float) -> np.ndarray:
    """One class's weights as an RGB uint8 image of `image_shape`: grey is 0, white +`largest`, black
    -`largest` (a grey image's one channel as grey, a colour image's each channel)."""
    w_HWC = np.asarray(w_D, np.float64).reshape(*image_shape[:2], -1)
    if w_HWC.shape[2] not in (1, 3):
        raise DataError(
            f"images of shape {tuple(image_shape)}: weights.png shows grey (H, W) or (H, W, 1) or colour "
            "(H, W, 3) images; convert the images to grey or RGB"
        )
    shown = 0.5 + w_HWC / (2 * largest) if largest > 0 else np.full_like(w_HWC, 0.5)
    return np.broadcast_to(np.round(255 * shown).astype(np.uint8), (*w_HWC.shape[:2], 3))


def class_weights_png(
    weights_KD: np.ndarray,
    image_shape: Sequence[int],
    class_names: Sequence[str],
    subject: str = "",
    shows: str | None = None,
) -> Image.Image:
    """weights.png of K classes: row k of `weights_KD` (W[:, k], the weights of class k) as an image of
    `image_shape` under its class name, CLASS_COLUMNS classes a row, on one scale (the largest |W| of all
    classes, beside a colour bar), under a title (`shows`, by default the weights of each class) and `subject`."""
    weights_KD = np.asarray(weights_KD, np.float64)
    tiles = class_tiles(class_names, image_shape)
    largest = float(np.abs(weights_KD).max()) if weights_KD.size else 0.0
    shows = shows or f"weights of each of {len(class_names)} classes"
    title = [f"{shows}, one scale for all", *([subject] if subject else [])]
    bar_left = tiles.width + MARGIN
    total = max(bar_left + BAR_WIDTH + BAR_LABELS, *(text_width(t) + 2 * MARGIN for t in title))
    canvas = Image.new("RGB", (total, TITLE + tiles.height + MARGIN), "white")
    draw = draw_colour_bar(canvas, bar_left, tiles.height, f"{largest:.3g}")
    for name, w_D, (left, top) in zip(class_names, weights_KD, tiles.origins):
        pixels = class_image(w_D, image_shape, largest).repeat(tiles.zoom, axis=0).repeat(tiles.zoom, axis=1)
        canvas.paste(Image.fromarray(np.ascontiguousarray(pixels)), (left, top))
        draw.text((left + pixels.shape[1] // 2, top - 2), name, fill="black", anchor="md")
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


def save_class_inspection(
    workdir: str | os.PathLike,
    x_raw_MHWC,
    y_M,
    proba_MK,
    weights_RD,
    *,
    classes: Sequence[str],
    rows_are_classes: bool = True,
    subject: str = "",
) -> None:
    """K classes: write `mistakes.png` (true and predicted class names, small images zoomed to fill their
    cells) and `weights.png`, each row of `weights_RD` shaped as the images: the weights of each class
    (`rows_are_classes`: a linear model's W transposed) or of each first-layer unit (an MLP's `unit_weights`)."""
    x, y, proba, weights_RD = (np.asarray(a) for a in (x_raw_MHWC, y_M, proba_MK, weights_RD))
    if weights_RD.ndim != 2 or weights_RD.shape[1] != math.prod(x.shape[1:]):
        raise DataError(
            f"weights of shape {weights_RD.shape} for images of shape {x.shape[1:]}: weights.png needs one row of "
            f"{math.prod(x.shape[1:])} weights (one per pixel value) per class or unit"
        )
    mistakes = mistakes_image(x, y, proba, 0.5, classes, subject, fitting_zoom(x.shape[1:]))
    save_png(os.path.join(workdir, "mistakes.png"), mistakes)
    labels = list(classes) if rows_are_classes else [f"unit {j}" for j in range(weights_RD.shape[0])]
    shows = None if rows_are_classes else f"input weights of {weights_RD.shape[0]} first-layer units"
    image = class_weights_png(weights_RD, x.shape[1:], labels, subject, shows)
    save_png(os.path.join(workdir, "weights.png"), image)
