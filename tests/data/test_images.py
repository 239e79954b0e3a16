"""The one image decoder: 16-bit greyscale scaled, EXIF orientation applied, unreadable files named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax.data.images import load_image
from lr_jax.errors import DataError
from tests.helpers import png_declaring, random_image


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    Image.fromarray(np.full((20, 30), 128 * 257, np.uint16)).save(tmp_path / "grey16.png")
    np.testing.assert_array_equal(load_image(tmp_path / "grey16.png", 64), np.full((64, 64, 3), 128))


def test_exif_orientation_is_applied(tmp_path):
    image = random_image((64, 48), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 3  # Orientation: rotated 180 degrees
    image.save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=100)
    upright = np.asarray(Image.open(tmp_path / "rotated.jpg").rotate(180).resize((64, 64), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(load_image(tmp_path / "rotated.jpg", 64), upright)


@pytest.mark.parametrize(
    "write, says",
    [
        (None, ("no such file", "Check the path")),
        (lambda p: p.write_text("a cat, honestly"), ("not an image Pillow can read", "Give a JPEG or PNG file")),
        (lambda p: p.write_bytes(b""), ("not an image Pillow can read", "Give a JPEG or PNG file")),
    ],
)
def test_unreadable_files_raise_a_data_error_naming_them(tmp_path, write, says):
    path = tmp_path / "x.png"
    if write is not None:
        write(path)
    with pytest.raises(DataError) as e:
        load_image(path, 64)
    assert str(e.value).startswith(f"{path}: ") and all(s in str(e.value) for s in says)


@pytest.mark.parametrize("width, height, pillow_says", [(100_000, 100_000, "exceeds limit"), (10_000, 10_000, "")])
def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, width, height, pillow_says):
    """Over 2x Image.MAX_IMAGE_PIXELS Pillow raises; between 1x and 2x it only warns: both are refused."""
    path = png_declaring(tmp_path / "bomb.png", width, height)
    assert width * height > Image.MAX_IMAGE_PIXELS
    with pytest.raises(DataError) as e:
        load_image(path, 64)
    message = str(e.value)
    assert message.startswith(f"{path}: refused as a possible decompression bomb (") and pillow_says in message
    assert f"{width * height} pixels" in message and f"at most {Image.MAX_IMAGE_PIXELS} pixels" in message
