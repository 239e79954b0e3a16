"""The line plots, drawn by matplotlib: learning curves (cost against iterations) and ROC curves.

matplotlib is imported by what draws (not by `import lr_jax`); in a run, by the drawing process
(`background.in_drawing_process`, `start_plotting`) on another core while JAX trains. A run's two figures
are built there before their data exist (`build_figure`) and drawn once empty (`prepare`), so that at the
run's end only the curves are left to draw (`save_built_figure`):

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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from PIL import Image

from lr_jax import artifacts, background, metrics
from lr_jax.runfolder import inspection as figures

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure, SubFigure

# Fixed margins (fractions of the figure) that fit the axis labels and title: `bbox_inches="tight"` would
# draw every figure twice to find them.
# The title has two lines: what the figure shows, then the model, data and learning rate.
LINE_PLOT_MARGINS = {"left": 0.13, "right": 0.96, "bottom": 0.12, "top": 0.86}
OUTSIDE_LEGEND_MARGINS = {**LINE_PLOT_MARGINS, "left": 0.09, "right": 0.62}  # the legend right of the axes
TITLE_SIZE = 10  # points: two lines fit above the axes
MAX_LEGEND_ENTRIES = 12  # more curves than this are drawn without a legend
DPI = 100
ROC_LIMITS = (-0.05, 1.05)  # what autoscaling gives [0, 1]; fixed, so the frame can be drawn first


MATPLOTLIB_MODULES = ("matplotlib.backends.backend_agg", "matplotlib.figure", __name__)


def start_plotting() -> None:
    """Start the drawing process (`background.start_drawing`): it imports matplotlib and this module now, on
    another core, while the caller imports JAX and trains."""
    background.start_drawing(*MATPLOTLIB_MODULES)


def build_figure(figure: type[LearningCurves] | type[RocCurves], prepare: bool, *args, **kwargs):
    """`figure(*args, **kwargs)`, drawn empty with `prepare` (in the drawing process, before the data exist)."""
    built = figure(*args, **kwargs)
    return built.prepare() if prepare else built


def save_built_figure(figure: LearningCurves | RocCurves, path: str | os.PathLike, data) -> None:
    """Write a figure `build_figure` made, with its data (`LearningCurves.save`, `RocCurves.save`)."""
    figure.save(path, data)


def plot_class_figures(workdir: Path, y_N, proba_NK, class_names: Sequence[str], cm_KK, subject: str, split: str):
    """confusion_matrix.png and, up to 11 classes (a legend entry each, and chance), the one-vs-rest ROC."""
    plot_confusion_matrix(workdir / "confusion_matrix.png", cm_KK, class_names, subject, split)
    if len(class_names) < MAX_LEGEND_ENTRIES:
        rocs = {name: metrics.roc_curve(y_N == k, proba_NK[:, k]) for k, name in enumerate(class_names)}
        plot_roc_curves(workdir / "roc_curve.png", rocs, subject, title=f"One-vs-rest ROC curves, {split} split")


def _axes(figsize: tuple[float, float], margins: Mapping[str, float] = LINE_PLOT_MARGINS) -> Axes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(**margins)
    return fig.subplots()


def figure_axes(figsize: tuple[float, float]) -> Axes:
    """The axes of a new figure (Agg canvas, no pyplot) for `save_figure` with `bbox_inches="tight"`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig.subplots()


def root_figure(ax: Axes) -> Figure:
    """The figure that holds `ax` (the axes made here sit on a Figure, never on a SubFigure)."""
    return cast("Figure", ax.figure)


_NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+)(?:e[-+]?\d+)?|(?<![\w.])-?\d+e[-+]?\d+")


def sig3(value: float) -> str:
    """`value` to 3 significant digits: 0.0050000001 -> `0.005`, 123456.0 -> `1.23e+05`."""
    return f"{value:.3g}"


def round_numbers(label: str) -> str:
    """Every decimal number in `label` to 3 significant digits (`learning_rate=0.0123456` -> `learning_rate=0.0123`);
    integers (seeds, counts) as they are."""
    return _NUMBER.sub(lambda m: sig3(float(m[0])), label)


def run_subject(config: Mapping, *, learning_rate: bool = True, activation: bool = True) -> str:
    """What a run's figures show, from its config (`Config.to_dict()`, metrics.json's `config`): `logistic
    regression on catvnoncat, sgd, learning rate 0.005` (without what varies across the curves of a figure:
    the learning rate of a sweep, the activation of a study)."""
    # A config read back from another folder's metrics.json may lack groups: say what it holds.
    model, data, opt = (config.get(group) or {} for group in ("model", "data", "optim"))
    name = "logistic regression" if not model.get("hidden") else f"MLP {list(model['hidden'])}"
    if model.get("hidden") and activation:
        name += f" {model.get('activation', '')}".rstrip()
    if model.get("l2"):
        name += f" (L2 {sig3(model['l2'])})"
    subject = f"{name} on {data.get('name', 'catvnoncat')}, {opt.get('name', 'sgd')}"
    rate = opt.get("learning_rate")
    return f"{subject}, learning rate {sig3(rate)}" if learning_rate and rate is not None else subject


