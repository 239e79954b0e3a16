"""Your own photos: a folder with one sub-folder per class, decoded once and cached as uint8.

    DIR/non-cat/*.jpg|*.jpeg|*.png   -> label 0   (names from `data.classes`)
    DIR/cat/...                       -> label 1

With `DIR/train/<class>/` and `DIR/test/<class>/` the two splits are taken as they are; otherwise a seeded
`data.test_fraction` of DIR is held out for testing. Every image, of any size and mode (RGBA, greyscale,
palette, 16-bit), is turned upright, converted to RGB and resized to `data.image_size` squared with
Pillow's bicubic filter by `images.load_image`, the decoder predict uses too, so training and prediction
see the same pixels. The result is cached as `pixels.npy` (uint8[m, S, S, 3], memory-mapped when read
back) and `labels.npy` beside `manifest.json`, which lists every file with its size, mtime and sha256: a
file added, removed or changed (by content) makes the next load decode the folder again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

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
CACHE_VERSION = 2


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


def list_images(folder: Path, classes) -> list[tuple[str, int]]:
    """(path relative to `folder`, label) of every image file, class by class, sorted by name."""
    missing = [c for c in classes if not (folder / c).is_dir()]
    if missing:
        found = sorted(p.name for p in folder.iterdir() if p.is_dir())
        raise DataError(
            f"{folder}: no sub-folder(s) {missing} (found {found}). Put each class's images in "
            f"its own sub-folder, or name them with data.classes=[class0,class1]."
        )
    files = [
        (p.relative_to(folder).as_posix(), label)
        for label, c in enumerate(classes)
        for p in sorted((folder / c).rglob("*"))
        if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
    ]
    if not files:
        raise DataError(f"{folder}: no .jpg/.jpeg/.png images in {list(classes)}; add images.")
    return files


def read_folder(folder: Path, cfg: DataConfig) -> Split:
    """The images under `folder`, from the cache when its manifest still matches the files."""
    files = list_images(folder, cfg.classes)
    cache = _cache_dir(folder, cfg)
    manifest = _read_manifest(cache)
    entries = _current_entries(folder, files, manifest)
    if not _same_content(manifest, entries):
        _build_cache(folder, entries, cache, cfg)
    else:  # the cache remembers which files could not be read
        _report_bad(folder, [e["error"] for e in manifest["files"] if e.get("error")], len(entries), cfg)
    x_raw = np.load(cache / "pixels.npy", mmap_mode="r")  # pages are read when (and where) used
    return Split(x_raw, np.load(cache / "labels.npy"), tuple(cfg.classes))


def _cache_dir(folder: Path, cfg: DataConfig) -> Path:
    key = json.dumps([str(folder), cfg.image_size, list(cfg.classes), CACHE_VERSION])
    base = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir().parent / "image_folder"
    return base / hashlib.sha256(key.encode()).hexdigest()[:16]


def _read_manifest(cache: Path) -> dict | None:
    try:
        return json.loads((cache / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _current_entries(folder: Path, files, manifest: dict | None) -> list[dict]:
    """One entry per file; the sha256 is reused from the manifest when size and mtime are unchanged."""
    known = {e["path"]: e for e in (manifest or {}).get("files", [])}
    entries = []
    for path, label in files:
        st = (folder / path).stat()
        old = known.get(path)
        same = old is not None and (old["size"], old["mtime_ns"]) == (st.st_size, st.st_mtime_ns)
        digest = old["sha256"] if same else hashlib.sha256((folder / path).read_bytes()).hexdigest()
        entries.append({"path": path, "label": label, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
    return entries


def _same_content(manifest: dict | None, entries: list[dict]) -> bool:
    """The cache is valid when the same files hold the same bytes (a touched file is not a change)."""
    key = lambda es: [(e["path"], e["label"], e["sha256"]) for e in es]
    return manifest is not None and manifest.get("version") == CACHE_VERSION and key(manifest["files"]) == key(entries)


def _build_cache(folder: Path, entries: list[dict], cache: Path, cfg: DataConfig) -> None:
    """Decode every image; list the unreadable ones in one DataError, or skip them with a count."""
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
    _report_bad(folder, bad, len(entries), cfg)
    if not pixels:
        raise DataError(f"{folder}: none of the {len(entries)} image files can be read; add readable images.")
    labels = np.array([e["label"] for e in entries if "error" not in e], np.int64)
    cache.mkdir(parents=True, exist_ok=True)
    with artifacts.atomic_open(cache / "pixels.npy", "wb") as f:
        np.save(f, np.stack(pixels))
    with artifacts.atomic_open(cache / "labels.npy", "wb") as f:
        np.save(f, labels)
    artifacts.save_json(
        cache / "manifest.json",
        {"version": CACHE_VERSION, "folder": str(folder), "image_size": size, "skipped": len(bad), "files": entries},
    )
    log.info("%s: decoded %d images into %s", folder, len(pixels), cache)


def _report_bad(folder: Path, bad: list[str], total: int, cfg: DataConfig) -> None:
    """All unreadable files in one DataError, or one warning with their count when skipping them."""
    if bad and not cfg.skip_bad_images:
        shown = "; ".join(bad[:20]) + (f"; and {len(bad) - 20} more" if len(bad) > 20 else "")
        raise DataError(
            f"{folder}: {len(bad)} of {total} image file(s) cannot be read: {shown}. "
            "Remove or replace them, or set data.skip_bad_images=true to train without them."
        )
    if bad:
        log.warning("%s: skipped %d unreadable image(s) of %d (data.skip_bad_images=true)", folder, len(bad), total)
