"""Your own photos: a folder with one sub-folder per class, decoded once and cached as uint8.

    DIR/non-cat/*.jpg|*.jpeg|*.png   -> label 0   (names from `data.classes`)
    DIR/cat/...                       -> label 1
    DIR/<third class>/...             -> label 2, and so on: K class folders, in the order of `data.classes`

With `DIR/train/<class>/` and `DIR/test/<class>/` the two splits are taken as they are; otherwise a seeded
`data.test_fraction` of DIR is held out for testing. Every image, of any size and mode (RGBA, greyscale,
palette, 16-bit), is turned upright, converted to RGB and resized to `data.image_size` squared with
Pillow's bicubic filter by `images.load_image`, the decoder predict uses too, so training and prediction
see the same pixels. The result is cached as `pixels.npy` (uint8[m, S, S, 3]) and `labels.npy` beside
`manifest.json`, which lists every file with its sha256 and records the sha256 of the cached pixels and
labels. What the cache promises (docs/image-cache.md): a load uses the cache only if every image file's
bytes hash to what the manifest lists (each file is read and hashed on every load, so a replaced file is
noticed even with its size and mtime restored) and the cached arrays hash to what was recorded when they
were written. Anything else (a file added, removed or changed; a cache truncated, altered or unreadable)
decodes the folder again, with one warning for a damaged cache; a cache folder that cannot be written
leaves the run on the decoded images, with one warning.

Refused, each naming what to fix: a class folder missing or without images, a sub-folder that is no class
of `data.classes`, image files the loader would skip (unreadable, of a type other than JPEG/PNG such as
.gif or .heic, or a PNG/JPEG file without its extension; with `data.skip_bad_images=true` they are
skipped, counted and listed in the log), and a `data.image_size` at which the decoded images would not fit
in the memory available. Files that are no images at all (a notes.txt) are ignored, listed in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TypeGuard

import numpy as np
from PIL import Image

from lr_jax import artifacts
from lr_jax.config import DataConfig
from lr_jax.data import images
from lr_jax.data.download import default_cache_dir
from lr_jax.data.split import Split
from lr_jax.errors import DataError

log = logging.getLogger(__name__)
EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
CACHE_VERSION = 3  # 3: the manifest records the sha256 of pixels.npy's and labels.npy's arrays


def load(cfg: DataConfig) -> dict[str, Split]:
    """{"train": Split, "test": Split} from `cfg.dir`."""
    if not cfg.dir or not Path(cfg.dir).expanduser().is_dir():
        raise DataError(
            f"data.dir={cfg.dir!r} is not a folder. data=image_folder needs data.dir=/path/to/folder "
            f"holding one sub-folder per class, {list(cfg.classes)}."
        )
    root = Path(cfg.dir).expanduser().resolve()
    if all((root / s).is_dir() for s in ("train", "test")):
        return {s: read_folder(root / s, cfg) for s in ("train", "test")}
    whole = read_folder(root, cfg)
    order = np.random.default_rng([cfg.seed, 2]).permutation(len(whole.y))
    num_test = max(1, round(cfg.test_fraction * len(order)))
    if num_test >= len(order):
        raise DataError(
            f"{root}: {len(order)} image(s) cannot be split into train and test "
            f"(data.test_fraction={cfg.test_fraction}); add images."
        )
    pick = {"train": np.sort(order[num_test:]), "test": np.sort(order[:num_test])}
    return {s: Split(whole.x_raw[i], whole.y[i], whole.classes) for s, i in pick.items()}


def list_images(folder: Path, classes) -> tuple[list[tuple[str, int]], list[str]]:
    """((path relative to `folder`, label) of every JPEG/PNG file, class by class, sorted by name; the
    other image files, which the loader skips). Refuses missing, empty or unnamed class folders."""
    subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    missing = [c for c in classes if c not in subfolders]
    if missing:
        raise DataError(
            f"{folder}: no sub-folder(s) {missing} (found {subfolders}). Put each class's images in "
            f"its own sub-folder, or name them with data.classes=[class0,class1,...]."
        )
    unnamed = [name for name in subfolders if name not in classes]
    if unnamed:
        raise DataError(
            f"{folder}: sub-folder(s) {unnamed} are no class of data.classes={list(classes)}, so their images "
            "would be left out. Move them out of the folder, or name every class with "
            "data.classes=[class0,class1,...]."
        )
    found = [
        (p.relative_to(folder).as_posix(), label)
        for label, c in enumerate(classes)
        for p in sorted((folder / c).rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]
    files = [(path, label) for path, label in found if Path(path).suffix.lower() in EXTENSIONS]
    empty = [c for label, c in enumerate(classes) if not any(k == label for _, k in files)]
    if empty:
        raise DataError(
            f"{folder}: no .jpg/.jpeg/.png images in class folder(s) {empty}; a classifier needs examples of "
            f"{'both classes' if len(classes) == 2 else 'every class'}. Add images there."
        )
    other_images = (Image.registered_extensions().keys() | PHOTO_EXTENSIONS) - EXTENSIONS
    unsupported, ignored = [], []
    for path, _ in found:
        suffix = Path(path).suffix.lower()
        if suffix in EXTENSIONS:
            continue
        if suffix in other_images:
            unsupported.append(f"{path} (not a .jpg/.jpeg/.png file: convert it)")
        elif kind := _sniff(folder / path):
            unsupported.append(f"{path} (a {kind} file without its extension: rename it to {path}.{kind.lower()})")
        else:
            ignored.append(path)
    if ignored:
        shown = ", ".join(ignored[:10]) + (f" and {len(ignored) - 10} more" if len(ignored) > 10 else "")
        log.info("%s: ignored %d file(s) that are no images: %s", folder, len(ignored), shown)
    return files, unsupported


# Photo formats Pillow does not open without a plugin: named as images that cannot be used, not ignored.
PHOTO_EXTENSIONS = frozenset({".heic", ".heif", ".avif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raw"})
_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


def _sniff(path: Path) -> str | None:
    """ "PNG" or "JPEG" when the file starts as one does (whatever its name), else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def read_folder(folder: Path, cfg: DataConfig) -> Split:
    """The images under `folder`, from the cache when its manifest still matches the files."""
    files, unsupported = list_images(folder, cfg.classes)
    check_memory(folder, len(files), cfg.image_size)
    cache = _cache_dir(folder, cfg)
    manifest = _read_manifest(cache)
    entries = _current_entries(folder, files)
    if _same_content(manifest, entries):
        split = _read_cache(cache, manifest, cfg)
        if split is not None:  # the cache remembers which files could not be read
            unreadable = [e["error"] for e in manifest["files"] if e.get("error")]
            _report_bad(folder, unreadable + unsupported, len(entries) + len(unsupported), cfg)
            return split
    return _build_cache(folder, entries, unsupported, cache, cfg)


