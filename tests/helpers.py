"""Builders the tests share: the course's HDF5 layout and smooth random images."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from lr_jax.runfolder import checkpoint

COURSE_CLASSES = (b"non-cat", b"cat")  # `list_classes` as the course's files store it (dtype S7)


def write_course_h5(path: Path, split: str, x=None, y=None, classes=COURSE_CLASSES) -> Path:
    """One file in the course's layout: `{split}_set_x`, `{split}_set_y`, `list_classes` (each left out if None)."""
    with h5py.File(path, "w") as f:
        if x is not None:
            f[f"{split}_set_x"] = x
        if y is not None:
            f[f"{split}_set_y"] = y
        if classes is not None:
            f["list_classes"] = np.array(classes)
    return path


def random_image(size, mode: str) -> Image.Image:
    """Smooth random content (so that JPEG and resizing keep it recognisable) in the given mode."""
    rng = np.random.default_rng(sum(size) + len(mode))
    small = rng.integers(0, 256, (8, 8, 4), np.uint8)
    rgba = Image.fromarray(small, "RGBA").resize(size, Image.Resampling.BILINEAR)
    if mode == "P":
        return rgba.convert("RGB").quantize(colors=32)
    return rgba if mode == "RGBA" else rgba.convert(mode)


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A PNG file of a few bytes whose header declares `width` x `height` pixels (no pixel data): what a
    decompression bomb looks like before it is decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def kill_after_first_checkpoint(command: list[str], run_dir: Path, timeout_s: float) -> str:
    """Start `command`, SIGKILL it as soon as `run_dir/checkpoints` holds a complete checkpoint, and return
    the newest checkpoint's file name (the process must still have been running when killed)."""
    folder = run_dir / checkpoint.FOLDER
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while not checkpoint.list_checkpoints(folder) and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, f"{command[1]} ended before it could be killed"
    return checkpoint.list_checkpoints(folder)[-1].name
