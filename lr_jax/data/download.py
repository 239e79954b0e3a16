"""Find the course's HDF5 files, or download them with pooch, verified by file sha256.

A `data.dir` given in the config must hold both files (else DataError: an explicit path is never replaced
by a found one). Without it: the environment variable LR_JAX_DATA_DIR, then the user cache
(`~/.cache/lr_jax/catvnoncat` on Linux); the first folder that holds both files wins. If none does and
downloads are allowed, pooch fetches the missing files into the cache: it writes to a temporary file and
renames it only after the checksum matched, so a failed or corrupted download leaves nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pooch

from lr_jax.errors import DataError

FILES = {"train": "train_catvnoncat.h5", "test": "test_catvnoncat.h5"}
FILE_SHA256 = {
    "train_catvnoncat.h5": "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    "test_catvnoncat.h5": "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
}
ENV_DATA_DIR = "LR_JAX_DATA_DIR"


def default_cache_dir() -> Path:
    """The per-user cache folder for the data set (honours XDG_CACHE_HOME on Linux)."""
    return Path(pooch.os_cache("lr_jax")) / "catvnoncat"


def candidate_dirs(data_dir: str | None) -> list[tuple[str, Path | None]]:
    """(where-it-came-from, folder) in search order; a folder is None when its source is unset."""
    env = os.environ.get(ENV_DATA_DIR)
    return [
        ("data.dir", Path(data_dir).expanduser() if data_dir else None),
        (ENV_DATA_DIR, Path(env).expanduser() if env else None),
        ("user cache", default_cache_dir()),
    ]


def locate(data_dir: str | None, base_url: str, download: bool = True) -> Path:
    """Return the folder holding both files, downloading into the cache if needed."""
    candidates = candidate_dirs(data_dir)
    if data_dir:  # explicit beats found: a typo in a path must not train on other data
        folder = candidates[0][1]
        assert folder is not None  # data_dir is set
        missing = sorted(name for name in FILES.values() if not (folder / name).is_file())
        if missing:
            raise DataError(
                f"data.dir={data_dir} does not hold {missing}. Fix the path, put the files there, or drop "
                f"data.dir to use {ENV_DATA_DIR} or the user cache (downloading into it if allowed)."
            )
        return folder
    for _, folder in candidates[1:]:
        if folder is not None and all((folder / name).is_file() for name in FILES.values()):
            return folder
    cache = candidates[-1][1]
    assert cache is not None  # the user cache is always a folder
    if not download:
        raise DataError(_missing_message(candidates, "downloads are off (data.download=false)"))
    try:
        fetch(base_url, cache)
    except DataError as e:
        raise DataError(_missing_message(candidates, str(e))) from e
    return cache


def fetch(base_url: str, cache_dir: Path) -> None:
    """Download the missing files from `base_url` into `cache_dir`, each verified by its sha256."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        if (cache_dir / name).is_file():
            continue
        url = base_url.rstrip("/") + "/" + name
        try:
            pooch.retrieve(url, known_hash=f"sha256:{FILE_SHA256[name]}", fname=name, path=cache_dir)
        except ValueError as e:  # pooch's checksum mismatch; its temporary file is already removed
            raise DataError(f"the download of {url} did not match its sha256 checksum ({e})") from e
        except Exception as e:
            raise DataError(f"the download of {url} failed ({type(e).__name__}: {e})") from e


def _missing_message(candidates, reason: str) -> str:
    looked = "; ".join(
        f"{source}: {folder}" if folder is not None else f"{source}: (unset)" for source, folder in candidates
    )
    return (
        f"The course data files {sorted(FILES.values())} were not found, and {reason}. "
        f"Looked in {looked}. Provide them either way: (1) put both files in a folder and pass "
        f"data.dir=/that/folder or set {ENV_DATA_DIR}=/that/folder; or (2) go online and run again with "
        "data.download=true, which downloads them into the user cache."
    )
