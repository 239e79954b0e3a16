"""Classify your own images with a trained run: its `params.npz`, its `config.json`, the training preprocessing.

The run's own class names (`config.json`'s `classes`, label 0 then label 1) and threshold name each
prediction; the probability is that of the positive class, label 1. A run of K > 2 classes (a softmax
model) predicts the most probable class, and each prediction holds the `top_k` most probable classes with
their probabilities (`describe` prints them).

An image of any size and mode is decoded by `data.images.load_image` (upright, RGB, bicubic resize to the
run's `data.image_size`), the decoder image folders use too, then flattened and scaled by
`data.flatten_and_scale` exactly as the training set was.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import artifacts, data, models, runtime
from lr_jax.config import Config
from lr_jax.data.images import load_image
from lr_jax.errors import ConfigError, DataError
from lr_jax.models import logistic as model_lib
from lr_jax.models.interface import Model
from lr_jax.runfolder import report
from lr_jax.runfolder import transaction as rundir


class Prediction(NamedTuple):
    path: str
    proba: float  # P(class 1): the probability of the run's positive class, `classes[1]` (K classes: of `label`)
    label: int  # 1 where proba > the run's model.threshold, else 0 (K classes: the most probable class)
    class_name: str  # the run's name of that label
    positive_class: str  # the run's name of label 1, whose probability `proba` is (K classes: `class_name`)
    threshold: float  # the run's model.threshold (K classes: not used, NaN)
    top: tuple[tuple[str, float], ...] = ()  # K classes: (class name, P(class)) of the top_k, most probable first


def describe(p: Prediction) -> str:
    """The line predict prints: `a.jpg: P(cat) = 0.8123 -> cat`; for K classes
    `a.jpg: P(bird) = 0.8123, P(cat) = 0.1500, P(dog) = 0.0377 -> bird`."""
    if p.top:
        return f"{p.path}: {', '.join(f'P({name}) = {q:.4f}' for name, q in p.top)} -> {p.class_name}"
    return f"{p.path}: P({p.positive_class}) = {p.proba:.4f} -> {p.class_name}"


class TrainedRun(NamedTuple):
    """What a finished run folder holds for prediction: its config, class names and parameters."""

    config: Config
    classes: tuple[str, ...]  # label 0, label 1, ... (K names for a K-class run)
    params: Any
    model: Model


def load_run(run_dir: str | os.PathLike) -> TrainedRun:
    """The config, class names and parameters of a finished run, checked against each other."""
    run_dir = Path(run_dir)
    # Read-only: a commit a killed run left journaled is read as completed (its staged files), never written.
    params_path = rundir.committed_path(run_dir, "params.npz")
    if not params_path.is_file():
        raise DataError(
            f"{run_dir}: no params.npz, so no trained model to predict with. Pass the folder of "
            "a finished run (outputs/<date>/<time>), or finish this one with train.resume=true."
        )
    config, classes, n_features = _read_config(run_dir)
    params = read_params(params_path)
    model = models.build(config.model)
    expected = jax.eval_shape(lambda: model.init(jax.random.key(0), n_features, jnp.float32))
    _check_params(params_path, params, expected, config)
    _check_recorded_hash(params_path, rundir.committed_path(run_dir, report.METRICS_FILE))
    return TrainedRun(config, classes, params, model)


def read_params(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a run's params.npz: readable and finite."""
    try:
        params = artifacts.load_params(path)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(
            f"{path}: cannot be read ({type(e).__name__}: {e}). Train the run again (train.overwrite=true replaces it)."
        ) from e
    bad = sorted(k for k, v in params.items() if v.dtype.kind in "fc" and not np.isfinite(v).all())
    if bad:
        raise DataError(
            f"{path}: {bad} hold NaN or infinite values; the run diverged or the file was damaged. "
            "Train the run again with a lower optim.learning_rate (train.overwrite=true replaces it)."
        )
    return params


def _check_recorded_hash(path: Path, metrics_path: Path) -> None:
    """params.npz must be the file its run's metrics.json records (a commit cut short, or a copy)."""
    recorded = _recorded_hash(metrics_path)
    if recorded is not None and recorded != rundir.sha256(path):
        raise DataError(
            f"{path}: not the file its run's metrics.json describes (sha256 differs): it was damaged or "
            "belongs to another run. Train the run again (train.overwrite=true), or copy back the matching "
            "params.npz."
        )


