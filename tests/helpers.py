"""Builders the tests share: the course's HDF5 layout and smooth random images."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from importlib import metadata
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


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def core_distributions() -> set[str]:
    """The distributions `pip install -e .` brings (normalized names): lr_jax's dependencies without its extras,
    and theirs, recursively, as their environment markers select them here."""
    from packaging.requirements import Requirement

    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [("lr_jax", frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (_normalize(name), extras) in seen:
            continue
        seen.add((_normalize(name), extras))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))
    return {name for name, _ in seen}


BLOCK_IMPORTS = """
import sys
BLOCKED = frozenset({blocked!r})
class _CoreOnly:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not a core dependency of lr_jax)", name=name)
sys.meta_path.insert(0, _CoreOnly())
"""


def core_dependencies_only(folder: Path) -> dict[str, str]:
    """An environment for a subprocess in which only what `pip install -e .` installs can be imported.

    The installed packages of every other distribution (the extras', pytest's) raise ModuleNotFoundError, as if
    absent: a `sitecustomize.py` written into `folder`, on PYTHONPATH, puts a finder first on `sys.meta_path`.
    """
    core = core_distributions()
    blocked = {
        module
        for module, dists in metadata.packages_distributions().items()
        if module not in sys.stdlib_module_names and not any(_normalize(d) in core for d in dists)
    }
    (folder / "sitecustomize.py").write_text(BLOCK_IMPORTS.format(blocked=sorted(blocked)))
    return {**os.environ, "PYTHONPATH": str(folder), "JAX_PLATFORMS": "cpu"}
