"""A run folder as a transaction: one run at a time holds it, a finished run is never silently replaced,
and the final outputs become visible together.

`claim(workdir, ...)` is held for the whole life of a run:
  1. the folder is created and a probe file written and removed (an unwritable folder fails before training);
  2. an exclusive lock (`fcntl.flock` on `.lock`, holding the owner's PID) refuses a second run naming the
     holder; where `fcntl` is absent the lock file is created with O_EXCL instead;
  3. a folder holding a finished run (`metrics.json`) is refused unless `train.overwrite=true` (or the run
     continues it with `train.resume=true`); with overwrite, the old results go, metrics.json first;
  4. a rough free-space check for the checkpoints and outputs.

`commit_outputs(workdir)` stages the final outputs in `.outputs.tmp/` and moves them into the folder in a
fixed order, `metrics.json` last. The commit point is the journal `.commit.json`, written atomically once
every staged file is complete: a kill before it leaves the previous state (the stage is thrown away by the
next run), a kill after it is rolled forward by the next `claim` or `finish_commit`. metrics.json records
the sha256 of params.npz and costs.csv, so a reader can tell a mix apart from a finished run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lr_jax import artifacts
from lr_jax.errors import ConfigError, DataError

try:
    import fcntl
except ImportError:  # Windows: an O_EXCL lock file instead of flock
    fcntl = None  # type: ignore[assignment]  # tested with `is not None` below

log = logging.getLogger(__name__)
LOCK_FILE = ".lock"
STAGE_DIR = ".outputs.tmp"
JOURNAL = ".commit.json"
METRICS_FILE = "metrics.json"
FINISHED_MARKERS = (METRICS_FILE, "summary.json")  # a single run's last file; a vmapped sweep's
HASHED_FILES = ("params.npz", "costs.csv")  # what metrics.json's `files_sha256` describes
MARGIN_BYTES = 16 * 2**20  # the figures, logs and JSON files of a run, roughly


@contextlib.contextmanager
def claim(workdir: Path, *, overwrite: bool, resume: bool, need_bytes: int = 0, enabled: bool = True) -> Iterator[None]:
    """Hold `workdir` for one run: writable, locked, not a finished run (see the module docstring)."""
    if not enabled:  # another process of a multi-process run writes the files
        yield
        return
    check_writable(workdir)
    with lock(workdir):
        finish_commit(workdir, locked=True)
        finished = [name for name in FINISHED_MARKERS if (workdir / name).is_file()]
        if overwrite and not resume:
            clear_results(workdir)
        elif finished and not resume:
            raise ConfigError(
                f"{workdir} holds a finished run ({finished[0]} is there). Choose a new run folder "
                "(hydra.run.dir=<new folder>), or pass train.overwrite=true to replace its results."
            )
        check_free_space(workdir, need_bytes)
        try:
            yield
        except OSError as e:  # a write the more specific handlers do not cover (config.json, ...)
            raise DataError(
                f"{e.filename or workdir}: writing failed ({e.strerror or e}). Free some space or fix the "
                "folder's permissions, then run the same command again (with train.resume=true once a "
                "checkpoint exists)."
            ) from e


def check_writable(workdir: Path) -> None:
    """Create `workdir` and write a probe file into it, or raise DataError naming the folder."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=workdir, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise DataError(
            f"{workdir}: the run folder cannot be written ({e.strerror or e}). Fix its permissions or "
            "choose another folder (hydra.run.dir=<folder>); nothing was trained."
        ) from e


def check_free_space(workdir: Path, need_bytes: int) -> None:
    """Raise DataError when the disk holding `workdir` has less room than `need_bytes` plus a margin."""
    free = shutil.disk_usage(workdir).free
    need = need_bytes + MARGIN_BYTES
    if free < need:
        raise DataError(
            f"{workdir}: {free / 2**20:.1f} MiB free on its disk, the run needs about {need / 2**20:.1f} MiB "
            "for checkpoints and outputs. Free some space or choose another folder (hydra.run.dir=<folder>)."
        )


def clear_results(workdir: Path) -> None:
    """Remove an earlier run's results (train.overwrite=true): metrics.json first, then the rest."""
    log.warning("train.overwrite=true: replacing the earlier run in %s", workdir)
    for name in (*FINISHED_MARKERS, *HASHED_FILES):
        (workdir / name).unlink(missing_ok=True)
    shutil.rmtree(workdir / "checkpoints", ignore_errors=True)


@contextlib.contextmanager
def lock(workdir: Path) -> Iterator[None]:
    """An exclusive lock on `workdir` for the block; a second holder gets DataError naming the first's PID."""
    path = workdir / LOCK_FILE
    fd = _acquire(path) if fcntl is not None else _acquire_excl(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # before the unlock: a waiting process then sees a new file, not this one
        os.close(fd)


def _acquire(path: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise _held(path, holder) from None
        if _same_file(fd, path):  # not unlinked by a holder that released it meanwhile
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _acquire_excl(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise _held(path, path.read_text().strip() or "unknown", stale_hint=True) from None
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _held(path: Path, holder: str, stale_hint: bool = False) -> DataError:
    stale = f" If no such process runs, delete {path}." if stale_hint else ""
    return DataError(
        f"{path.parent}: another run (PID {holder}) is using this run folder. Wait for it to end, or "
        f"choose another folder (hydra.run.dir=<folder>).{stale}"
    )


def sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """{name: sha256} of the files of HASHED_FILES that `folder` holds."""
    return {name: sha256(folder / name) for name in HASHED_FILES if (folder / name).is_file()}


@contextlib.contextmanager
def staged_outputs(workdir: Path) -> Iterator[Path]:
    """A fresh stage folder for the run's final outputs; committed into `workdir` when the block succeeds."""
    stage = workdir / STAGE_DIR
    try:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        yield stage
    except OSError as e:  # disk full, folder gone: the previous results stay as they were
        shutil.rmtree(stage, ignore_errors=True)
        raise DataError(
            f"{workdir}: writing the run's results failed ({e.strerror or e}); the folder keeps its previous "
            "results. Free some space, then run the same command with train.resume=true (the checkpoints "
            "are kept)."
        ) from e
    names = sorted(p.name for p in stage.iterdir() if p.name != METRICS_FILE)
    if (stage / METRICS_FILE).is_file():
        names.append(METRICS_FILE)  # last: its presence says the run is finished
    artifacts.save_json(workdir / JOURNAL, {"files": names})  # the commit point
    _roll_forward(workdir)


def finish_commit(workdir: Path, locked: bool = False) -> None:
    """Complete a commit a killed run left journaled, or throw away a stage it never committed."""
    workdir = Path(workdir)
    if (workdir / JOURNAL).is_file():
        with contextlib.nullcontext() if locked else lock(workdir):
            log.warning("%s: completing the results a killed run had committed", workdir)
            _roll_forward(workdir)
    elif locked and (workdir / STAGE_DIR).exists():
        shutil.rmtree(workdir / STAGE_DIR)


def _roll_forward(workdir: Path) -> None:
    try:
        names = json.loads((workdir / JOURNAL).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(
            f"{workdir / JOURNAL}: unreadable ({e}). Delete it and {workdir / STAGE_DIR}, then run again "
            "with train.resume=true to write the results anew."
        ) from e
    stage = workdir / STAGE_DIR
    for name in names:
        if (stage / name).exists():  # absent: moved before the kill
            os.replace(stage / name, workdir / name)
    (workdir / JOURNAL).unlink()
    shutil.rmtree(stage, ignore_errors=True)
