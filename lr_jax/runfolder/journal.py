"""The commit journal: a run's final outputs staged in `.outputs.tmp/`, then moved into the run folder together.

`staged_outputs(workdir)` yields the stage; when the block succeeds, `commit` takes these steps, each named
(the names the test hook below uses):

  staged       every output is complete in the stage (a sweep's members in sub-folders `0/`, `1/`, ...)
  checked      every target is absent or a file (a directory in the way: DataError, the stage thrown away)
  backed-up    the files about to be replaced hard-linked (copied where links fail) into `.outputs.old/`
  journaled    `.commit.json` written atomically: THE COMMIT POINT
  moved-<k>    the k-th file moved into place (each `metrics.json`, then `summary.json`, last)
  dropped      the earlier run an overwrite set aside (`.overwritten/`) removed
  unjournaled  the journal removed
  cleaned      the stage and the backups removed

A kill before `journaled` leaves the previous state (`recover` throws the stage away); a kill after it is
completed by `recover`. A move that fails rolls the commit back: each moved file goes back to the stage and
its backup to its place; the journal goes last, so a kill during the roll back is rolled forward (or back)
again. Either way the folder holds the old results or the new ones, never a mix.

The journal is untrusted input: a path in it that is not a plain relative name inside the folder (`../x`,
`/etc/x`, `.lock`) makes it invalid, and an invalid journal is never followed. `committed_path` reads a
pending commit without writing, for read-only commands (predict, export).

Test hook: the environment variable LR_JAX_COMMIT_HOOK=kill:<step> SIGKILLs the process when it reaches
<step> (or `aside-<k>` / `set-aside` of an overwrite, `transaction.set_aside`); sigint:<step> and
sigterm:<step> send it that signal instead; snapshot:<folder> copies the run folder to
`<folder>/<nn>-<step>/` at every step (what a kill there would leave on disk). Unset, it costs one lookup.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from lr_jax import artifacts, errors
from lr_jax.errors import DataError

log = logging.getLogger(__name__)
STAGE_DIR = ".outputs.tmp"
OLD_DIR = ".outputs.old"
JOURNAL = ".commit.json"
OVERWRITTEN = ".overwritten"  # an earlier run set aside by train.overwrite=true until the new one commits
SETTING_ASIDE = ".overwriting"  # `.overwritten/` while it fills: a kill then puts everything back
LAST = ("metrics.json", "summary.json")  # moved last, in this order: their presence says a run is finished
HOOK_ENV = "LR_JAX_COMMIT_HOOK"


def step(workdir: Path, name: str) -> None:
    """The test hook (LR_JAX_COMMIT_HOOK, see the module docstring); nothing when it is unset."""
    hook = os.environ.get(HOOK_ENV, "")
    action, _, arg = hook.partition(":")
    if action in ("kill", "sigint", "sigterm") and arg == name:
        os.kill(os.getpid(), {"kill": signal.SIGKILL, "sigint": signal.SIGINT, "sigterm": signal.SIGTERM}[action])
    elif action == "snapshot" and arg:
        folder = Path(arg)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(workdir, folder / f"{len(list(folder.iterdir())):02d}-{name}", symlinks=True)


def is_safe_name(name: object) -> bool:
    """A path the journal may name: relative, at most `member/file`, no `..`, no hidden part."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and len(path.parts) <= 2 and not any(p.startswith(".") for p in path.parts)


def read_journal(workdir: Path) -> list[str] | None:
    """The names the pending commit of `workdir` moves, or None without a journal; DataError when the journal
    is not one lr_jax wrote (unreadable, or a path that would leave the folder)."""
    path = workdir / JOURNAL
    if not path.is_file():
        return None
    try:
        names = json.loads(path.read_text())["files"]
        if not isinstance(names, list):
            raise TypeError("'files' is not a list")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise _invalid(path, f"unreadable ({type(e).__name__}: {e})") from e
    root = workdir.resolve()
    for name in names:
        if not is_safe_name(name) or not (workdir / name).resolve().is_relative_to(root):
            raise _invalid(path, f"it names {name!r}, not a file inside the run folder")
    return names


def _invalid(path: Path, why: str) -> DataError:
    return DataError(
        f"{path}: not a commit journal lr_jax wrote ({why}); it is ignored and nothing it names is moved. "
        f"Delete it and {path.parent / STAGE_DIR}, then run again (train.overwrite=true writes the results anew)."
    )


def committed_path(workdir: Path, name: str) -> Path:
    """Where the committed version of `name` of `workdir` is: a read-only view of the results. With a
    pending commit, its stage copy (or its place, once moved); during an uncommitted overwrite, the earlier
    run's copy set aside. An invalid journal is ignored (the files' sha256 checks still hold)."""
    try:
        names = read_journal(workdir)
    except DataError as e:
        log.warning("%s", e)
        names = None
    if names is not None:
        staged = workdir / STAGE_DIR / name
        return staged if name in names and os.path.lexists(staged) else workdir / name
    if (workdir / OVERWRITTEN).is_dir():
        return workdir / OVERWRITTEN / name
    filling = workdir / SETTING_ASIDE / name
    return filling if os.path.lexists(filling) else workdir / name