def _recorded_hash(metrics_path: Path) -> str | None:
    """params.npz's sha256 as metrics.json records it (None: no metrics.json, or one of an older version)."""
    try:
        return json.loads(metrics_path.read_text())["files_sha256"]["params.npz"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no metrics.json, an unreadable one, or one of an older version: nothing to compare with


def _check_params(path: Path, params: dict, expected: dict, config: Config) -> None:
    """The stored arrays must have the names and shapes of the run's model's parameters."""
    shapes = {k: list(v.shape) for k, v in params.items()}
    wanted = {k: list(v.shape) for k, v in expected.items()}
    if shapes != wanted:
        size = config.data.image_size
        raise DataError(
            f"{path}: parameters of shape {shapes} do not fit the run's model on {size}x{size} RGB "
            f"images, which needs {wanted}. The file belongs to another run: copy the matching "
            "params.npz back."
        )


def _read_config(run_dir: Path) -> tuple[Config, tuple[str, ...], int]:
    """The run's config, class names and number of inputs, from its config.json."""
    path = rundir.committed_path(run_dir, report.CONFIG_FILE)
    try:
        with open(path) as f:
            record = json.load(f)
        _check_record(record)
        config = Config.from_dict(record["config"])
        classes, n_features = tuple(record["classes"]), int(record["n_features"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(
            f"{path}: cannot read the run's config from it ({type(e).__name__}: {e}), so the image "
            "size, scaling and classes of the run are unknown. Pass a folder that scripts/train.py "
            "wrote."
        ) from e
    return config, classes, n_features


# What prediction reads from a run's config: a config.json without one of them would silently be read with
# the defaults (another image size, scaling, model or threshold than the run's).
_NEEDED_KEYS = ("data.image_size", "data.scale", "model.name", "model.threshold", "train.precision")


def _check_record(record) -> None:
    """A config.json as report.write_config writes it: the keys prediction needs, two or more distinct class
    names."""
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise ValueError("expected an object with a 'config' object")
    missing = [k for k in _NEEDED_KEYS if k.split(".")[1] not in (record["config"].get(k.split(".")[0]) or {})]
    if missing:
        raise ValueError(f"the config lacks {missing}")
    classes = record.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or len(set(map(str, classes))) != len(classes):
        raise ValueError(f"'classes' is {classes!r}, not two distinct class names or more (label 0, label 1, ...)")


def check_images_run(run: TrainedRun, run_dir) -> None:
    """Refuse a run trained on features that are not pixels (data=digits: ink counts / 16), which no image
    file can give."""
    if run.config.data.name not in FEATURE_SOURCES:
        return
    raise DataError(
        f"{run_dir}: the run was trained on data.name={run.config.data.name}, whose examples are not images, "
        "so no image file can be classified with it. Predict with a run trained on images (data=image_folder)."
    )


FEATURE_SOURCES = frozenset({"digits"})  # the data sources whose features are no image's pixels


def predict_images(
    run_dir: str | os.PathLike, paths: Sequence[str | os.PathLike], top_k: int | None = None
) -> list[Prediction]:
    """P(class 1) and the class of each image, with the run's parameters, preprocessing, classes and threshold;
    for a K-class run the most probable class and the `top_k` (None: min(K, 3)) most probable classes."""
    if not paths:
        raise ConfigError("images=[]: no image to classify. Pass images=[a.jpg,b.png].")
    run = load_run(run_dir)
    check_images_run(run, run_dir)
    config = run.config
    x_raw_MHWC = np.stack([load_image(p, config.data.image_size) for p in paths])
    with runtime.precision_scope(config.train.precision):
        dtype = runtime.run_dtype(config.train.precision)
        x_MD = jnp.asarray(data.flatten_and_scale(x_raw_MHWC, dtype, config.data.scale))
        params = jax.tree.map(lambda v: jnp.asarray(v, dtype), run.params)
        proba_M = np.asarray(jax.jit(model_lib.predict_proba, static_argnames="model")(params, x_MD, model=run.model))
    if proba_M.ndim == 2:
        return class_predictions(paths, proba_M, run.classes, top_k)
    labels = (proba_M > config.model.threshold).astype(int)
    return [
        Prediction(str(p), float(q), int(k), run.classes[k], run.classes[1], config.model.threshold)
        for p, q, k in zip(paths, proba_M, labels)
    ]


def class_predictions(paths, proba_MK: np.ndarray, classes: Sequence[str], top_k: int | None) -> list[Prediction]:
    """Predictions of a K-class run: the most probable class (the first on a tie), and the `top_k` classes."""
    k = len(classes)
    top_k = min(k, 3) if top_k is None else top_k
    if not 1 <= top_k <= k:
        raise ConfigError(f"top_k={top_k}: expected 1 to {k}, the run's number of classes (null = {min(k, 3)}).")
    predictions = []
    for path, p_K in zip(paths, proba_MK):
        order = np.argsort(-p_K, kind="stable")[:top_k]  # the lower label first on a tie, as argmax
        top = tuple((classes[c], float(p_K[c])) for c in order)
        label = int(order[0])
        predictions.append(
            Prediction(str(path), float(p_K[label]), label, classes[label], classes[label], math.nan, top)
        )
    return predictions
