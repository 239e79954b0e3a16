"""Shared fixtures. JAX runs with rank promotion as an error, so implicit (m,) vs (m, 1) broadcasts fail."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "LR_JAX_DATA_DIR"
# CI sets LR_JAX_REQUIRE_DATA=1: there a test that needs the real data fails instead of skipping.
REQUIRE_DATA = os.environ.get("LR_JAX_REQUIRE_DATA") == "1"
HOW_TO_PROVIDE = (
    f"set {DATA_ENV} to a folder holding train_catvnoncat.h5 and test_catvnoncat.h5 "
    "(in this repository's workspace: ../shared/data/catvnoncat)"
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real course files, from LR_JAX_DATA_DIR."""
    folder = os.environ.get(DATA_ENV)
    ok = folder and all((Path(folder) / f).is_file() for f in ("train_catvnoncat.h5", "test_catvnoncat.h5"))
    if not ok:
        reason = f"real data not found ({DATA_ENV}={folder!r}): {HOW_TO_PROVIDE}"
        if REQUIRE_DATA:
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(folder)


@pytest.fixture(scope="session")
def course_data(data_dir):
    """{"train": Split, "test": Split} of the real, verified data."""
    from lr_jax import data
    from lr_jax.config import DataConfig

    return data.load(DataConfig(dir=str(data_dir), download=False))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
