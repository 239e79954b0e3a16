"""The line plots, drawn by matplotlib: learning curves (cost against iterations) and ROC curves.

matplotlib is imported by what draws (not by `import lr_jax`), in a run in the worker thread
(`background.in_background`) while JAX trains. A run's two figures are built there before their data exist
and drawn once empty (`prepare`), so that at the run's end only the curves are left to draw:

- the ROC's axes are fixed ([0, 1]², with matplotlib's 5 % margins), so `RocCurves.save` draws the curves
  onto the finished frame and the legend over them, not the whole figure;
- a learning curve's axes follow the costs, so `LearningCurves.save` draws the figure again, its ticks
  and texts already made.

Figures are `matplotlib.figure.Figure`s with an Agg canvas (no pyplot: no global backend or figure
registry is touched), encoded as PNG by Pillow at zlib level 1 (as `figures.save_png`) and written
atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
from PIL import Image

from lr_jax import artifacts, background
from lr_jax.runfolder import inspection as figures

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure, SubFigure

# Fixed margins (fractions of the figure) that fit the axis labels and title: `bbox_inches="tight"` would
# draw every figure twice to find them.
LINE_PLOT_MARGINS = {"left": 0.13, "right": 0.96, "bottom": 0.12, "top": 0.92}
MAX_LEGEND_ENTRIES = 12  # more curves than this are drawn without a legend
DPI = 100
ROC_LIMITS = (-0.05, 1.05)  # what autoscaling gives [0, 1]; fixed, so the frame can be drawn first


def _import_matplotlib() -> None:
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def start_plotting() -> None:
    """Import matplotlib in the worker thread now, while the caller's JAX work releases the GIL."""
    background.in_background(_import_matplotlib)


def _axes(figsize: tuple[float, float]) -> Axes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(**LINE_PLOT_MARGINS)
    return fig.subplots()


def _save_canvas(path: str | os.PathLike, fig: Figure | SubFigure) -> None:
    """What `fig`'s canvas holds now (no new drawing), as PNG."""
    canvas = cast("FigureCanvasAgg", fig.canvas)  # every figure here gets an Agg canvas in `_axes`
    figures.save_png(path, Image.fromarray(np.asarray(canvas.buffer_rgba())))


class LearningCurves:
    """Costs against iterations, one line per label (the label None: the course's one curve, no legend)."""

    def __init__(self, title: str, labels: Sequence[str | None] = (None,)):
        ax = self.ax = _axes((6, 4))
        self.lines = {label: ax.plot([], [], label=label)[0] for label in labels}
        ax.set(xlabel="iterations", ylabel="cost")
        ax.set_title(title, y=1.0)  # y given: matplotlib skips measuring the axis to lift the title (none is on top)
        ax.grid(alpha=0.3)
        if any(label is not None for label in labels) and len(labels) <= MAX_LEGEND_ENTRIES:
            ax.legend(loc="upper right", shadow=True)

    def prepare(self) -> LearningCurves:
        """Draw the empty figure once, making its ticks and texts: `save` then draws it faster."""
        self.ax.figure.canvas.draw()
        return self

    def save(self, path: str | os.PathLike, curves: Mapping[str | None, tuple]) -> None:
        """Write the figure with `curves` ({label: (iterations, costs)}, the labels given at construction)."""
        for label, (iterations, costs) in curves.items():
            self.lines[label].set_data(np.asarray(iterations), np.asarray(costs))
        self.ax.relim()
        self.ax.autoscale_view()
        self.ax.figure.canvas.draw()
        _save_canvas(path, self.ax.figure)


class RocCurves:
    """One ROC curve (false positive rate, true positive rate) per split, with the chance diagonal."""

    def __init__(self, names: Sequence[str]):
        ax = self.ax = _axes((5, 5))
        self.lines = {name: ax.plot([], [], label=name)[0] for name in names}
        ax.plot([0, 1], [0, 1], "k:", lw=1, label="chance")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=ROC_LIMITS, ylim=ROC_LIMITS)
        ax.set_aspect("equal")
        ax.set_title("ROC", y=1.0)
        ax.grid(alpha=0.3)
        # Opaque, so that drawing it again over the curves gives the pixels of drawing it once.
        self.legend = ax.legend(loc="lower right", framealpha=1.0)
        self.drawn = False

    def prepare(self) -> RocCurves:
        """Draw everything but the curves: axes, diagonal, legend."""
        self.ax.figure.canvas.draw()
        self.drawn = True
        return self

    def save(self, path: str | os.PathLike, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Write the figure with `curves` ({split: (fpr, tpr)}, the splits given at construction); once."""
        if not self.drawn:
            self.prepare()
        for name, (fpr, tpr) in curves.items():
            self.lines[name].set_data(np.asarray(fpr), np.asarray(tpr))
            self.ax.draw_artist(self.lines[name])
        self.ax.draw_artist(self.legend)
        _save_canvas(path, self.ax.figure)


def plot_learning_curves(path: str | os.PathLike, curves: Mapping[str | None, tuple], title: str) -> None:
    """Several runs' costs against iterations in one figure: `curves` maps a label to (iterations, costs)."""
    LearningCurves(title, list(curves)).save(path, curves)


def plot_roc_curves(path: str | os.PathLike, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """One ROC curve per split, with the chance diagonal."""
    RocCurves(list(curves)).save(path, curves)


def save_figure(path: str | os.PathLike, fig: Figure, **savefig_kwargs) -> None:
    """Render any `fig` as PNG in memory (zlib level 1), then write it atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **{"dpi": DPI, "pil_kwargs": {"compress_level": 1}, **savefig_kwargs})
    with artifacts.atomic_open(path, "wb") as f:
        f.write(buf.getvalue())
