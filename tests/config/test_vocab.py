"""The config's vocabularies (`lr_jax.config.vocab`) are the names the code implements and the conf/ files use.

Each vocabulary is defined once, in `vocab`; the registries that implement it (the model builders, the MLP's
activations, the data sources, the optimizers and schedules) and the conf/ group files must name the same set.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from lr_jax import models, optim
from lr_jax.config import vocab
from lr_jax.data import loader, synthetic
from lr_jax.models import mlp
from tests.conftest import REPO_ROOT

CONF = REPO_ROOT / "conf"


@pytest.mark.parametrize(
    "vocabulary, registry",
    [
        (vocab.MODELS, models.BUILDERS),
        (vocab.ACTIVATIONS, mlp.ACTIVATIONS),
        (vocab.DATASETS, loader.SOURCES),
    ],
    ids=["models", "activations", "datasets"],
)
def test_vocabulary_is_the_registry(vocabulary, registry):
    assert set(vocabulary) == set(registry)


@pytest.mark.parametrize(
    "group, vocabulary", [("model", vocab.MODELS), ("data", vocab.DATASETS), ("optim", vocab.OPTIMIZERS)]
)
def test_group_files_are_the_vocabulary_each_naming_itself(group, vocabulary):
    files = sorted((CONF / group).glob("*.yaml"))
    assert {path.stem for path in files} == set(vocabulary)
    for path in files:
        assert yaml.safe_load(path.read_text())["name"] == path.stem, path


def key_comment(text: str, key: str) -> str:
    """The comment of `key: value  # ...` in a conf file, with the comment-only lines that continue it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    comment = [lines[start].partition("#")[2]]
    for line in lines[start + 1 :]:
        if not (line[:1].isspace() and line.lstrip().startswith("#")):
            break
        comment.append(line.lstrip()[1:])
    return " ".join(comment)


@pytest.mark.parametrize(
    "file, key, vocabulary",
    [
        ("model/logistic.yaml", "init", vocab.LOGISTIC_INITS),
        ("model/mlp.yaml", "init", vocab.INITS),
        ("model/mlp.yaml", "activation", vocab.ACTIVATIONS),
        ("data/synthetic.yaml", "teacher", vocab.TEACHERS),
        ("optim/sgd.yaml", "schedule", vocab.SCHEDULES),
        ("optim/adam.yaml", "schedule", vocab.SCHEDULES),
    ],
)
def test_conf_value_is_allowed_and_its_comment_lists_every_choice(file, key, vocabulary):
    text = (CONF / file).read_text()
    assert yaml.safe_load(text)[key] in vocabulary
    words = set(re.findall(r"\w+", key_comment(text, key)))
    assert set(vocabulary) <= words, f"{file}: the comment of {key} leaves out {sorted(set(vocabulary) - words)}"


@pytest.mark.parametrize("name", sorted(vocab.OPTIMIZERS))
def test_every_optimizer_name_builds(name):
    transform = optim.make_optimizer(name, optim.make_hparams())
    assert callable(transform.init) and callable(transform.update)


@pytest.mark.parametrize("schedule", sorted(vocab.SCHEDULES))
def test_every_schedule_name_builds(schedule):
    learning_rate = optim.make_schedule(optim.spec(schedule=schedule), np.float32(0.1))
    rate_at_0 = learning_rate(0) if callable(learning_rate) else learning_rate
    assert float(rate_at_0) == pytest.approx(0.1)  # every schedule starts at the learning rate


@pytest.mark.parametrize(
    "build, name",
    [(optim.make_optimizer, "rmsprop"), (lambda n, _: optim.make_schedule(optim.spec(schedule=n), 0.1), "step")],
)
def test_a_name_outside_the_vocabulary_is_refused(build, name):
    with pytest.raises(ValueError, match=name):
        build(name, optim.make_hparams())


def test_each_teacher_labels_the_stream_its_own_way():
    labels = {teacher: synthetic.generate(0, 200, 48, seed=0, teacher=teacher)[1] for teacher in vocab.TEACHERS}
    assert len({y.tobytes() for y in labels.values()}) == len(vocab.TEACHERS)
