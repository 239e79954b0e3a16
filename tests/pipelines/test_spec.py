"""The run spec (`lr_jax.pipelines.spec`): built once from the config, the model with it; the stages take the
spec and never the whole `Config`."""

from __future__ import annotations

import dataclasses
import inspect

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import Config, models, optim
from lr_jax.pipelines import experiment, stages, sweep
from lr_jax.pipelines.spec import RunSpec, hparams_of, spec_from_config


def tiny_config(**sections) -> Config:
    """A one-hidden-layer MLP on 40 synthetic examples, 3 iterations, a checkpoint at the end."""
    base = {
        "data": {"name": "synthetic", "num_examples": 40, "num_test": 16, "num_features": 6},
        "model": {"name": "mlp", "hidden": [3], "init": "he"},
        "train": {"num_iterations": 3, "checkpoint_every": 3, "log_every": 3, "print_cost": False, "progress": False},
        "sweep": {"learning_rates": [0.1, 0.01], "seeds": [0, 1]},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return Config.from_dict(base)


def resumed(config: Config) -> Config:
    """`config` continued to twice its iterations from its checkpoint."""
    t = config.train
    return dataclasses.replace(config, train=dataclasses.replace(t, resume=True, num_iterations=2 * t.num_iterations))


@pytest.fixture
def builds(monkeypatch) -> list:
    """The model configs `models.build` is called with from here on."""
    calls, build = [], models.build

    def counting(cfg):
        calls.append(cfg)
        return build(cfg)

    monkeypatch.setattr(models, "build", counting)
    return calls


@pytest.mark.slow  # two compiled runs
def test_a_run_and_its_resumption_build_the_model_once_each(tmp_path, builds):
    config = tiny_config()
    experiment.train_and_evaluate(config, tmp_path)
    assert len(builds) == 1
    metrics = experiment.train_and_evaluate(resumed(config), tmp_path)
    assert len(builds) == 2 and metrics["n_iter"] == 6


@pytest.mark.slow  # two compiled grids
def test_a_vmapped_sweep_and_its_resumption_build_the_model_once_each(tmp_path, builds):
    """Four grid points (two learning rates x two seeds) share the sweep's one model."""
    config = tiny_config()
    sweep.sweep_and_evaluate(config, tmp_path)
    assert len(builds) == 1
    summary = sweep.sweep_and_evaluate(resumed(config), tmp_path)
    assert len(builds) == 2 and len(summary["rows"]) == 4


@pytest.mark.parametrize(
    "model, distinct",
    [
        ({"name": "logistic", "hidden": [], "init": "zeros"}, 1),
        ({"init": "he"}, 1),
        ({"init": "course", "course_seed": 7}, 1),  # every seed draws from RandomState(7)
        ({"init": "course"}, 2),  # each seed draws from RandomState(train.seed): a model per seed
    ],
)
def test_grid_points_share_the_model_unless_its_init_draws_from_their_seed(builds, model, distinct):
    config = tiny_config(model=model)
    spec = spec_from_config(config)
    points = sweep.grid_specs(sweep.grid_configs(config), like=spec)
    assert len({id(p.model) for p in points}) == distinct
    assert len(builds) == distinct  # the base config's seed 0 is the grid's first: its model is reused
    for p, c in zip(points, sweep.grid_configs(config)):
        assert (p.optim_config.learning_rate, p.train.seed) == (c.optim.learning_rate, c.train.seed)
        assert p.record is spec.record  # what the grid's checkpoints store


def test_spec_holds_what_the_config_derives():
    config = tiny_config(train={"precision": "float64"}, optim={"name": "adam"})
    spec = spec_from_config(config)
    assert spec.model == models.build(config.model)
    assert spec.optim == optim.spec(config.optim) and spec.optim.name == "adam"
    assert spec.dtype == jnp.float64
    assert spec.record == config.to_dict()
    assert (spec.data, spec.model_config, spec.train) == (config.data, config.model, config.train)
    assert spec_from_config(config, record={"grid": 1}).record == {"grid": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.dtype = jnp.float32  # type: ignore[misc]


def test_hparams_of_the_spec_equal_the_configs():
    config = tiny_config(optim={"momentum": 0.5}, model={"l2": 0.25}, train={"tol": 1e-3})
    want = optim.config_hparams(config, jnp.float32)
    got = hparams_of(spec_from_config(config))
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k


def parameters(module) -> dict[str, list[inspect.Parameter]]:
    """{function name: its parameters} of the public functions defined in `module`."""
    return {
        name: list(inspect.signature(f).parameters.values())
        for name, f in inspect.getmembers(module, inspect.isfunction)
        if f.__module__ == module.__name__ and not name.startswith("_")
    }


def test_stages_take_the_spec_never_the_config():
    """Every stage, and the grid's training, reads the spec (or the few sections it needs): none takes the
    Config, so none can rebuild the model from it."""
    functions = {**parameters(stages), **{k: v for k, v in parameters(sweep).items() if k in GRID_STAGES}}
    takes_config = {
        name for name, ps in functions.items() for p in ps if p.name == "config" or p.annotation == "Config"
    }
    assert takes_config == set()
    takes_spec = {name for name, ps in functions.items() if any(p.annotation == "RunSpec" for p in ps)}
    assert {"initial_state", "fit", "evaluate_params", "resume_point", "training_hooks"} <= takes_spec
    assert RunSpec.__dataclass_params__.frozen  # type: ignore[attr-defined]


GRID_STAGES = {"initial_states", "train_grid", "resumable_grid", "run_steps_batched"}