def check_memory(folder: Path, count: int, image_size: int) -> None:
    """Refuse an image size at which `count` decoded images (count·S·S·3 bytes) exceed the memory available."""
    need, free = count * image_size * image_size * 3, available_memory()
    if free is not None and need > free:
        raise DataError(
            f"data.image_size={image_size}: the {count} images of {folder} decoded at {image_size}x{image_size} "
            f"RGB need {need} bytes ({need / 2**30:.1f} GiB), more than the {free} bytes ({free / 2**30:.1f} GiB) "
            "of memory available. Use a smaller data.image_size (the course's is 64), or fewer images."
        )


def available_memory() -> int | None:
    """Bytes a new allocation can get: MemAvailable (else free pages), within a cgroup's limit; None if unknown."""
    free = None
    try:
        with open("/proc/meminfo") as f:
            free = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, ValueError, IndexError, StopIteration):
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # a container's limit (cgroup v2)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            free = min(free, int(limit) - used)
    except (OSError, ValueError):
        pass
    return free


def _cache_dir(folder: Path, cfg: DataConfig) -> Path:
    key = json.dumps([str(folder), cfg.image_size, list(cfg.classes), CACHE_VERSION])
    base = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir().parent / "image_folder"
    return base / hashlib.sha256(key.encode()).hexdigest()[:16]


def _read_manifest(cache: Path) -> dict | None:
    """The cache's manifest; None when there is none, or (with a warning) when it cannot be used."""
    path = cache / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
        keys = ("path", "label", "size", "mtime_ns", "sha256")
        if not all(isinstance(e, dict) and all(k in e for k in keys) for e in manifest["files"]):
            raise ValueError("an entry of 'files' lacks one of " + ", ".join(keys))
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s cannot be read (%s: %s); decoding the folder again", path, type(e).__name__, e)
        return None
    return manifest