def check_targets(workdir: Path, files: Iterable[str] = (), folders: Iterable[str] = ()) -> None:
    """DataError naming the first of `files` (paths in `workdir`) that is a directory (or sits in a file) and
    the first of `folders` that is a file: the run could not put its results there."""
    for name in files:
        target = workdir / name
        if target.parent != workdir and target.parent.exists() and not target.parent.is_dir():
            raise _blocked(target.parent, "a file", "folder", target.parent.name)
        if target.is_dir():
            raise _blocked(target, "a directory", "file", name)
    for name in folders:
        if (workdir / name).exists() and not (workdir / name).is_dir():
            raise _blocked(workdir / name, "a file", "folder", name)


def _blocked(path: Path, what: str, needed: str, name: str) -> DataError:
    return DataError(
        f"{path} is {what}, where the run writes its {needed} {name}. Move it out of the run folder (or choose "
        "another folder: hydra.run.dir=<folder>); nothing was changed."
    )


@contextlib.contextmanager
def staged_outputs(workdir: Path, resume_hint: str = "") -> Iterator[Path]:
    """A fresh stage for the run's final outputs, committed into `workdir` (`commit`) when the block succeeds."""
    stage = workdir / STAGE_DIR
    try:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        yield stage
    except OSError as e:  # disk full, folder gone: the previous results stay as they were
        shutil.rmtree(stage, ignore_errors=True)
        raise DataError(
            f"{workdir}: writing the run's results failed ({e.strerror or e}); the folder keeps its previous "
            f"results. Free some space, then run the same command again{resume_hint}."
        ) from e
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    commit(workdir)


def staged_names(stage: Path) -> list[str]:
    """The files of `stage` as journal names, each `metrics.json` and then `summary.json` last."""
    names = [p.relative_to(stage).as_posix() for p in stage.rglob("*") if not p.is_dir()]
    return sorted(names, key=lambda n: (n == LAST[1], PurePosixPath(n).name == LAST[0], n))


def commit(workdir: Path) -> None:
    """Move the stage's files into `workdir` together (the steps of the module docstring)."""
    stage = workdir / STAGE_DIR
    step(workdir, "staged")
    try:
        errors.check_signals()  # a signal a callback swallowed: the results are not committed
        names = staged_names(stage)
        check_targets(workdir, names)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    step(workdir, "checked")
    try:
        with errors.signals_deferred():  # SIGINT / SIGTERM wait until the folder is consistent again
            _back_up(workdir, names)
            step(workdir, "backed-up")
            artifacts.save_json(workdir / JOURNAL, {"files": names})  # the commit point
            step(workdir, "journaled")
            roll_forward(workdir, names)
    except errors.Stopped as e:
        if (workdir / JOURNAL).exists():  # raised before the block ended: the claim's message says what holds
            raise
        name = signal.Signals(e.signum).name
        message = f"{name}: stopped once the run's results were complete in {workdir} (committed first)."
        raise errors.Stopped(e.signum, message, final=True) from None


def _back_up(workdir: Path, names: list[str]) -> None:
    old = workdir / OLD_DIR
    shutil.rmtree(old, ignore_errors=True)
    for name in names:
        target = workdir / name
        if os.path.lexists(target):
            (old / name).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(target, old / name, follow_symlinks=False)
            except OSError:  # a file system without hard links
                shutil.copy2(target, old / name, follow_symlinks=False)


def roll_forward(workdir: Path, names: list[str]) -> None:
    """Complete a journaled commit; a move that fails rolls it back and raises DataError naming the file."""
    stage = workdir / STAGE_DIR
    for k, name in enumerate(names, 1):
        src = stage / name
        try:
            if os.path.lexists(src):  # absent: moved before a kill
                (workdir / name).parent.mkdir(exist_ok=True)
                os.replace(src, workdir / name)
        except OSError as e:
            roll_back(workdir, names)
            raise DataError(
                f"{workdir / name}: the run's new results could not be put in place ({e.strerror or e}); the "
                f"folder keeps its previous results. Make {workdir / name} a file the run can replace, then run "
                "the same command again."
            ) from e
        step(workdir, f"moved-{k}")
    if (workdir / OVERWRITTEN).exists():
        shutil.rmtree(workdir / OVERWRITTEN)
        step(workdir, "dropped")
    (workdir / JOURNAL).unlink()
    step(workdir, "unjournaled")
    discard(workdir)
    step(workdir, "cleaned")


def roll_back(workdir: Path, names: list[str]) -> None:
    """Undo a journaled commit: moved files back to the stage, the backups back to their places."""
    stage, old = workdir / STAGE_DIR, workdir / OLD_DIR
    for name in reversed(names):
        target = workdir / name
        if not os.path.lexists(stage / name) and os.path.lexists(target) and not target.is_dir():
            os.replace(target, stage / name)  # moved: back where it came from
        if os.path.lexists(old / name) and not target.is_dir():  # a directory in the way stays (the user's)
            os.replace(old / name, target)  # the same file when it never moved: nothing changes
    (workdir / JOURNAL).unlink(missing_ok=True)
    discard(workdir)


def discard(workdir: Path) -> None:
    """Remove the stage and the backups (no journal: nothing of them is committed)."""
    shutil.rmtree(workdir / STAGE_DIR, ignore_errors=True)
    shutil.rmtree(workdir / OLD_DIR, ignore_errors=True)


def recover(workdir: Path) -> None:
    """Complete (or roll back) the commit a killed run journaled, or discard a stage it never committed."""
    names = read_journal(workdir)
    if names is None:
        discard(workdir)
        return
    log.warning("%s: completing the results a killed run had committed", workdir)
    with errors.signals_deferred():
        try:
            roll_forward(workdir, names)
        except DataError as e:  # rolled back: the folder holds its previous results
            log.warning("%s", e)
