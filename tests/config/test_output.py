"""model.output and the number of classes a config implies (model.n_classes, derived from the data)."""

from __future__ import annotations

import pytest

from lr_jax import models
from lr_jax.config import Config
from lr_jax.errors import ConfigError

THREE = {"name": "synthetic", "num_classes": 3}


@pytest.mark.parametrize(
    "data, output, softmax, outputs",
    [
        ({}, "auto", False, 1),  # the course: one sigmoid unit
        ({}, "softmax", True, 2),  # two classes through a softmax, when asked
        (THREE, "auto", True, 3),
        (THREE, "softmax", True, 3),
        ({"name": "digits"}, "auto", True, 10),
        ({"name": "image_folder", "classes": ["a", "b", "c", "d"]}, "auto", True, 4),
    ],
)
def test_output_resolves_to_sigmoid_or_k_softmax_units(data, output, softmax, outputs):
    config = Config.from_dict({"data": data, "model": {"output": output}})
    assert config.model.softmax == softmax and config.model.num_outputs == outputs
    assert models.num_outputs(models.build(config.model)) == outputs
    mlp = Config.from_dict({"data": data, "model": {"name": "mlp", "hidden": [3], "init": "he", "output": output}})
    assert models.num_outputs(models.build(mlp.model)) == outputs


def test_the_course_model_is_unchanged():
    assert models.build(Config().model) == models.LOGISTIC


@pytest.mark.parametrize(
    "overrides, says",
    [
        ({"data": THREE, "model": {"output": "sigmoid"}}, "model.output='sigmoid' is out of range"),
        ({"model": {"output": "linear"}}, "model.output='linear' is out of range"),
        ({"data": THREE, "train": {"parametrization": "span"}}, "softmax output (3 classes)"),
        ({"data": {**THREE, "teacher": "mlp"}}, "the mlp teacher labels two classes"),
        ({"data": {"name": "synthetic", "num_classes": 1}}, "data.num_classes=1 is out of range"),
        ({"data": {"classes": ["a", "b", "a"]}}, "data.classes=['a', 'b', 'a'] is out of range"),
        ({"data": {"classes": ["a"]}}, "two or more distinct folder names"),
    ],
)
def test_invalid_outputs_and_classes_are_refused(overrides, says):
    with pytest.raises(ConfigError, match=None) as info:
        Config.from_dict(overrides)
    assert says in str(info.value)


def test_n_classes_is_not_a_config_key():
    with pytest.raises(ConfigError, match="unknown key"):
        Config.from_dict({"model": {"n_classes": 3}})
    assert "n_classes" not in Config.from_dict({"data": THREE}).to_dict()["model"]