def legend_outside(ax: Axes, **kwargs):
    """A legend right of the axes (never over the curves), its entries' numbers to 3 significant digits."""
    handles, labels = ax.get_legend_handles_labels()
    labels = [round_numbers(label) for label in labels]
    return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def _save_canvas(path: str | os.PathLike, fig: Figure | SubFigure) -> None:
    """What `fig`'s canvas holds now (no new drawing), as PNG."""
    canvas = cast("FigureCanvasAgg", fig.canvas)  # every figure here gets an Agg canvas in `_axes`
    figures.save_png(path, Image.fromarray(np.asarray(canvas.buffer_rgba())))


class LearningCurves:
    """Costs against iterations, one line per label (the label None: the course's one curve, no legend).

    With `outside` (several runs: a sweep) the legend stands right of the axes, its numbers rounded
    (`legend_outside`); with `validation` each label has a dashed line of its validation cost too.
    """

    def __init__(
        self, title: str, labels: Sequence[str | None] = (None,), *, outside: bool = False, validation: bool = False
    ):
        ax = self.ax = _axes((9, 4) if outside else (6, 4), OUTSIDE_LEGEND_MARGINS if outside else LINE_PLOT_MARGINS)
        self.lines, self.val_lines = {}, {}
        for label in labels:  # each run's validation line right after its own (its legend entry too)
            line = self.lines[label] = ax.plot([], [], label="train" if validation and label is None else label)[0]
            if validation:
                val_label = "validation" if label is None else f"{label} (validation)"
                self.val_lines[label] = ax.plot([], [], ls="--", color=line.get_color(), label=val_label)[0]
        ax.set(xlabel="iterations", ylabel="cost")
        ax.set_title(title, y=1.0, fontsize=TITLE_SIZE)  # y given: matplotlib skips measuring the axis to lift it
        ax.grid(alpha=0.3)
        self.legend = None
        named = validation or any(label is not None for label in labels)
        if named and len(labels) * (1 + validation) <= MAX_LEGEND_ENTRIES:
            self.legend = legend_outside(ax, fontsize="small") if outside else ax.legend(loc="upper right", shadow=True)

    def prepare(self) -> LearningCurves:
        """Draw the empty figure once, making its ticks and texts: `save` then draws it faster."""
        self.ax.figure.canvas.draw()
        return self

    def save(
        self, path: str | os.PathLike, curves: Mapping[str | None, tuple], validation: Mapping | None = None
    ) -> None:
        """Write the figure with `curves` ({label: (iterations, costs)}, the labels given at construction) and,
        built with `validation`, their validation costs (same form; a label absent there has no dashed line)."""
        for lines, data in ((self.lines, curves), (self.val_lines, validation or {})):
            for label, (iterations, costs) in data.items():
                lines[label].set_data(np.asarray(iterations), np.asarray(costs, float))
        self.ax.relim()
        self.ax.autoscale_view()
        fig = root_figure(self.ax)
        fig.canvas.draw()
        if self.legend is not None and self.legend.get_window_extent().x1 > fig.bbox.width:  # long labels
            save_figure(path, fig, bbox_inches="tight")  # drawn again, the figure widened to hold the legend
        else:
            _save_canvas(path, fig)


def auc_label(name: str, auc: float) -> str:
    """A ROC legend entry: `test (AUC 0.712)`; `n/a` with one class only."""
    return f"{name} (AUC {auc:.3f})" if np.isfinite(auc) else f"{name} (AUC n/a)"


class RocCurves:
    """One ROC curve (false positive rate, true positive rate) per split, with the chance diagonal; each
    legend entry carries its curve's area (AUC)."""

    def __init__(self, names: Sequence[str], subject: str = "", title: str = "ROC curves"):
        ax = self.ax = _axes((5, 5))
        # Placeholders as wide as the areas to come (the font's digits share one width): the legend drawn
        # again with the areas covers the prepared one exactly.
        self.lines = {name: ax.plot([], [], label=auc_label(name, 0.0))[0] for name in names}
        ax.plot([0, 1], [0, 1], "k:", lw=1, label="chance (AUC 0.5)")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=ROC_LIMITS, ylim=ROC_LIMITS)
        ax.set_aspect("equal")
        ax.set_title(f"{title}\n{subject}" if subject else title, y=1.0, fontsize=TITLE_SIZE)
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
        """Write the figure with `curves` ({split: (fpr, tpr)}, the splits given at construction); once.

        Each legend entry gets the area under its curve (trapezoids, as `metrics.roc_auc`); an area that is
        not a number (one class only) changes the entry's width, so that figure is drawn whole again.
        """
        labels = {name: auc_label(name, roc_area(*curve)) for name, curve in curves.items()}
        for text, name in zip(self.legend.get_texts(), self.lines):
            text.set_text(labels.get(name, text.get_text()))
        if not self.drawn:
            self.prepare()
        for name, (fpr, tpr) in curves.items():
            self.lines[name].set_data(np.asarray(fpr), np.asarray(tpr))
            self.ax.draw_artist(self.lines[name])
        self.ax.draw_artist(self.legend)
        if any("n/a" in label for label in labels.values()):  # narrower than the prepared legend: all again
            self.ax.figure.canvas.draw()
        _save_canvas(path, self.ax.figure)


