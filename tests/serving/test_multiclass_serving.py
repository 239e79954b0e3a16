"""Predict and export of a K-class run: the top classes with their probabilities, and ONNX / StableHLO files
returning the K probabilities that predict computes.

Tolerance 1e-6 (absolute, on probabilities), as tests/test_export.py's for two classes: both sides compute the
same float32 operations (uint8 -> float, /255 correctly rounded either way, K dot products of D = 768 terms,
+ b, softmax) and may differ only in the order of the sums (onnxruntime's kernels, XLA with a dynamic batch)
and in the last bits of exp and the division. A reordered float32 sum of D terms moves a logit by about
eps·sqrt(D)·max|wᵢxᵢ| (~1e-7 here), and the softmax's Jacobian (entries p_k(δ_kj - p_j), each of size at
most 1/4) does not enlarge it: 1e-6 holds on any CPU or GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lr_jax import Config, train_and_evaluate
from lr_jax.errors import ConfigError, DataError
from lr_jax.serving import predict
from lr_jax.serving.export import export_run
from tests.serving.test_export import run_exported, write_pngs

TOLERANCE = 1e-6  # see the module docstring
CLASSES = ["red", "green", "blue"]
SIZE = 16


def tinted(rng, count: int, channel: int) -> np.ndarray:
    """Random 20x20 images whose `channel` is bright: three tints a few steps tell apart."""
    pixels_NHWC = rng.integers(0, 128, (count, 20, 20, 3), np.uint8)
    pixels_NHWC[..., channel] += 128
    return pixels_NHWC


@pytest.fixture(scope="module")
def three_class_run(tmp_path_factory) -> Path:
    """A finished 30-iteration softmax run on a folder of red, green and blue images, at 16x16 (D = 768)."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for channel, name in enumerate(CLASSES):
        write_pngs(root / name, tinted(rng, 8, channel))
    workdir = tmp_path_factory.mktemp("run")
    config = {
        "data": {
            "name": "image_folder",
            "dir": str(root),
            "cache_dir": str(workdir / "cache"),
            "classes": CLASSES,
            "image_size": SIZE,
        },
        "optim": {"learning_rate": 0.1},
        "train": {"num_iterations": 30, "log_every": 10, "print_cost": False, "checkpoint_every": 0},
    }
    train_and_evaluate(Config.from_dict(config), workdir)
    return workdir


@pytest.mark.slow  # trains a run
def test_predict_names_the_top_classes_with_their_probabilities(three_class_run, tmp_path):
    paths = write_pngs(tmp_path, np.stack([tinted(np.random.default_rng(1), 1, c)[0] for c in range(3)]))
    predictions = predict.predict_images(three_class_run, paths)
    assert [p.class_name for p in predictions] == CLASSES  # the tints are learned
    for p in predictions:
        assert len(p.top) == 3 and p.top[0] == (p.class_name, p.proba)
        assert sum(q for _, q in p.top) == pytest.approx(1.0, abs=1e-6)  # float32 sum of 3 probabilities
        assert [q for _, q in p.top] == sorted((q for _, q in p.top), reverse=True)
        line = predict.describe(p)
        assert line.startswith(f"{p.path}: P({p.class_name}) = ") and line.endswith(f"-> {p.class_name}")
    top_1 = predict.predict_images(three_class_run, paths[:1], top_k=1)[0]
    assert top_1.top == predictions[0].top[:1]
    with pytest.raises(ConfigError, match="top_k=4: expected 1 to 3"):
        predict.predict_images(three_class_run, paths[:1], top_k=4)


@pytest.mark.slow  # trains a run, exports it and loads the file in a fresh process
@pytest.mark.parametrize("fmt", ["stablehlo", "onnx"])
def test_export_returns_the_k_probabilities_predict_computes(three_class_run, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("jax2onnx", reason="format=onnx needs the onnx extra: pip install -e '.[onnx]'")
        pytest.importorskip("onnxruntime", reason="format=onnx needs the onnx extra: pip install -e '.[onnx]'")
    rng = np.random.default_rng(2)
    images_NHWC = np.concatenate([tinted(rng, 2, c) for c in range(3)])[:, :SIZE, :SIZE]
    paths = write_pngs(tmp_path / "png", images_NHWC)
    predictions = predict.predict_images(three_class_run, paths, top_k=3)
    expected_NK = np.array([[dict(p.top)[c] for c in CLASSES] for p in predictions])
    model = export_run(three_class_run, fmt)
    proba_NK, _ = run_exported(model, images_NHWC, tmp_path, fmt)  # in a process without lr_jax
    assert proba_NK.shape == (6, 3)
    np.testing.assert_allclose(proba_NK, expected_NK, rtol=0, atol=TOLERANCE)
    sidecar = json.loads(Path(f"{model}.json").read_text())
    assert sidecar["classes"] == CLASSES and sidecar["output"]["shape"] == ["N", 3]
    assert sidecar["threshold"] is None and "softmax" in sidecar["preprocessing_inside"]


def test_a_run_without_images_is_refused():
    run = predict.TrainedRun(Config.from_dict({"data": {"name": "digits"}}), tuple("0123456789"), {}, None)
    with pytest.raises(DataError, match="data.name=digits, whose examples are not images"):
        predict.check_images_run(run, "outputs/run")