def _read_cache(cache: Path, manifest: dict, cfg: DataConfig) -> Split | None:
    """The cached pixels and labels when they are what the manifest describes; None (with a warning) if not."""
    labels = [e["label"] for e in manifest["files"] if not e.get("error")]
    size = cfg.image_size
    try:
        x_raw = np.load(cache / "pixels.npy", mmap_mode="r")  # read once by the checksum, then by training
        y = np.load(cache / "labels.npy")
        if x_raw.dtype != np.uint8 or x_raw.shape != (len(labels), size, size, 3):
            raise ValueError(
                f"pixels.npy holds {x_raw.dtype}{list(x_raw.shape)}, not uint8[{len(labels)}, {size}, {size}, 3]"
            )
        if y.shape != (len(labels),) or y.tolist() != labels:
            raise ValueError("labels.npy does not hold the manifest's labels")
        for name, array in (("pixels.npy", x_raw), ("labels.npy", y)):
            if _array_sha256(array) != manifest["arrays_sha256"][name]:
                raise ValueError(f"{name}'s content does not match the sha256 recorded when it was written")
    except (OSError, ValueError, EOFError, KeyError, TypeError) as e:
        log.warning("%s: the image cache is damaged (%s: %s); decoding the folder again", cache, type(e).__name__, e)
        return None
    return Split(x_raw, y, tuple(cfg.classes))


def _current_entries(folder: Path, files) -> list[dict]:
    """One entry per file, its sha256 computed from its bytes every time: size and mtime can be restored
    after a file is replaced, so they are recorded for the reader but never trusted."""
    entries = []
    for path, label in files:
        st = (folder / path).stat()
        digest = _file_sha256(folder / path)
        entries.append({"path": path, "label": label, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
    return entries


def _array_sha256(array: np.ndarray, rows: int = 1024) -> str:
    """sha256 of an array's C-order bytes (`split.content_sha256`'s value), a block of rows at a time: a
    memory-mapped cache is read once, never copied whole."""
    digest = hashlib.sha256()
    for start in range(0, len(array), rows):
        digest.update(np.ascontiguousarray(array[start : start + rows]).data)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest() if hasattr(hashlib, "file_digest") else _chunked(f)


def _chunked(f) -> str:  # Python 3.10 has no hashlib.file_digest
    digest = hashlib.sha256()
    while chunk := f.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _same_content(manifest: dict | None, entries: list[dict]) -> TypeGuard[dict]:
    """The cache is valid when the same files hold the same bytes (a touched file is not a change)."""
    key = lambda es: [(e["path"], e["label"], e["sha256"]) for e in es]
    return manifest is not None and manifest.get("version") == CACHE_VERSION and key(manifest["files"]) == key(entries)


def _build_cache(folder: Path, entries: list[dict], unsupported: list[str], cache: Path, cfg: DataConfig) -> Split:
    """Decode every image; list the skipped ones in one DataError, or skip them with a count and the list."""
    size, pixels, bad = cfg.image_size, [], []
    for entry in entries:
        try:
            pixels.append(images.load_image(folder / entry["path"], size))
        except DataError as e:  # names the file and what Pillow said
            entry["error"] = str(e)
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            entry["error"] = f"{entry['path']} ({type(e).__name__}: {e})"
        if "error" in entry:
            bad.append(entry["error"])
    _report_bad(folder, bad + unsupported, len(entries) + len(unsupported), cfg)
    if not pixels:
        raise DataError(f"{folder}: none of the {len(entries)} image files can be read; add readable images.")
    split = Split(
        np.stack(pixels), np.array([e["label"] for e in entries if "error" not in e], np.int64), tuple(cfg.classes)
    )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with artifacts.atomic_open(cache / "pixels.npy", "wb") as f:
            np.save(f, split.x_raw)
        with artifacts.atomic_open(cache / "labels.npy", "wb") as f:
            np.save(f, split.y)
        artifacts.save_json(
            cache / "manifest.json",
            {
                "version": CACHE_VERSION,
                "folder": str(folder),
                "image_size": size,
                "skipped": len(bad),
                "arrays_sha256": {"pixels.npy": _array_sha256(split.x_raw), "labels.npy": _array_sha256(split.y)},
                "files": entries,
            },
        )
    except OSError as e:
        log.warning(
            "%s: the image cache cannot be written (%s); training on the decoded images without a cache. "
            "Set data.cache_dir to a writable folder.",
            cache,
            e.strerror or e,
        )
        return split
    log.info("%s: decoded %d images into %s", folder, len(pixels), cache)
    return split


def _report_bad(folder: Path, bad: list[str], total: int, cfg: DataConfig) -> None:
    """All skipped files in one DataError, or one warning with their count and list when skipping them."""
    if not bad:
        return
    shown = "; ".join(bad[:20]) + (f"; and {len(bad) - 20} more" if len(bad) > 20 else "")
    if not cfg.skip_bad_images:
        raise DataError(
            f"{folder}: {len(bad)} of {total} image file(s) cannot be used: {shown}. "
            "Remove or replace them, or set data.skip_bad_images=true to train without them."
        )
    log.warning("%s: skipped %d of %d image file(s) (data.skip_bad_images=true): %s", folder, len(bad), total, shown)
