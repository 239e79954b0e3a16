"""Predict with the finished course run: images of any size, mode and format get the probabilities the
model gives the same pixels in memory; the course's own test images get exactly the training pipeline's."""

from __future__ import annotations

import io

import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from lr_jax import artifacts
from lr_jax.models import logistic as model
from lr_jax.serving.predict import predict_images
from tests.helpers import random_image


def reference_proba(params, image: Image.Image) -> float:
    """The course's recipe on an in-memory image: RGB, resize to 64x64, /255, sigmoid(w.x + b), in float64."""
    x = np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.BICUBIC), np.float64).ravel() / 255
    return float(1 / (1 + np.exp(-(x @ params["w"].astype(np.float64) + params["b"]))))


@pytest.mark.slow  # the finished 2000-iteration course run
@pytest.mark.parametrize(
    "size, mode, fmt",
    [
        ((64, 64), "RGB", "PNG"),
        ((100, 80), "RGBA", "PNG"),
        ((30, 50), "L", "JPEG"),
        ((640, 480), "RGB", "JPEG"),
        ((64, 64), "P", "PNG"),
        ((17, 200), "LA", "PNG"),
    ],
)
def test_predict_agrees_with_the_same_image_in_memory(course_run, tmp_path, size, mode, fmt):
    image = random_image(size, mode)
    buf = io.BytesIO()
    image.save(buf, fmt)
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(buf.getvalue())
    in_memory = Image.open(io.BytesIO(buf.getvalue()))  # the decoded pixels (JPEG is lossy)

    (prediction,) = predict_images(course_run, [path])

    params = artifacts.load_params(course_run / "params.npz")
    assert prediction.proba == pytest.approx(reference_proba(params, in_memory), abs=1e-6)
    assert prediction.label == int(prediction.proba > 0.5)
    assert prediction.class_name == ("non-cat", "cat")[prediction.label]


@pytest.mark.slow  # the finished 2000-iteration course run
def test_course_test_images_get_the_training_pipelines_probabilities(course_run, course_data, tmp_path):
    """Saved as PNG (lossless), test images come back with the probabilities of the run's evaluation."""
    test = course_data["test"]
    picks = [0, 5, 6, 13, 29]  # 5, 6, 13 and 29 are among the run's 15 mistakes
    paths = []
    for i in picks:
        Image.fromarray(test.x_raw[i]).save(tmp_path / f"test_{i}.png")
        paths.append(tmp_path / f"test_{i}.png")
    params = {k: jnp.asarray(v) for k, v in artifacts.load_params(course_run / "params.npz").items()}
    expected = np.asarray(model.predict_proba(params, jnp.asarray(test.features()[picks])))

    predictions = predict_images(course_run, paths)

    np.testing.assert_array_equal([p.proba for p in predictions], expected.astype(np.float64))
    assert [p.label == y for p, y in zip(predictions, test.y[picks])] == [True, False, False, False, False]
