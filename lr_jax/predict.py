"""Classify your own images with a trained run: its `params.npz`, its config, the training preprocessing.

An image of any size and mode is decoded by `data.images.load_image` (upright, RGB, bicubic resize to the
run's `data.image_size`), the decoder image folders use too, then flattened and scaled by
`data.flatten_and_scale` exactly as the training set was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import artifacts, data, model
from lr_jax.config import Config
from lr_jax.data.images import load_image
from lr_jax.errors import ConfigError, DataError
from lr_jax.experiment import precision_scope


class Prediction(NamedTuple):
    path: str
    proba: float  # P(class 1), "cat"
    label: int  # 1 where proba > the run's model.threshold
    class_name: str


def load_run(run_dir: str | os.PathLike) -> tuple[Config, dict[str, np.ndarray]]:
    """The config and parameters of a finished run, checked against each other."""
    run_dir = Path(run_dir)
    params_path = run_dir / "params.npz"
    if not params_path.is_file():
        raise DataError(f"{run_dir}: no params.npz, so no trained model to predict with. Pass the folder of "
                        "a finished run (outputs/<date>/<time>), or finish this one with train.resume=true.")
    config = _read_config(run_dir)
    try:
        params = artifacts.load_params(params_path)
    except (OSError, ValueError) as e:
        raise DataError(f"{params_path}: cannot be read ({e}). Train the run again.") from e
    n = 3 * config.data.image_size ** 2
    w, b = params.get("w"), params.get("b")
    if w is None or b is None or w.shape != (n,) or b.shape != ():
        found = {k: list(v.shape) for k, v in params.items()}
        raise DataError(f"{params_path}: parameters of shape {found} do not fit the run's "
                        f"{config.data.image_size}x{config.data.image_size} RGB images (w needs {n} values, b "
                        "a scalar). The file belongs to another run: copy the matching params.npz back.")
    return config, params


def _read_config(run_dir: Path) -> Config:
    """The run's config, as recorded in its metrics.json."""
    path = run_dir / "metrics.json"
    try:
        with open(path) as f:
            return Config.from_dict(json.load(f)["config"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: cannot read the run's config from it ({type(e).__name__}: {e}), so the image "
                        "size and scaling of the run are unknown. Pass a folder that scripts/train.py "
                        "finished writing.") from e


def predict_images(run_dir: str | os.PathLike, paths: Sequence[str | os.PathLike]) -> list[Prediction]:
    """P(cat) and the class of each image, with the run's parameters, preprocessing and threshold."""
    if not paths:
        raise ConfigError("images=[]: no image to classify. Pass images=[a.jpg,b.png].")
    config, params = load_run(run_dir)
    x_raw_MHWC = np.stack([load_image(p, config.data.image_size) for p in paths])
    with precision_scope(config.train.precision):
        dtype = jnp.float64 if config.train.precision == "float64" else jnp.float32
        x_MD = jnp.asarray(data.flatten_and_scale(x_raw_MHWC, dtype, config.data.scale))
        proba_M = np.asarray(jax.jit(model.predict_proba)({k: jnp.asarray(v, dtype) for k, v in params.items()}, x_MD))
    labels = (proba_M > config.model.threshold).astype(int)
    return [Prediction(str(p), float(q), int(k), data.DEFAULT_CLASSES[k])
            for p, q, k in zip(paths, proba_M, labels)]
