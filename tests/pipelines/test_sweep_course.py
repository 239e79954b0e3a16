"""The vmapped sweep on the course data: the same numbers as separately trained runs, and each config
written like a run."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import Config, artifacts, runtime, train
from lr_jax.models import logistic as model
from lr_jax.pipelines import stages, sweep
from lr_jax.pipelines.spec import spec_from_config
from tests.conftest import assert_costs_csv_matches, curves_in_png


def separate_run(config: Config, x_ND, y_N) -> train.FitResult:
    """The single-run path of `experiment.train_and_evaluate`, for one config of the grid."""
    state, hparams = stages.initial_state(spec_from_config(config), x_ND.shape[1])  # x: uint8
    return train.fit(state, x_ND, y_N, hparams, num_steps=config.train.num_iterations, optim=config.optim.name)


def logits(params, xs) -> np.ndarray:
    """The logits of every train and test example."""
    return np.concatenate([np.asarray(model.batched_logit(params, xs[split])) for split in ("train", "test")])


def assert_same_predictions(logit_got, logit_want, tol, what):
    """Logits within `tol`; the predicted class equal on every example farther than `tol` from the boundary
    (an example within `tol` of z = 0 may round to either side; on the course data none is that close)."""
    np.testing.assert_allclose(logit_got, logit_want, rtol=0, atol=tol, err_msg=what)
    flipped = (logit_got > 0) != (logit_want > 0)
    assert np.all(np.abs(logit_want[flipped]) <= tol), f"{what}: predictions differ away from the boundary"


# The batched program sums its matrix products in another order than the single run's matrix-vector products
# (the same numbers up to ~1 ulp per step, on any backend). At α <= 0.005 gradient descent on the course's
# data is contractive (below the 2 / L at which the cost starts to oscillate), so such a difference does not
# grow: measured here, the costs differ by 1-2 float32 ulps (<= 2.4e-7) and the logits by <= 1.5e-6. Costs
# within 1e-6 (~16 ulps of a cost near 0.69) and logits within 1e-5 hold on any machine whose float32 sums
# are correctly rounded per operation; a larger gap means the grid did not train the config it claims.
@pytest.mark.slow  # 200 iterations of a grid and of each run on the real data
@pytest.mark.parametrize(
    "init, learning_rates, seeds",
    [
        pytest.param("zeros", [0.005, 0.001, 0.0001], [0], id="course"),
        pytest.param("normal", [0.005, 0.001], [0, 1], id="seeds"),
    ],
)
def test_vmapped_sweep_equals_separate_runs(data_dir, init, learning_rates, seeds):
    config = make_config(
        data_dir,
        model={"init": init},
        sweep={"learning_rates": learning_rates, "seeds": seeds},
        train={"num_iterations": 200, "print_cost": False},
    )
    with runtime.precision_scope("float32"):
        run_data = stages.load_inputs(spec_from_config(config))
        xs, ys = run_data.xs, run_data.ys
        configs = sweep.grid_configs(config)
        grid = sweep.train_grid(sweep.grid_specs(configs), xs["train"], ys["train"])
        singles = [separate_run(c, xs["train"], ys["train"]) for c in configs]
    assert grid.costs.shape == (len(configs), 200)
    for i, single in enumerate(singles):
        np.testing.assert_allclose(grid.costs[i], single.costs, rtol=0, atol=1e-6, err_msg=f"config {i}")
        assert_same_predictions(
            logits(sweep.unstack(grid.state.params, i), xs), logits(single.state.params, xs), 1e-5, f"config {i}"
        )
    if init == "normal":  # the seeds gave the configs different starting points
        assert not np.allclose(grid.costs[0, 1:], grid.costs[1, 1:])


REORDERINGS = 2  # row orders of the training set that measure how far rounding alone moves a run


MARGIN = 10  # the vmapped run may stray this many times farther than the farthest reordered run


@pytest.mark.slow  # > 2 s on 2 cores (six float64 runs)
def test_oscillating_rate_stays_within_what_summation_order_alone_moves_it(data_dir):
    """At α = 0.01 the course's cost oscillates for ~300 iterations and amplifies any rounding difference
    (float32: to 1.8 near iteration 200, 95 of 209 predictions flipped; float64: to ~6e-6, and how far
    depends on the CPU's or GPU's summation order). No fixed per-step tolerance holds on every machine, so
    the test measures this machine's own: the single run on the training rows in another order is the same
    computation with its sums in another order, which is all the vmapped run changes. The vmapped run must
    stay within MARGIN times the farthest such reordered run, in costs and in logits. Both gaps are rounding
    amplified by the same dynamics, so their ratio does not depend on the machine (measured on a 2-core CPU:
    vmapped 5.8e-6, reordered 7.5e-6 and 4.7e-6). α = 0.0001 rides along: it does not oscillate, and its
    envelope is a few float64 ulps. A bug moves the costs by far more: α off by a relative 1e-9 moves them
    by 1.6.
    """
    config = make_config(
        data_dir,
        sweep={"learning_rates": [0.01, 0.0001], "seeds": [0]},
        train={"num_iterations": 200, "precision": "float64", "print_cost": False},
    )
    with runtime.precision_scope("float64"):
        run_data = stages.load_inputs(spec_from_config(config))
        xs, ys = run_data.xs, run_data.ys
        configs = sweep.grid_configs(config)
        grid = sweep.train_grid(sweep.grid_specs(configs), xs["train"], ys["train"])
        for i, c in enumerate(configs):
            single = separate_run(c, xs["train"], ys["train"])
            reordered = []
            for seed in range(REORDERINGS):
                rows = np.random.default_rng(seed).permutation(len(ys["train"]))
                reordered.append(separate_run(c, xs["train"][rows], ys["train"][rows]))
            cost_envelope = max(float(np.max(np.abs(r.costs - single.costs))) for r in reordered)
            single_logits = logits(single.state.params, xs)
            logit_envelope = max(float(np.max(np.abs(logits(r.state.params, xs) - single_logits))) for r in reordered)
            # Float64 pins the trajectory (reordering moves it ~1e-5 here): the bound below stays far under the
            # O(1) gap of a bug. 1e-2 leaves 1000x for hardware that rounds differently.
            assert cost_envelope < 1e-2 and logit_envelope < 1e-2, (cost_envelope, logit_envelope)
            floor = 1e-12  # a few thousand float64 ulps of the cost, for a machine on which reordering changes nothing
            gap = float(np.max(np.abs(grid.costs[i] - single.costs)))
            assert gap <= MARGIN * cost_envelope + floor, f"config {i}: {gap} vs reordering {cost_envelope}"
            assert_same_predictions(
                logits(sweep.unstack(grid.state.params, i), xs),
                single_logits,
                MARGIN * logit_envelope + floor,
                f"config {i}",
            )


@pytest.mark.slow
def test_sweep_and_evaluate_writes_each_config_like_a_run(data_dir, tmp_path):
    config = make_config(
        data_dir,
        train={"num_iterations": 200, "log_every": 50, "print_cost": False},
        sweep={"learning_rates": [0.005, 0.001], "seeds": [0], "figures": "all"},
    )
    result = sweep.sweep_and_evaluate(config, tmp_path)
    run_data = stages.load_inputs(spec_from_config(config))
    for i, lr in enumerate([0.005, 0.001]):
        metrics = json.loads((tmp_path / str(i) / "metrics.json").read_text())
        assert metrics["config"]["optim"]["learning_rate"] == lr
        assert metrics["cost_iterations"] == [0, 50, 100, 150]
        assert_costs_csv_matches(tmp_path / str(i), metrics)
        assert curves_in_png(tmp_path / str(i) / "learning_curve.png") == 1
        params = {k: jnp.asarray(v) for k, v in artifacts.load_params(tmp_path / str(i) / "params.npz").items()}
        predicted = np.asarray(model.predict(params, run_data.xs["test"]))
        assert np.mean(predicted == np.asarray(run_data.ys["test"])) == metrics["test_accuracy"]
        assert result["rows"][i]["test_accuracy"] == metrics["test_accuracy"]
    assert result["best"]["run"] in ("0", "1")
    assert curves_in_png(tmp_path / "learning_curves.png") == 2  # one curve per config


def make_config(data_dir=None, **sections) -> Config:
    d = {"train": {"print_cost": False}, **sections}
    if data_dir is not None:
        d["data"] = {"dir": str(data_dir), "download": False}
    return Config.from_dict(d)
