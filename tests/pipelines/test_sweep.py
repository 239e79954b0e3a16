"""The vmapped sweep: the same numbers as separately trained runs, one compilation for the whole grid."""

from __future__ import annotations

import dataclasses
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


def hooks_recording(seen: list):
    """An `on_chunk` hook that keeps the params (on the host) at each chunk boundary."""
    return lambda state, costs: seen.append(jax.device_get(state.params))


def span_sweep_config(model: dict) -> Config:
    """A grid of 2 learning rates x 2 seeds on 40 examples of 300 features (m < n/4: auto picks the span),
    float64, momentum, L2 and minibatches; the seeds draw different starting weights."""
    return make_config(
        data={"name": "synthetic", "num_examples": 40, "num_test": 8, "num_features": 300},
        model={"l2": 0.01, **model},
        optim={"momentum": 0.9},
        train={"num_iterations": 30, "precision": "float64", "batch_size": 16, "progress": False},
        sweep={"learning_rates": [0.05, 0.02], "seeds": [0, 1]},
    )


@pytest.mark.parametrize(
    "model",
    [
        pytest.param({"init": "normal"}, marks=pytest.mark.slow),  # a grid and a run per member, in the span
        pytest.param({"name": "mlp", "hidden": [4], "activation": "tanh", "init": "xavier"}, marks=pytest.mark.slow),
    ],
    ids=["logistic", "mlp"],
)
def test_a_grid_in_the_span_follows_single_weight_space_runs_at_every_logged_iteration(model):
    """One K for the whole grid, the anchors' terms per point: every point's costs and params after each
    chunk of 10 iterations are those of a single weight-space run with its learning rate and seed. float64:
    the same operations in another order (K·A for X(XᵀA), the grid's vmapped products), rounding of 1e-16 per
    operation, the costs measured within 4.4e-16; 1e-12 holds on any CPU or GPU (the span's products run at
    HIGHEST)."""
    from lr_jax import span
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.spec import spec_from_config
    from lr_jax.runtime import precision_scope

    config = span_sweep_config(model)
    spec = spec_from_config(config)
    configs = sweep.grid_configs(config)
    points = sweep.grid_specs(configs, like=spec)
    seen: dict[str, list] = {"grid": [], "single": []}
    with precision_scope("float64"):
        inputs = stages.load_inputs(spec)
        x, y = inputs.xs["train"], inputs.ys["train"]
        states, hparams = sweep.initial_states(points, inputs.n_features)
        states, name = stages.parametrize(spec, inputs, states, hparams)
        assert name == span.SPAN and span.is_grid(states) and states.opt_state.coef["a"].shape[:2] == (4, 40)
        record = hooks_recording(seen["grid"])
        grid = sweep.train_grid(points, x, y, start=(states, hparams), on_chunk=[record], chunk_size=10)
        for i, c in enumerate(configs):
            train_weights = dataclasses.replace(c.train, parametrization="weights")
            weights = spec_from_config(dataclasses.replace(c, train=train_weights))
            state, hp = stages.initial_state(weights, inputs.n_features)
            single_seen: list = []
            single = stages.fit(
                weights,
                stages.Placed(None, x, y, None, state, hp),
                on_chunk=[hooks_recording(single_seen)],
                chunk_size=10,
            )
            np.testing.assert_allclose(grid.costs[i], single.costs, rtol=0, atol=1e-12, err_msg=f"config {i}")
            assert len(single_seen) == len(seen["grid"]) == 3
            for got, want in zip(seen["grid"], single_seen, strict=True):
                for leaf in want:
                    np.testing.assert_allclose(got[leaf][i], want[leaf], rtol=0, atol=1e-12, err_msg=leaf)
    assert not np.allclose(grid.costs[0], grid.costs[1])  # the seeds gave different starting points
