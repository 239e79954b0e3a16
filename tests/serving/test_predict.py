"""Predict with a run of your own images: the run's class names, positive class, threshold, image size and
scaling, read from its config.json (the course's run: test_predict_course.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lr_jax import artifacts
from lr_jax.config import Config
from lr_jax.data.images import load_image
from lr_jax.pipelines import experiment
from lr_jax.serving.predict import predict_images
from tests.helpers import random_image

SIZE = 24  # data.image_size: not the course's 64


@pytest.fixture(scope="module")
def ferret_run(tmp_path_factory):
    """A 5-iteration run on a generated folder: data.classes=[other,ferret], 24x24, raw 0-255 values."""
    root = tmp_path_factory.mktemp("ferrets")
    for label, name in enumerate(["other", "ferret"]):
        (root / name).mkdir()
        for i in range(4):
            random_image((30 + 7 * i + label, 20 + 5 * i), "RGB").save(root / name / f"{i}.png")
    config = Config.from_dict(
        {
            "data": {
                "name": "image_folder",
                "dir": str(root),
                "cache_dir": str(root.parent / "cache"),
                "classes": ["other", "ferret"],
                "image_size": SIZE,
                "scale": False,
                "test_fraction": 0.25,
            },
            "model": {"threshold": 0.3},
            "optim": {"learning_rate": 1e-5},
            "train": {"num_iterations": 5, "print_cost": False, "progress": False, "checkpoint_every": 0},
        }
    )
    workdir = tmp_path_factory.mktemp("run")
    experiment.train_and_evaluate(config, workdir)
    return workdir


def test_predictions_carry_the_runs_classes_and_its_models_probabilities(ferret_run, tmp_path):
    paths = []
    for i, (size, mode) in enumerate([((40, 40), "RGB"), ((64, 48), "RGBA"), ((17, 33), "L")]):
        paths.append(tmp_path / f"{i}.png")
        random_image(size, mode).save(paths[-1])
    params = artifacts.load_params(ferret_run / "params.npz")
    assert params["w"].shape == (SIZE * SIZE * 3,)

    predictions = predict_images(ferret_run, paths)

    for p, path in zip(predictions, paths):
        x_D = load_image(path, SIZE).astype(np.float64).ravel()  # data.scale=false: raw 0-255, no /255
        terms_D = x_D * params["w"].astype(np.float64)
        logit = terms_D.sum() + float(params["b"])
        # float32 dot product of D terms: |error| <= D·u·Σ|xᵢwᵢ| (u = 2⁻²⁴), and σ' <= 1/4.
        tol = 0.25 * len(x_D) * 2.0**-24 * (np.abs(terms_D).sum() + abs(float(params["b"]))) + 1e-7
        assert p.proba == pytest.approx(1 / (1 + np.exp(-logit)), abs=tol), path
        assert (p.positive_class, p.threshold) == ("ferret", 0.3)
        assert p.label == int(p.proba > 0.3) and p.class_name == ("other", "ferret")[p.label]
    assert len({round(p.proba, 6) for p in predictions}) == 3  # three images, three probabilities
