"""The vmapped sweep: the same numbers as separately trained runs, one compilation for the whole grid."""

from __future__ import annotations

import json
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import Config, ConfigError
from lr_jax.pipelines import sweep


def make_config(data_dir=None, **sections) -> Config:
    d = {"train": {"print_cost": False}, **sections}
    if data_dir is not None:
        d["data"] = {"dir": str(data_dir), "download": False}
    return Config.from_dict(d)


def test_grid_configs_cover_every_pair_learning_rates_outermost():
    config = make_config(sweep={"learning_rates": [0.1, 0.01], "seeds": [3, 4]}, optim={"learning_rate": 9.0})
    pairs = [(c.optim.learning_rate, c.train.seed) for c in sweep.grid_configs(config)]
    assert pairs == [(0.1, 3), (0.1, 4), (0.01, 3), (0.01, 4)]


def test_config_dict_survives_json_unchanged():
    """Checkpoints compare the saved config (from JSON) with `to_dict()`: the grid's lists must match."""
    config = make_config(sweep={"learning_rates": [0.1, 0.01], "seeds": [1, 2]})
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


@pytest.mark.parametrize(
    "sweep_section, message",
    [
        ({"learning_rates": []}, "sweep.learning_rates=[]: expected a non-empty list"),
        ({"learning_rates": 0.1}, "sweep.learning_rates=0.1: expected a non-empty list"),
        ({"learning_rates": [0.1, -1]}, "sweep.learning_rates=[0.1, -1.0] is out of range: expected numbers > 0"),
        ({"learning_rates": [0.1, "fast"]}, "sweep.learning_rates[1]='fast': expected a number"),
        ({"seeds": [0.5]}, "sweep.seeds[0]=0.5: expected an integer"),
        ({"seeds": [1, 1]}, "sweep.seeds=[1, 1] is out of range: expected distinct seeds"),
    ],
)
def test_bad_sweep_values_are_named(sweep_section, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config(sweep=sweep_section)


def test_resume_without_a_grid_checkpoint_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ConfigError, match="train.resume=true, but .*checkpoints holds no checkpoint"):
        data = {"name": "synthetic", "num_examples": 64, "num_test": 32, "num_features": 10}  # no files needed
        sweep.sweep_and_evaluate(make_config(train={"resume": True}, data=data), tmp_path)


def test_grid_compiles_once(caplog, rng):
    x_ND = jnp.asarray(rng.random((20, 7)), jnp.float32)
    y_N = jnp.asarray(rng.integers(0, 2, 20), jnp.int32)
    grid = dict(learning_rates=[0.3, 0.2, 0.1], seeds=[0, 1])
    other = dict(learning_rates=[0.03, 0.02, 0.01], seeds=[5, 6])  # same size, new values

    def train_grid(values):
        configs = sweep.grid_configs(make_config(train={"num_iterations": 11}, sweep=values))
        return sweep.train_grid(sweep.grid_specs(configs), x_ND, y_N)

    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        first, second = train_grid(grid), train_grid(other)
    messages = [r.getMessage() for r in caplog.records]
    compiled = [m.split(" with ")[0] for m in messages if m.startswith("Compiling")]
    training = [name for name in compiled if "run_steps" in name]
    assert training == ["Compiling jit(run_steps_batched)"], compiled
    # The init's seed is traced: one compile for both grids (4 seeds, 12 configs). A static seed would compile
    # 4 times, a jit built per config 12 times; a renamed init function compiles 0 times here: update the name.
    assert compiled.count("Compiling jit(_init_state)") == 1, compiled
    assert first.compile_s > 0 and second.costs.shape == first.costs.shape == (6, 11)
    assert not np.allclose(first.costs[:, -1], second.costs[:, -1])  # the new values did take effect


def strict_json(path) -> dict:
    """The file parsed as strict JSON: NaN or Infinity (Python's json extensions) raise."""

    def refuse(name):
        raise ValueError(f"{path}: {name} is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.slow  # a whole vmapped sweep with its reports
def test_a_diverging_point_is_reported_and_the_best_run_is_another(tmp_path):
    """Raw 0-255 values at α = 1e36 overflow float32 within two updates; α = 0.001 trains normally."""
    config = make_config(
        data={"name": "synthetic", "num_examples": 64, "num_test": 32, "num_features": 10, "scale": False},
        train={"num_iterations": 20, "log_every": 5, "print_cost": False, "progress": False},
        sweep={"learning_rates": [1e36, 0.001], "seeds": [0]},
    )

    result = sweep.sweep_and_evaluate(config, tmp_path)

    diverged, finished = strict_json(tmp_path / "0" / "metrics.json"), strict_json(tmp_path / "1" / "metrics.json")
    assert diverged["diverged"] is True and finished["diverged"] is False
    assert diverged["costs"][0] == finished["costs"][0] and None in diverged["costs"]  # NaN written as null
    assert not (tmp_path / "0" / "params.npz").exists() and (tmp_path / "1" / "params.npz").is_file()
    assert (tmp_path / "0" / "costs.csv").is_file()
    assert [r["diverged"] for r in result["rows"]] == [True, False]
    assert result["best"]["run"] == "1" == strict_json(tmp_path / "summary.json")["best"]["run"]
