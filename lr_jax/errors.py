"""The one exception type lr_jax raises for input a user can fix, and how the CLI reports it."""

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


@contextlib.contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn an LrJaxError into `error: <message>` on stderr and exit code 2 (130/143 for an interrupt),
    without a traceback; an OSError of a full disk or a file size limit too (exit 2).

    With HYDRA_FULL_ERROR=1 in the environment the exception propagates, traceback and all.
    """
    report_no_room_as_errors()
    try:
        yield
    except LrJaxError as e:
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
