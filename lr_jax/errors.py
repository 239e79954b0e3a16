"""The one exception type lr_jax raises for input a user can fix, and how the CLI reports it.

SIGINT and SIGTERM: `exit_on_signals()`, called at the top of every script, turns either signal, at any
moment, into `Stopped` (a KeyboardInterrupt, so no `except Exception` swallows it) and the CLI into one
`error:` line and exit 130 / 143. Where the signal must wait (the commit of a run's results), the code
runs in `signals_deferred()`; where raising from the handler may be swallowed (a garbage collector callback),
the signal stays pending and the next `check_signals()` raises it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator

EXIT_CODE = 2  # what the CLI returns for an LrJaxError (Hydra's own errors exit with 1)


class LrJaxError(Exception):
    """Bad input: the message names the input, what is wrong, and what to do about it."""

    exit_code = EXIT_CODE


class DataError(LrJaxError):
    """A data file, data directory, image or run folder that cannot be used."""


class ConfigError(LrJaxError):
    """A configuration value that is missing, unknown or out of range."""


class DivergenceError(LrJaxError):
    """Training produced non-finite parameters or costs."""


class OutcomeError(LrJaxError):
    """train.strict=true and the run raised outcome warnings (`lr_jax.outcomes`); the CLI exits with 3."""

    exit_code = 3


class Interrupted(LrJaxError):
    """SIGINT or SIGTERM stopped training; the CLI exits with 128 + the signal's number (130, 143)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


# A write that found no room: a full disk, a file size limit (`ulimit -f`), a full quota.
NO_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def no_room_message(e: OSError, what: str) -> str | None:
    """One line for an OSError of NO_ROOM while writing `what`; None for any other error."""
    if e.errno not in NO_ROOM:
        return None
    return (
        f"{what}: writing failed ({e.strerror}). Free some space (or raise the file size limit, ulimit -f), "
        "then run the command again."
    )


def report_no_room_as_errors() -> None:
    """Ignore SIGXFSZ, which a write past `ulimit -f` sends and which kills the process without a word: the
    write then fails with EFBIG, an OSError the commands report in one line. Main thread only (signal's rule)."""
    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM outside the training loop (`exit_on_signals`); exit code 128 + the signal's number."""

    def __init__(self, signum: int, message: str | None = None, final: bool = False):
        name = signal.Signals(signum).name
        super().__init__(message or f"{name}: stopped during start-up, before the run folder was written.")
        self.signum, self.exit_code = signum, 128 + signum
        self.final = final  # the message says what the run folder holds: report it as it is


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: list[int] = []  # the signals received and not yet raised
_deferred = 0  # > 0 inside `signals_deferred()`


_entered = False  # inside `with exit_on_signals()`: a signal raises; before (the script's imports), it exits


def _on_signal(signum, frame) -> None:
    _pending.append(signum)
    if not _entered:  # still importing: nothing written yet, and no `with` that would report an exception
        os.write(2, f"error: {Stopped(signum)}\n".encode())
        os._exit(128 + signum)
    if not _deferred:
        raise Stopped(signum)


class _SignalScope:
    """What `exit_on_signals` returns: `with` it around the script's `main()` to report a `Stopped`."""

    def __init__(self):
        self.previous = {}
        self.install()

    def install(self) -> None:
        if not self.previous and threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}

    def __enter__(self) -> _SignalScope:
        global _entered
        self.install()  # again, for a second run in the same process (tests)
        _entered = True
        return self

    def __exit__(self, kind, e, tb) -> None:
        global _entered
        _entered = False
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        self.previous = {}
        _pending.clear()
        if isinstance(e, Stopped) and os.environ.get("HYDRA_FULL_ERROR") != "1":
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)


def exit_on_signals() -> _SignalScope:
    """From now on SIGINT and SIGTERM raise `Stopped` (or wait, inside `signals_deferred`); `with` the
    result around `main()` prints it as one `error:` line and exits 130 / 143, then restores the handlers."""
    _pending.clear()
    return _SignalScope()


def check_signals() -> None:
    """Raise `Stopped` for a signal received and not yet raised (one a callback swallowed, or deferred)."""
    if _pending:
        raise Stopped(_pending.pop())


def pending_signal() -> int | None:
    """The signal received and not yet raised, if any."""
    return _pending[-1] if _pending else None


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (a commit completes first), then raise `Stopped`."""
    global _deferred
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
    if not _deferred:
        check_signals()


@contextlib.contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn an LrJaxError into `error: <message>` on stderr and exit code 2 (130/143 for an interrupt),
    without a traceback; an OSError of a full disk or a file size limit too (exit 2).

    With HYDRA_FULL_ERROR=1 in the environment the exception propagates, traceback and all.
    """
    report_no_room_as_errors()
    try:
        yield
    except (LrJaxError, Stopped) as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except OSError as e:
        message = no_room_message(e, e.filename or "a file")
        if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_CODE)
    if _pending:  # a signal a callback swallowed, after the work was done
        name = signal.Signals(_pending[-1]).name
        print(f"error: {name}: received as the command ended; its work was complete.", file=sys.stderr)
        sys.exit(128 + _pending[-1])
