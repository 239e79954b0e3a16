"""A run folder as a transaction: one run at a time holds it, a finished run is never silently replaced,
and the final outputs become visible together (`lr_jax.runfolder.journal`).

`claim(workdir, ...)` is held for the whole life of a run:
  1. the folder is created and a probe file written and removed (an unwritable folder fails before training);
  2. an exclusive lock (`fcntl.flock` on `.lock`, holding the owner's PID) refuses a second run naming the
     holder; where `fcntl` is absent the lock file is created with O_EXCL instead;
  3. what a killed run left is completed or undone (`recover`), and every name the run will write is
     checked: a directory where a file goes (`params.npz/`) is refused before training;
  4. a folder holding a finished run (`metrics.json`, or a sweep's `summary.json`) is refused unless
     `train.overwrite=true` (or the run continues it with `train.resume=true`). Overwriting is a transaction
     too: the earlier run, whatever it was (a single run or a whole sweep), is set aside in `.overwritten/`
     and comes back if the new run fails, is stopped or killed before its commit; the commit removes it;
  5. a rough free-space check for the checkpoints and outputs.
metrics.json records the sha256 of params.npz and costs.csv, so a reader can tell a mix from a finished run.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lr_jax import errors
from lr_jax.errors import ConfigError, DataError
from lr_jax.runfolder import journal
from lr_jax.runfolder.journal import (  # noqa: F401 (re-exported: the run folder's one entry point)
    JOURNAL,
    OVERWRITTEN,
    SETTING_ASIDE,
    STAGE_DIR,
    committed_path,
    staged_outputs,
)

try:
    import fcntl
except ImportError:  # Windows: an O_EXCL lock file instead of flock
    fcntl = None  # type: ignore[assignment]  # tested with `is not None` below

log = logging.getLogger(__name__)
LOCK_FILE = ".lock"
METRICS_FILE = "metrics.json"
FINISHED_MARKERS = (METRICS_FILE, "summary.json")  # a single run's last file; a vmapped sweep's
HASHED_FILES = ("params.npz", "costs.csv")  # what metrics.json's `files_sha256` describes
MARGIN_BYTES = 16 * 2**20  # the figures, logs and JSON files of a run, roughly
KEPT = (".hydra", LOCK_FILE, OVERWRITTEN, SETTING_ASIDE)  # not the run's: an overwrite leaves them (and *.log)


@contextlib.contextmanager
def claim(
    workdir: Path,
    *,
    overwrite: bool,
    resume: bool,
    need_bytes: int = 0,
    enabled: bool = True,
    files: Iterable[str] = (),
    folders: Iterable[str] = (),
) -> Iterator[None]:
    """Hold `workdir` for one run that writes `files` and `folders` (see the module docstring)."""
    if not enabled:  # another process of a multi-process run writes the files
        yield
        return
    errors.check_signals()
    check_writable(workdir)
    with lock(workdir):
        _recover(workdir)
        journal.check_targets(workdir, files, folders)
        finished = [name for name in FINISHED_MARKERS if (workdir / name).is_file()]
        if finished and not overwrite and not resume:
            raise ConfigError(
                f"{workdir} holds a finished run ({finished[0]} is there). Choose a new run folder "
                "(hydra.run.dir=<new folder>), or pass train.overwrite=true to replace its results."
            )
        check_free_space(workdir, need_bytes)
        aside = False
        try:
            if overwrite and not resume:
                with errors.signals_deferred():  # a signal then finds the earlier run set aside whole
                    aside = set_aside(workdir)
            yield
        except BaseException as e:
            with errors.signals_deferred():  # not committed: the earlier run comes back
                if (workdir / SETTING_ASIDE).exists():  # setting it aside failed part-way
                    _put_back(workdir / SETTING_ASIDE, workdir)
                if aside and (workdir / OVERWRITTEN).exists():
                    restore_overwritten(workdir)
            reported = _reported(e, workdir, aside)
            if reported is e:
                raise
            raise reported from e


def _reported(e: BaseException, workdir: Path, aside: bool) -> BaseException:
    """`e` as the CLI should report it, naming what the run folder now holds."""
    kept = "keeps the run it held before (train.overwrite=true undone)" if aside else "keeps its previous results"
    if isinstance(e, errors.Stopped) and not e.final:
        name = signal.Signals(e.signum).name
        return errors.Stopped(
            e.signum, f"{name}: the run stopped before it finished; {workdir} {kept}.{resume_hint(workdir, aside)}"
        )
    if isinstance(e, errors.Interrupted) and aside:
        name = signal.Signals(e.exit_code - 128).name
        return errors.Interrupted(
            f"{name}: training stopped; {workdir} {kept}. Run the same command again.", e.exit_code - 128
        )
    if isinstance(e, errors.LrJaxError) and aside:  # diverged, a bad value found late: the earlier run is back
        return errors.LrJaxError(f"{e} The earlier run in {workdir} is kept (train.overwrite=true undone).")
    if isinstance(e, OSError):  # a write the more specific handlers do not cover (config.json, ...)
        return DataError(
            f"{e.filename or workdir}: writing failed ({e.strerror or e}); {workdir} {kept}. Free some space or "
            f"fix the folder's permissions, then run the same command again{resume_hint(workdir, aside)}."
        )
    return e


def resume_hint(workdir: Path, aside: bool = False) -> str:
    """ " (with train.resume=true ...)" when `workdir` holds a checkpoint to continue from, else ""."""
    if aside or not any((workdir / "checkpoints").glob("step_*.npz")):
        return ""
    return f" (with train.resume=true hydra.run.dir={workdir}: the checkpoints are kept)"


def recover(workdir: Path, enabled: bool = True) -> None:
    """What a killed run left in `workdir`, completed or undone under the lock (nothing to do: no write)."""
    pending = (JOURNAL, STAGE_DIR, journal.OLD_DIR, OVERWRITTEN, SETTING_ASIDE)
    if enabled and any(os.path.lexists(workdir / name) for name in pending):
        with lock(workdir):
            _recover(workdir)


def _recover(workdir: Path) -> None:
    with errors.signals_deferred():
        journal.recover(workdir)
        if (workdir / SETTING_ASIDE).exists():
            _put_back(workdir / SETTING_ASIDE, workdir)
        if (workdir / OVERWRITTEN).exists():  # an overwrite killed before its commit
            log.warning("%s: the earlier run train.overwrite=true had set aside is put back", workdir)
            restore_overwritten(workdir)


def set_aside(workdir: Path) -> bool:
    """Move the earlier run's entries (all but KEPT and *.log) into `.overwritten/`; False if there are none."""
    entries = sorted(p.name for p in workdir.iterdir() if p.name not in KEPT and not p.name.endswith(".log"))
    if not entries:
        return False
    log.warning("train.overwrite=true: the earlier run in %s is set aside until this one is committed", workdir)
    filling = workdir / SETTING_ASIDE
    filling.mkdir()
    for k, name in enumerate(entries, 1):
        os.replace(workdir / name, filling / name)
        journal.step(workdir, f"aside-{k}")
    os.replace(filling, workdir / OVERWRITTEN)
    journal.step(workdir, "set-aside")
    return True


def restore_overwritten(workdir: Path) -> None:
    """Put back the run an uncommitted overwrite had set aside: the new run's entries first removed."""
    aside = workdir / OVERWRITTEN
    restoring = aside / ".restoring"  # the new run's entries are gone: only moves remain
    if not restoring.exists():
        for p in workdir.iterdir():
            if p.name not in KEPT and not p.name.endswith(".log"):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        restoring.touch()
    _put_back(aside, workdir, marker=restoring)


def _put_back(folder: Path, workdir: Path, marker: Path | None = None) -> None:
    for p in sorted(folder.iterdir()):
        if p != marker:
            os.replace(p, workdir / p.name)
    if marker is not None:
        marker.unlink()
    folder.rmdir()


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


def finish_commit(workdir: Path) -> None:
    """Complete (or roll back) a commit a killed run left journaled, under the lock; for writers only."""
    recover(Path(workdir))
