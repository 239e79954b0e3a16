"""The one exception type lr_jax raises for input a user can fix, and how the CLI reports it."""

from __future__ import annotations

import contextlib
import os
import sys
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


@contextlib.contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn an LrJaxError into `error: <message>` on stderr and exit code 2 (130/143 for an interrupt),
    without a traceback.

    With HYDRA_FULL_ERROR=1 in the environment the exception propagates, traceback and all.
    """
    try:
        yield
    except LrJaxError as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
