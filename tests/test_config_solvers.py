"""Config keys of the solvers (issue 4): every optim/*.yaml composes, bad values are named."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lr_jax.config import Config
from lr_jax.errors import ConfigError
from tests.conftest import REPO_ROOT

OPTIMIZERS = sorted(p.stem for p in (REPO_ROOT / "conf" / "optim").glob("*.yaml"))


@pytest.mark.parametrize("optim", OPTIMIZERS)
def test_every_optimizer_file_composes_and_validates(optim):
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"optim={optim}",
                "model.class_weight=balanced",
                "train.tol=1e-6",
                "train.max_iterations=50",
                "data.val_fraction=0.2",
            ],
        )
    config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
    assert config.optim.name == optim and config.train.iteration_limit == 50
    assert config.model.class_weight == "balanced" and config.data.val_fraction == 0.2


def test_iteration_limit_defaults_to_the_course_count():
    assert Config.from_dict({"train": {"num_iterations": 77}}).train.iteration_limit == 77
    assert Config.from_dict({"train": {"batch_size": 32}}).train.batch_size == 32


@pytest.mark.parametrize(
    "section, key, value, fragment",
    [
        ("optim", "name", "rmsprop", "one of ['adam', 'lbfgs', 'sgd']"),
        ("optim", "momentum", 1.0, "0 <= momentum < 1"),
        ("optim", "schedule", "step", "one of ['constant', 'cosine', 'exponential']"),
        ("optim", "decay_rate", 0.0, "0 < decay_rate <= 1"),
        ("model", "l2", -1.0, "a number >= 0"),
        ("model", "class_weight", "auto", "null or 'balanced'"),
        ("train", "batch_size", 0, "null (full batch) or an integer >= 1"),
        ("train", "batch_size", "64", "expected an integer"),
        ("train", "tol", -1e-3, "a number >= 0"),
        ("train", "max_iterations", -1, "null (= train.num_iterations)"),
        ("data", "val_fraction", 1.0, "0 <= val_fraction < 1"),
    ],
)
def test_bad_values_are_named(section, key, value, fragment):
    with pytest.raises(ConfigError, match=f"{section}.{key}") as info:
        Config.from_dict({section: {key: value}})
    assert fragment in str(info.value)


def test_lbfgs_refuses_minibatches():
    with pytest.raises(ConfigError, match="train.batch_size=32.*optim=lbfgs"):
        Config.from_dict({"optim": {"name": "lbfgs"}, "train": {"batch_size": 32}})
