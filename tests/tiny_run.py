"""Fixtures of the fault-injection tests (a plugin of tests/conftest.py): a tiny course-layout data set and a
finished tiny run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import REPO_ROOT

SIZE = 4  # 4x4 RGB images: a run trains in well under a second once compiled


def write_tiny_data(folder: Path) -> Path:
    """train_catvnoncat.h5 (6 images) and test_catvnoncat.h5 (4 images) of SIZE x SIZE."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for split, m in (("train", 6), ("test", 4)):
        with h5py.File(folder / f"{split}_catvnoncat.h5", "w") as f:
            f[f"{split}_set_x"] = rng.integers(0, 256, (m, SIZE, SIZE, 3), np.uint8)
            f[f"{split}_set_y"] = np.arange(m) % 2
            f["list_classes"] = np.array([b"non-cat", b"cat"])
    return folder


def tiny_overrides(data: Path, run: Path, *extra: str) -> list[str]:
    """The CLI overrides of a tiny run: 20 iterations, a checkpoint every 5."""
    return [
        f"data.dir={data}",
        "data.download=false",
        "data.verify=false",
        f"data.image_size={SIZE}",
        "train.num_iterations=20",
        "train.log_every=5",
        "train.checkpoint_every=5",
        "train.print_cost=false",
        "train.progress=false",
        f"hydra.run.dir={run}",
        *extra,
    ]


def spawn_train(*overrides: str, env=None) -> subprocess.Popen:
    """scripts/train.py in a subprocess (own process group), output captured as text."""
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="session")
def tiny_finished(tiny_data, tmp_path_factory) -> Path:
    """A finished tiny run folder (checkpoints, params.npz, metrics.json, ...), written once per session."""
    from lr_jax import Config, train_and_evaluate

    run = tmp_path_factory.mktemp("tiny_run") / "run"
    overrides = dict(o.split("=", 1) for o in tiny_overrides(tiny_data, run)[:-1])
    d = {}
    for key, value in overrides.items():
        section, name = key.split(".")
        d.setdefault(section, {})[name] = _yaml_value(value)
    train_and_evaluate(Config.from_dict(d), run)
    return run


def _yaml_value(text: str):
    import yaml

    return yaml.safe_load(text)


@pytest.fixture
def finished_run(tiny_finished, tmp_path) -> Path:
    """A private copy of the finished tiny run."""
    return Path(shutil.copytree(tiny_finished, tmp_path / "run"))
