"""`scripts/predict.py`: one line per image, the run's positive class and class names."""

from __future__ import annotations

import pytest

from lr_jax.serving.predict import predict_images
from tests.helpers import random_image


@pytest.mark.slow  # the finished 2000-iteration course run
def test_predict_cli_prints_one_line_per_image(course_run, tmp_path, run_cli):
    paths = [tmp_path / "a.png", tmp_path / "b.jpg"]
    random_image((90, 90), "RGBA").save(paths[0])
    random_image((50, 70), "L").save(paths[1])

    code, out, err = run_cli("predict", f"run={course_run}", f"images=[{paths[0]},{paths[1]}]")

    assert code == 0, err
    expected = [f"{p.path}: P(cat) = {p.proba:.4f} -> {p.class_name}" for p in predict_images(course_run, paths)]
    assert out.splitlines() == expected
