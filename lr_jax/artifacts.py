"""What a run writes into its folder, each file written atomically (temporary name, then rename)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw, not by every `import lr_jax`
    from matplotlib.figure import Figure


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
        np.savez(f, **{k: np.asarray(v) for k, v in params.items()})


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


_plotter: ThreadPoolExecutor | None = None
_plotter_lock = threading.Lock()


def _plot_thread() -> ThreadPoolExecutor:
    """The one worker thread that imports matplotlib and draws the line plots, in order."""
    global _plotter
    with _plotter_lock:
        if _plotter is None:
            _plotter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lr_jax-plots")
        return _plotter


def _import_matplotlib() -> None:
    import matplotlib.backends.backend_agg  # what Figure.savefig(format="png") draws with
    import matplotlib.figure  # noqa: F401


def start_plotting() -> None:
    """Import matplotlib in the plotting thread now (~0.35 s), while the caller's JAX work releases the GIL."""
    _plot_thread().submit(_import_matplotlib)


def plot_in_background(plot: Callable, *args, **kwargs) -> Future:
    """Run `plot(*args, **kwargs)` in the plotting thread; `.result()` waits for it (and raises its error)."""
    return _plot_thread().submit(plot, *args, **kwargs)


def plot_learning_curve(path: str | os.PathLike, iterations, costs, title: str) -> None:
    """The course's figure: cost against iterations."""
    plot_learning_curves(path, {None: (iterations, costs)}, title)


# Fixed margins (fractions of the figure) that fit the axis labels and title: `bbox_inches="tight"` would
# draw every figure twice to find them (~40 % of a line plot's time).
LINE_PLOT_MARGINS = {"left": 0.13, "right": 0.96, "bottom": 0.12, "top": 0.92}
MAX_LEGEND_ENTRIES = 12  # more curves than this are drawn without a legend


def plot_learning_curves(path: str | os.PathLike, curves: Mapping[str | None, tuple], title: str) -> None:
    """Several runs' costs against iterations in one figure: `curves` maps a label to (iterations, costs)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))  # no pyplot: no global backend or figure registry is touched
    fig.subplots_adjust(**LINE_PLOT_MARGINS)
    ax = fig.subplots()
    for label, (iterations, costs) in curves.items():
        ax.plot(iterations, costs, label=label)
    ax.set(xlabel="iterations", ylabel="cost", title=title)
    ax.grid(alpha=0.3)
    if any(label is not None for label in curves) and len(curves) <= MAX_LEGEND_ENTRIES:
        ax.legend(loc="upper right", shadow=True)
    save_figure(path, fig)


def save_figure(path: str | os.PathLike, fig: Figure, **savefig_kwargs) -> None:
    """Render `fig` as PNG in memory (zlib level 1, as `figures.save_png`), then write it atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **{"dpi": 100, "pil_kwargs": {"compress_level": 1}, **savefig_kwargs})
    with atomic_open(path, "wb") as f:
        f.write(buf.getvalue())


def plot_roc_curves(path: str | os.PathLike, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """One ROC curve (false positive rate, true positive rate) per split, with the chance diagonal."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    fig.subplots_adjust(**LINE_PLOT_MARGINS)
    ax = fig.subplots()
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", aspect="equal")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    save_figure(path, fig)