def roc_area(fpr, tpr) -> float:
    """The area under a ROC curve by trapezoids (`metrics.roc_auc` of the scores it came from); NaN when
    the curve is degenerate (one class: it never leaves an axis)."""
    fpr, tpr = np.asarray(fpr, float), np.asarray(tpr, float)
    if fpr.size < 2 or fpr[-1] == 0 or tpr[-1] == 0:
        return float("nan")
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def plot_learning_curves(
    path: str | os.PathLike,
    curves: Mapping[str | None, tuple],
    title: str,
    validation: Mapping[str | None, tuple] | None = None,
) -> LearningCurves:
    """Several runs' costs against iterations in one figure: `curves` maps a label to (iterations, costs),
    `validation` (optional) a label to its validation curve, drawn dashed; the legend right of the axes."""
    figure = LearningCurves(title, list(curves), outside=True, validation=bool(validation))
    figure.save(path, curves, validation)
    return figure


def plot_sweep_curves(path: str | os.PathLike, runs: Mapping[str | None, Mapping]) -> LearningCurves:
    """A sweep's learning curves from its runs' metrics.json ({label: metrics}): the training costs, the
    validation costs of runs that measured some (dashed), titled with the number of runs and what they
    share (`run_subject` of the first run's config, without the learning rate)."""
    curves: dict[str | None, tuple] = {}
    validation: dict[str | None, tuple] = {}
    for label, run in runs.items():  # a diverged run's costs hold nulls: NaN, a gap in its curve
        curves[label] = (run.get("cost_iterations", []), np.asarray(run.get("costs", []), float))
        if run.get("val_curve"):
            validation[label] = (run["val_curve"]["iteration"], np.asarray(run["val_curve"]["val_cost"], float))
    first = next(iter(runs.values()), {})
    subject = f"\n{run_subject(first['config'], learning_rate=False)}" if "config" in first else ""
    return plot_learning_curves(path, curves, f"Cost against iterations, {len(runs)} runs{subject}", validation)


def save_sweep_curves(path: str | os.PathLike, runs: Mapping[str | None, Mapping]) -> None:
    """`plot_sweep_curves`, for the drawing process (the figure stays there)."""
    plot_sweep_curves(path, runs)


def plot_roc_curves(
    path: str | os.PathLike,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    subject: str = "",
    title: str = "ROC curves",
) -> RocCurves:
    """One ROC curve per split (or per class, one-vs-rest), with the chance diagonal and each curve's AUC."""
    figure = RocCurves(list(curves), subject, title)
    figure.save(path, curves)
    return figure


def save_figure(path: str | os.PathLike, fig: Figure, **savefig_kwargs) -> None:
    """Render any `fig` as PNG in memory (zlib level 1), then write it atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **{"dpi": DPI, "pil_kwargs": {"compress_level": 1}, **savefig_kwargs})
    with artifacts.atomic_open(path, "wb") as f:
        f.write(buf.getvalue())


CONFUSION_CELL = 0.6  # inches per class in confusion_matrix.png (a 10-class figure is about 9 inches wide)


def plot_confusion_matrix(
    path: str | os.PathLike, cm_KK, class_names: Sequence[str], subject: str = "", split: str = "test"
) -> Figure:
    """confusion_matrix.png: the counts C_jk (true class j down, predicted class k across, scikit-learn's
    layout) as shades of blue with each count in its cell, the class names on both axes and a colour bar;
    titled with `split`, the number of examples and `subject` (`run_subject`). Returns the figure drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm_KK = np.asarray(cm_KK, np.int64)
    k = len(class_names)
    side = max(4.0, CONFUSION_CELL * k + 3.0)
    fig = Figure(figsize=(side, side), dpi=DPI, layout="constrained")  # room for long names, no second draw
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(cm_KK, cmap="Blues", vmin=0, vmax=max(int(cm_KK.max()), 1))
    dark = cm_KK > cm_KK.max() / 2  # a count on a dark cell is written in white
    for (j, c), count in np.ndenumerate(cm_KK):
        ax.text(c, j, str(count), ha="center", va="center", color="white" if dark[j, c] else "black")
    ax.set_xticks(range(k), labels=list(class_names), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=list(class_names))
    ax.set(xlabel="predicted class", ylabel="true class")
    title = f"Confusion matrix, {split} split ({int(cm_KK.sum())} examples)"
    ax.set_title(f"{title}\n{subject}" if subject else title, fontsize=TITLE_SIZE)
    fig.colorbar(image, ax=ax, shrink=0.8, label="examples")
    fig.canvas.draw()
    _save_canvas(path, fig)
    return fig
