"""The figures of a K-class run: confusion_matrix.png, the one-vs-rest ROC, mistakes.png with class names and
weights.png with one image per class; checked on the decoded PNGs and on the figures' own data.

Pixels are compared exactly: they come from integer and float64 NumPy arithmetic and Pillow on the host,
the same on any CPU (no accelerator is involved); the matplotlib figure is checked on its data and on the
order of its shades, not on anti-aliased pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lr_jax import metrics
from lr_jax.config import Config
from lr_jax.data import Split
from lr_jax.errors import DataError
from lr_jax.evaluate import Evaluation
from lr_jax.runfolder import inspection, plots, report

CLASSES = ("cat", "dog", "bird")
RUN_FIGURES = {"confusion_matrix.png", "roc_curve.png", "mistakes.png", "weights.png"}


def rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def three_classes(rng, n: int = 30, shape=(8, 8)):
    """A random 3-class problem on images of `shape`: labels, class probabilities, uint8 images, W (3, D)."""
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    x_raw = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    return y, proba, x_raw, rng.normal(size=(3, int(np.prod(shape))))


def test_confusion_matrix_figure_shows_counts_names_and_shades(tmp_path):
    cm = np.array([[9, 1, 0], [2, 6, 3], [4, 0, 7]])
    fig = plots.plot_confusion_matrix(tmp_path / "cm.png", cm, CLASSES, "logistic regression on digits", "val")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    assert [t.get_text() for t in ax.texts] == [str(c) for c in cm.ravel()]  # row by row: true class j
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert "val split (32 examples)" in ax.get_title() and "on digits" in ax.get_title()
    image = rgb(tmp_path / "cm.png")
    assert image.shape[:2] == (fig.bbox.height, fig.bbox.width)  # the canvas as laid out, not cropped
    # Each cell's shade, read near its corner (off the count): more examples, darker blue.
    corners = ax.transData.transform([(c - 0.4, j - 0.4) for j in range(3) for c in range(3)])
    shade = np.array([image[int(image.shape[0] - y), int(x)].astype(int).sum() for x, y in corners])
    order = np.argsort(cm.ravel(), kind="stable")
    assert (np.diff(shade[order]) <= 0).all() and shade[order[0]] > shade[order[-1]] + 300


def label_band(text: str) -> np.ndarray:
    """What `mistakes_image` draws above an image: `text` centred in a CELL-wide white band."""
    band = Image.new("RGB", (inspection.CELL, inspection.LABEL), "white")
    ImageDraw.Draw(band).multiline_text((inspection.CELL // 2, 2), text, fill="black", anchor="ma", align="center")
    return np.asarray(band)


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 1), (8, 8, 3)])
def test_mistakes_name_the_true_and_predicted_classes(tmp_path, shape):
    x_raw = np.stack([np.full(shape, 40 * i, np.uint8) for i in range(5)])  # image i: all pixels 40·i
    y = np.array([0, 1, 2, 2, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    inspection.save_png(tmp_path / "m.png", inspection.mistakes_image(x_raw, y, proba, 0.5, CLASSES))
    image = rgb(tmp_path / "m.png")
    assert image.shape == (inspection.TITLE + inspection.CELL, 2 * inspection.CELL, 3)  # wrong: 1 and 2
    side = 8 * inspection.IMAGE_ZOOM
    for k, (i, label) in enumerate([(1, "#1 true: dog\npred: bird, p=0.60"), (2, "#2 true: bird\npred: dog, p=0.50")]):
        left, top = k * inspection.CELL, inspection.TITLE
        np.testing.assert_array_equal(
            image[top : top + inspection.LABEL, left : left + inspection.CELL], label_band(label)
        )
        tile_left = left + (inspection.CELL - side) // 2
        np.testing.assert_array_equal(image[top + inspection.LABEL :][:side, tile_left : tile_left + side], 40 * i)


@pytest.mark.parametrize("shape", [(8, 8), (8, 8, 3)])
def test_class_weights_show_each_class_on_one_scale(tmp_path, shape):
    w_KD = np.random.default_rng(0).normal(size=(3, int(np.prod(shape))))
    w_KD[1] *= 0.1  # a class with small weights stays near grey on the shared scale
    inspection.save_png(tmp_path / "w.png", inspection.class_weights_png(w_KD, shape, CLASSES, "softmax on digits"))
    image = rgb(tmp_path / "w.png")
    tiles = inspection.class_tiles(CLASSES, shape)
    side = 8 * tiles.zoom
    largest = np.abs(w_KD).max()
    for w_D, (left, top) in zip(w_KD, tiles.origins):
        want = inspection.class_image(w_D, shape, largest).repeat(tiles.zoom, 0).repeat(tiles.zoom, 1)
        np.testing.assert_array_equal(image[top : top + side, left : left + side], want)
        assert (image[top - inspection.CLASS_LABEL : top, left : left + side] < 128).any()  # its class name
    pixel = image[tiles.origins[1][1], tiles.origins[1][0]].astype(int)  # class 1's pixel (0, 0)
    value = w_KD[1].reshape(8, 8, -1)[0, 0]  # on the shared scale: near grey, not stretched to its own max
    np.testing.assert_array_equal(pixel, np.broadcast_to(np.round(255 * (0.5 + value / (2 * largest))), 3))
    holder = np.unravel_index(np.abs(w_KD).argmax(), w_KD.shape)[0]
    left, top = tiles.origins[holder]
    assert {0, 255} & set(np.unique(image[top : top + side, left : left + side]))  # the largest |W|: black or white
    small = image[tiles.origins[1][1] :][:side, tiles.origins[1][0] :][:, :side]
    assert small.min() > 64 and small.max() < 192
    bar = image[inspection.TITLE : inspection.TITLE + tiles.height, tiles.width + inspection.MARGIN + 2, 0].astype(int)
    assert bar[0] == 255 and bar[-1] == 0 and (np.diff(bar) <= 0).all()
    assert (image[: inspection.TITLE] < 128).any()  # the title


def test_class_weights_refuse_images_of_other_channels():
    with pytest.raises(DataError, match="convert the images to grey or RGB"):
        inspection.class_image(np.zeros(8 * 8 * 4), (8, 8, 4), 1.0)


def test_write_class_outputs_writes_every_k_class_figure(tmp_path, rng):
    y, proba, x_raw, w_KD = three_classes(rng)
    scores = report.write_class_outputs(tmp_path, y, proba, CLASSES, w_KD, x_raw=x_raw, subject="softmax")
    assert {p.name for p in tmp_path.iterdir()} == RUN_FIGURES
    assert scores == metrics.multiclass_metrics(y, proba, CLASSES)
    tiles = inspection.class_tiles(CLASSES, (8, 8))
    (left, top), side = tiles.origins[2], 8 * tiles.zoom
    want = inspection.class_image(w_KD[2], (8, 8), np.abs(w_KD).max()).repeat(tiles.zoom, 0).repeat(tiles.zoom, 1)
    np.testing.assert_array_equal(rgb(tmp_path / "weights.png")[top : top + side, left : left + side], want)
    n_wrong = int((np.argmax(proba, axis=1) != y).sum())
    rows = -(-n_wrong // inspection.MISTAKE_COLUMNS)
    mistakes = rgb(tmp_path / "mistakes.png")
    assert mistakes.shape[0] == inspection.TITLE + rows * inspection.CELL
    zoom = inspection.fitting_zoom((8, 8))  # an 8x8 image fills its cell: 18 pixels a pixel
    assert zoom == 18
    i, side = np.flatnonzero(np.argmax(proba, axis=1) != y)[0], 8 * zoom
    tile_left, top = (inspection.CELL - side) // 2, inspection.TITLE + inspection.LABEL
    tile = mistakes[top : top + side, tile_left : tile_left + side, 0]
    np.testing.assert_array_equal(tile, x_raw[i].repeat(zoom, 0).repeat(zoom, 1))


def test_write_class_outputs_without_images_draws_the_matrix_and_roc_only(tmp_path, rng):
    y, proba, _, _ = three_classes(rng)
    report.write_class_outputs(tmp_path, y, proba, CLASSES, None, x_raw=rng.normal(size=(30, 5)))
    assert {p.name for p in tmp_path.iterdir()} == {"confusion_matrix.png", "roc_curve.png"}


def test_mlp_weights_are_labelled_by_unit(tmp_path, rng):
    y, proba, x_raw, _ = three_classes(rng)
    units = rng.normal(size=(4, 64))
    inspection.save_class_inspection(tmp_path, x_raw, y, proba, units, classes=CLASSES, rows_are_classes=False)
    tiles = inspection.class_tiles([f"unit {j}" for j in range(4)], (8, 8))
    (left, top), side = tiles.origins[3], 8 * tiles.zoom
    want = inspection.class_image(units[3], (8, 8), np.abs(units).max()).repeat(tiles.zoom, 0).repeat(tiles.zoom, 1)
    np.testing.assert_array_equal(rgb(tmp_path / "weights.png")[top : top + side, left : left + side], want)
    with pytest.raises(DataError, match="one row of 64 weights"):
        inspection.save_class_inspection(tmp_path, x_raw, y, proba, units[:, :60], classes=CLASSES)


class ClassWeights:
    """A stand-in for a K-class linear model: its `unit_weights` are W transposed, one row per class."""

    def unit_weights(self, params):
        return params["W"].T


def test_write_outputs_of_a_k_class_run_draws_the_k_class_figures(tmp_path, rng):
    y, proba, x_raw, w_KD = three_classes(rng)
    evaluation = Evaluation(
        {s: metrics.multiclass_metrics(y, proba, CLASSES) for s in ("train", "test")},
        {"train": proba, "test": proba},
        {"train": y, "test": y},
        0.5,
        0.0,
    )
    config = Config()
    figures = report.start_figures(config, ["train", "test"], prepare=False)
    iterations, costs = np.arange(0, 50, 10), np.linspace(1.1, 0.4, 5)
    test = Split(x_raw, y, CLASSES)
    params = {"W": w_KD.T, "b": np.zeros(3)}
    report.write_outputs(tmp_path, config, ClassWeights(), params, iterations, costs, test, evaluation, figures=figures)
    assert {p.name for p in tmp_path.iterdir()} == {*RUN_FIGURES, "learning_curve.png", "params.npz", "costs.csv"}
    assert set(report.FIGURES) >= RUN_FIGURES


def test_report_run_of_k_classes_writes_metrics_per_class_and_prints_the_table(tmp_path, rng, caplog):
    y, proba, x_raw, w_KD = three_classes(rng)
    scores = {s: {"cost": 0.7, **metrics.multiclass_metrics(y, proba, CLASSES)} for s in ("train", "test")}
    evaluation = Evaluation(scores, {"train": proba, "test": proba}, {"train": y, "test": y}, 0.7, 0.01)
    config = Config.from_dict({"train": {"num_iterations": 20, "log_every": 10}})
    with caplog.at_level("INFO", logger="lr_jax.runfolder.report"):
        result = report.report_run(
            tmp_path / "run",
            config,
            ClassWeights(),
            {"W": w_KD.T, "b": np.zeros(3)},
            np.linspace(1.1, 0.7, 20),
            Split(x_raw, y, CLASSES),
            evaluation,
            {"n_iter": 20, "converged": False},
            started=0.0,
            figures=report.start_figures(config, ["train", "test"], prepare=False),
        )
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["test_per_class"]["bird"] == scores["test"]["per_class"]["bird"]
    assert written["test_f1"] == scores["test"]["f1"] and written["test_f1_micro"] == scores["test"]["accuracy"]
    assert np.array(written["test_confusion_matrix"]).shape == (3, 3)
    assert result["optimized_metric"]["value"] == scores["test"]["accuracy"]  # val_accuracy falls back to test
    assert metrics.format_table(scores) in caplog.text
    assert {p.name for p in (tmp_path / "run").iterdir()} >= RUN_FIGURES


def test_many_classes_have_no_roc_figure(tmp_path, rng):
    k = plots.MAX_LEGEND_ENTRIES  # a legend of every class and the chance line would not fit
    y = np.arange(2 * k) % k
    report.write_class_outputs(tmp_path, y, np.eye(k)[y], [f"c{j}" for j in range(k)], None)
    assert {p.name for p in tmp_path.iterdir()} == {"confusion_matrix.png"}
