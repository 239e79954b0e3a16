"""What the figures say: titles naming model, data and learning rate, legends off the data with rounded
numbers, ROC areas, the weights' colour bar. Checked on the decoded PNGs and, for positions, on the
figures as matplotlib laid them out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lr_jax import metrics
from lr_jax.config import Config
from lr_jax.pipelines import studies
from lr_jax.runfolder import inspection, plots, report

ITERATIONS = np.arange(0, 2000, 100)
COSTS = 0.69 * np.exp(-ITERATIONS / 700) + 0.1
DARK = 128  # text is drawn black, anti-aliased: a title's glyphs hold pixels far darker than this


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def has_text(band: np.ndarray) -> bool:
    return bool((band < DARK).any())


def boxes(figure_or_ax):
    """(the legend's box, the axes' box) in display pixels, as drawn last."""
    ax = getattr(figure_or_ax, "ax", figure_or_ax)
    renderer = ax.figure.canvas.get_renderer()
    return ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)


def assert_legend_off_the_axes(figure_or_ax) -> None:
    legend, axes = boxes(figure_or_ax)
    assert legend.x0 > axes.x1 or legend.y0 > axes.y1 or legend.x1 < axes.x0 or legend.y1 < axes.y0, (legend, axes)


@pytest.mark.parametrize(
    "label, rounded",
    [
        ("learning_rate=0.0123456, seed=3", "learning_rate=0.0123, seed=3"),
        ("model.l2=1.23456e-05, lr=0.1", "model.l2=1.23e-05, lr=0.1"),
        ("mlp[32], 1000 runs", "mlp[32], 1000 runs"),  # integers stay as they are
        ("lr=0.0050000000000000001", "lr=0.005"),
    ],
)
def test_legend_numbers_have_three_significant_digits(label, rounded):
    assert plots.round_numbers(label) == rounded


def test_run_subject_names_model_data_and_learning_rate():
    config = Config.from_dict(
        {"model": {"name": "mlp", "hidden": [32], "init": "he", "l2": 0.001}, "optim": {"learning_rate": 0.02}}
    )
    assert plots.run_subject(Config().to_dict()) == "logistic regression on catvnoncat, sgd, learning rate 0.005"
    assert plots.run_subject(config.to_dict()) == "MLP [32] relu (L2 0.001) on catvnoncat, sgd, learning rate 0.02"
    assert plots.run_subject(config.to_dict(), learning_rate=False, activation=False) == (
        "MLP [32] (L2 0.001) on catvnoncat, sgd"
    )


def test_learning_curve_title_is_drawn_above_the_axes(tmp_path):
    curves = {None: (ITERATIONS, COSTS)}
    plots.LearningCurves("").save(tmp_path / "bare.png", curves)
    plots.LearningCurves("Cost\nlogistic regression on catvnoncat").save(tmp_path / "titled.png", curves)
    bare, titled = pixels(tmp_path / "bare.png"), pixels(tmp_path / "titled.png")
    band = slice(0, int((1 - plots.LINE_PLOT_MARGINS["top"]) * bare.shape[0]))  # above the axes
    assert not has_text(bare[band]) and has_text(titled[band])
    np.testing.assert_array_equal(bare[band.stop :], titled[band.stop :])  # the title only


def test_sweep_curves_have_a_rounded_legend_off_the_axes_and_dashed_validation(tmp_path):
    labels = [f"learning_rate={lr}, seed=0" for lr in (0.00123456789, 0.0050000001, 0.0199999)]
    curves = {label: (ITERATIONS, COSTS * (k + 1)) for k, label in enumerate(labels)}
    validation = {label: (ITERATIONS[::5], COSTS[::5] * (k + 1.2)) for k, label in enumerate(labels)}
    figure = plots.plot_learning_curves(tmp_path / "curves.png", curves, "3 runs", validation)
    assert [t.get_text() for t in figure.ax.get_legend().get_texts()] == [
        "learning_rate=0.00123, seed=0",
        "learning_rate=0.00123, seed=0 (validation)",
        "learning_rate=0.005, seed=0",
        "learning_rate=0.005, seed=0 (validation)",
        "learning_rate=0.02, seed=0",
        "learning_rate=0.02, seed=0 (validation)",
    ]
    assert [line.get_linestyle() for line in figure.val_lines.values()] == ["--"] * 3
    assert_legend_off_the_axes(figure)
    legend, axes = boxes(figure)
    image = pixels(tmp_path / "curves.png")
    # The whole legend is in the PNG (widened for long labels): text right of the axes, up to the edge.
    assert image.shape[1] >= legend.x1 - plots.OUTSIDE_LEGEND_MARGINS["left"] * 900
    assert has_text(image[:, -int(legend.width) // 4 :])


def test_single_run_with_validation_has_its_legend_off_the_axes(drawing_here):
    figures = report.start_figures(Config(), ["train", "test", "val"])
    figure = figures.learning_curve.result()
    figure.ax.figure.canvas.draw()
    assert_legend_off_the_axes(figure)
    assert "learning rate 0.005" in figure.ax.get_title()
    assert "learning rate 0.005" in figures.roc.result().ax.get_title()


def test_roc_legend_carries_each_curve_area(tmp_path, rng):
    y = {"train": np.arange(40) % 2, "test": np.arange(30) % 2, "val": np.ones(10, int)}  # val: one class only
    scores = {name: labels + rng.normal(0, 1.0, labels.size) for name, labels in y.items()}
    curves = {name: metrics.roc_curve(y[name], scores[name]) for name in y}
    figure = plots.plot_roc_curves(tmp_path / "roc.png", curves, "logistic regression on catvnoncat")
    texts = [t.get_text() for t in figure.legend.get_texts()]
    assert texts == [
        f"train (AUC {metrics.roc_auc(y['train'], scores['train']):.3f})",
        f"test (AUC {metrics.roc_auc(y['test'], scores['test']):.3f})",
        "val (AUC n/a)",
        "chance (AUC 0.5)",
    ]
    image = pixels(tmp_path / "roc.png")
    _, axes = boxes(figure)
    assert has_text(image[: int(image.shape[0] - axes.y1)])  # the title above the axes


def test_weights_png_has_title_colour_bar_and_the_weights(tmp_path):
    w = np.linspace(-0.5, 0.25, 8 * 8 * 3)
    inspection.save_png(tmp_path / "w.png", inspection.weights_png(w[None], 8, "logistic regression on catvnoncat"))
    with Image.open(tmp_path / "w.png") as image:
        rgb, grey = np.asarray(image.convert("RGB")), np.asarray(image.convert("L"))
    left, top = inspection.weights_origin()
    side = 8 * inspection.WEIGHT_ZOOM
    zoomed = inspection.weights_image(w, 8).repeat(inspection.WEIGHT_ZOOM, 0).repeat(inspection.WEIGHT_ZOOM, 1)
    np.testing.assert_array_equal(rgb[top : top + side, left : left + side], zoomed)
    assert has_text(grey[:top]) and not has_text(grey[top + side + 2 :])  # a title; white below the image
    # The colour bar: a column right of the image that runs from white (+largest) down to black (-largest).
    bar = grey[top : top + side, left + side + inspection.MARGIN + inspection.BAR_WIDTH // 2].astype(int)
    assert bar[0] == 255 and bar[-1] == 0 and (np.diff(bar) <= 0).all()
    # Its scale, right of it: text at the top, the middle and the bottom.
    labels = grey[top : top + side, left + side + inspection.MARGIN + inspection.BAR_WIDTH + 2 :]
    assert all(has_text(labels[rows]) for rows in (slice(0, 12), slice(side // 2 - 6, side // 2 + 6)))


def test_mistakes_title_names_the_run_and_widens_to_fit_it():
    x_raw, y = np.zeros((4, 8, 8, 3), np.uint8), np.array([0, 1, 0, 1])
    proba = np.array([0.9, 0.9, 0.1, 0.9])  # one mistake: a one-cell grid
    subject = "MLP [32] relu (L2 0.001) on catvnoncat, sgd, learning rate 0.02"
    image = np.asarray(inspection.mistakes_image(x_raw, y, proba, 0.5, ("non-cat", "cat"), subject).convert("L"))
    assert image.shape[1] >= inspection.text_width(subject) and image.shape[1] > inspection.CELL
    assert has_text(image[: inspection.TITLE // 2]) and has_text(image[inspection.TITLE // 2 : inspection.TITLE])


def test_activation_study_figure_says_what_its_bands_are():
    curves = {name: np.linspace(0.7, 0.2, 50)[None] * np.array([[1.0], [1.1], [0.9]]) for name in ("relu", "tanh")}
    fig = studies.activation_figure(curves, 0.5, "MLP [8] on synthetic, sgd, learning rate 0.1")
    ax = fig.axes[0]
    fig.canvas.draw()
    assert "bands: min to max over the seeds" in ax.get_title() and "learning rate 0.1" in ax.get_title()
    assert "relu: mean of 3 seeds" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert_legend_off_the_axes(ax)


def test_scale_study_figure_says_what_its_error_bars_are():
    rows = [
        {"model": m, "train_size": s, "seeds": 2, "test_accuracy_mean": 0.7, "test_accuracy_std": 0.01}
        for m in ("logistic", "small mlp[4]")
        for s in (100, 1000)
    ]
    fig = studies.scale_figure(rows, "synthetic, sgd, learning rate 0.1")
    fig.canvas.draw()
    assert "error bars: ± one standard deviation over the seeds" in fig.axes[0].get_title()
    assert_legend_off_the_axes(fig.axes[0])


def test_sweep_figure_from_metrics_shows_validation_when_runs_have_it(tmp_path):
    config = Config().to_dict()
    runs = {
        f"learning_rate={lr}": {
            "cost_iterations": ITERATIONS.tolist(),
            "costs": (COSTS * k).tolist(),
            "val_curve": {"iteration": [0, 1000], "val_cost": [0.7, 0.5 * k]},
            "config": config,
        }
        for k, lr in enumerate((0.001, 0.01), start=1)
    }
    figure = plots.plot_sweep_curves(tmp_path / "curves.png", runs)
    assert figure.ax.get_title() == "Cost against iterations, 2 runs\nlogistic regression on catvnoncat, sgd"
    assert [line.get_ydata()[-1] for line in figure.val_lines.values()] == [0.5, 1.0]
    assert_legend_off_the_axes(figure)
    without = {label: {k: v for k, v in run.items() if k != "val_curve"} for label, run in runs.items()}
    assert plots.plot_sweep_curves(tmp_path / "plain.png", without).val_lines == {}
