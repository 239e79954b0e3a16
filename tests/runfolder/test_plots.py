"""The line plots: a figure prepared before its data (as a run does while it trains) is the figure drawn
in one go, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax.runfolder import plots

ITERATIONS = np.arange(0, 2000, 100)
COSTS = 0.69 * np.exp(-ITERATIONS / 700) + 0.1
ROCS = {
    "train": (np.array([0.0, 0.0, 0.1, 1.0]), np.array([0.0, 0.9, 1.0, 1.0])),
    "test": (np.array([0.0, 0.2, 0.5, 1.0]), np.array([0.0, 0.6, 0.8, 1.0])),
}


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.mark.parametrize(
    "curves",
    [
        {None: (ITERATIONS, COSTS)},  # the course's figure
        {"train": (ITERATIONS, COSTS), "validation": (ITERATIONS[::2], COSTS[::2] + 0.05)},  # with a legend
    ],
    ids=["course", "validation"],
)
def test_prepared_learning_curve_is_the_one_drawn_at_once(tmp_path, curves):
    plots.LearningCurves("Learning rate = 0.005", list(curves)).save(tmp_path / "once.png", curves)
    prepared = plots.LearningCurves("Learning rate = 0.005", list(curves)).prepare()
    prepared.save(tmp_path / "prepared.png", curves)
    np.testing.assert_array_equal(pixels(tmp_path / "prepared.png"), pixels(tmp_path / "once.png"))
    assert pixels(tmp_path / "once.png").shape == (400, 600, 4)  # 6 x 4 inches at 100 dpi


def test_prepared_roc_is_the_one_drawn_at_once_and_shows_its_curves(tmp_path):
    plots.plot_roc_curves(tmp_path / "once.png", ROCS)
    prepared = plots.RocCurves(list(ROCS)).prepare()
    empty = np.array(np.asarray(prepared.ax.figure.canvas.buffer_rgba()))  # the frame alone
    prepared.save(tmp_path / "prepared.png", ROCS)
    once = pixels(tmp_path / "once.png")
    np.testing.assert_array_equal(pixels(tmp_path / "prepared.png"), once)
    assert once.shape == (500, 500, 4)
    # The curves are drawn: at the train curve's point (0, 0.5) the pixels differ from the empty frame.
    col, row = prepared.ax.transData.transform((0.0, 0.5))
    row = once.shape[0] - row  # display coordinates count from the bottom
    assert (
        once[int(row) - 2 : int(row) + 3, int(col) - 2 : int(col) + 3]
        != empty[int(row) - 2 : int(row) + 3, int(col) - 2 : int(col) + 3]
    ).any()


def test_roc_legend_stays_over_a_curve_that_crosses_it(tmp_path):
    # A model worse than chance runs along the bottom and right edges, through the legend (lower right):
    # the legend is drawn again over the curves and is opaque, so inside it nothing of the curve shows.
    worse = {"train": (np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))}
    figure = plots.RocCurves(list(worse)).prepare()
    frame = np.array(np.asarray(figure.ax.figure.canvas.buffer_rgba()))
    figure.save(tmp_path / "roc.png", worse)
    box = figure.legend.get_window_extent()
    height = frame.shape[0]
    rows = slice(int(height - box.y1) + 2, int(height - box.y0) - 2)  # inside its frame's edge
    cols = slice(int(box.x0) + 2, int(box.x1) - 2)
    np.testing.assert_array_equal(pixels(tmp_path / "roc.png")[rows, cols], frame[rows, cols])
    # ... while the curve is drawn outside it, on the right edge above the legend.
    col, row = figure.ax.transData.transform((1.0, 0.6))
    row = height - row
    assert (
        pixels(tmp_path / "roc.png")[int(row), int(col) - 2 : int(col) + 3]
        != frame[int(row), int(col) - 2 : int(col) + 3]
    ).any()


def test_line_plots_do_not_touch_pyplot(tmp_path):
    # Figures with their own Agg canvas: a notebook's pyplot state (backend, open figures) is left alone.
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.plot_learning_curves(tmp_path / "c.png", {None: (ITERATIONS, COSTS)}, "t")
    plots.plot_roc_curves(tmp_path / "r.png", ROCS)
    assert plt.get_fignums() == before
