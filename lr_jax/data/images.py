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
