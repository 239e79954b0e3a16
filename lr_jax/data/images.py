"""The one image decoder: any file Pillow opens, as the uint8 RGB pixels training and prediction both see.

An image of any size and mode (RGBA, greyscale, 16-bit greyscale, palette, CMYK, ...) is turned upright
from its EXIF orientation, converted to RGB and resized to `image_size` squared with bicubic resampling
(Pillow's default, as in the course's "test with your own image"). Image folders decode their files with
it, and predict decodes the images it classifies with it, so both see the same pixels. A file that declares
more pixels than Pillow's `Image.MAX_IMAGE_PIXELS` (a possible decompression bomb: Pillow's warning as well
as its error) is refused before it is decoded.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lr_jax.errors import DataError


def load_image(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """uint8[image_size, image_size, 3]: upright, RGB, resized (bicubic)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # over MAX_IMAGE_PIXELS: refused
            image: Image.Image = Image.open(path)
        with image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I"):  # 16-bit greyscale: scale to 8 bits (Pillow's convert would clip)
                image = Image.fromarray(np.clip(np.round(np.asarray(image) / 257), 0, 255).astype(np.uint8))
            elif image.mode == "F":  # 32-bit float greyscale (e.g. a TIFF): Pillow's convert would clip to 0..255
                image = Image.fromarray(_float_to_uint8(path, np.asarray(image)))
            image = image.convert("RGB")
            return np.asarray(image.resize((image_size, image_size), Image.Resampling.BICUBIC))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(
            f"{path}: refused as a possible decompression bomb ({e}). Give a smaller image: at most "
            f"{Image.MAX_IMAGE_PIXELS} pixels (it is resized to {image_size}x{image_size} anyway)."
        ) from e
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such file. Check the path (relative paths start in the current directory).") from e
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DataError(
            f"{path}: not an image Pillow can read ({type(e).__name__}: {e}). Give a JPEG or PNG file."
        ) from e


def _float_to_uint8(path, x_HW: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] (the convention of float images) as 0-255; any other range is refused: read
    as 0-255 values, [0, 1] would be near-black, and no scale fits every other range."""
    lo, hi = (float(x_HW.min()), float(x_HW.max())) if x_HW.size else (0.0, 0.0)
    if not (np.isfinite(x_HW).all() and lo >= 0 and hi <= 1):
        raise DataError(
            f"{path}: a floating-point image with values in [{lo:g}, {hi:g}]; only [0, 1] is read (as 0-255). "
            "Save it as 8-bit, or scale it to [0, 1]."
        )
    return np.round(x_HW * 255).astype(np.uint8)
