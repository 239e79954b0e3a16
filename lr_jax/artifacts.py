"""What a run writes into its folder, each file written atomically (temporary name, then rename)."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import numpy as np


def _file_mode() -> int:
    """The mode `open()` would give a new file: 0o666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, _file_mode())  # mkstemp creates 0600; the result should read like any other output
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_params(path: str | os.PathLike, params: Mapping[str, np.ndarray]) -> None:
    """`params.npz`: one array per leaf ("w", "b")."""
    with atomic_open(path, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in params.items()})  # type: ignore[arg-type]  # no key is allow_pickle


def load_params(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a `params.npz` written by `save_params`."""
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def strict_json(obj):
    """`obj` with every NaN or infinite float replaced by None: JSON that strict readers accept."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


def save_json(path: str | os.PathLike, obj) -> None:
    """`obj` as indented, key-sorted, strict JSON (a non-finite number is written as null)."""
    with atomic_open(path) as f:
        json.dump(strict_json(obj), f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")


def save_costs_csv(
    path: str | os.PathLike,
    iterations: Sequence[int],
    costs: Sequence[float],
    extra: Mapping[str, Sequence[float]] | None = None,
) -> None:
    """`costs.csv`: `iteration,cost` rows (plus a column per `extra` entry, one value per iteration; NaN is
    left empty), numbers printed with full float precision."""
    extra = extra or {}
    cell = lambda v: repr(float(v)) if math.isfinite(v) else ""
    with atomic_open(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["iteration", "cost", *extra])
        for k, (i, c) in enumerate(zip(iterations, costs)):
            writer.writerow([int(i), repr(float(c)), *(cell(column[k]) for column in extra.values())])


def save_table_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, object]]) -> None:
    """A table as CSV: one header row (the keys of the first row), then one row per mapping."""
    with atomic_open(path) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
