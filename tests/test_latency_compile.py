"""Time to result: the compilation cache's folder, one compile per shape in a process, the grid's evaluation."""

from __future__ import annotations

import json
import logging
import stat

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import data, evaluate, optim, runtime, train
from lr_jax.models import logistic as model
from lr_jax.pipelines import sweep


def test_cache_auto_is_the_user_cache_honouring_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(runtime.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runtime.compilation_cache_path("auto") == tmp_path / "xdg" / "lr_jax" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert runtime.compilation_cache_path("auto") == tmp_path / ".cache" / "lr_jax" / "xla"
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path / "tests"))  # what tests/conftest.py sets
    assert runtime.compilation_cache_path("auto") == tmp_path / "tests"
    assert runtime.compilation_cache_path("~/x") == tmp_path / "x"
    assert runtime.compilation_cache_path(None) is None


def test_new_cache_folder_is_private(tmp_path):
    # Compiled programs in the cache are run as they are: nobody else may write (or read) them.
    previous = jax.config.jax_compilation_cache_dir
    try:
        runtime.use_compilation_cache(str(tmp_path / "a" / "xla"))
        assert stat.S_IMODE((tmp_path / "a" / "xla").stat().st_mode) == 0o700
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
    finally:
        jax.config.update("jax_compilation_cache_dir", previous)


def test_cache_default_is_auto_and_null_turns_it_off():
    from lr_jax import Config

    assert Config().train.compilation_cache_dir == runtime.CACHE_AUTO
    assert Config.from_dict({"train": {"compilation_cache_dir": None}}).train.compilation_cache_dir is None


def test_two_fits_of_one_shape_compile_once_and_report_it(caplog):
    # train.fit goes through jit's in-memory cache: a second fit with the same shapes and static arguments
    # (Hydra's basic launcher runs every job in one process) reuses the program, and says it compiled nothing.
    rng = np.random.default_rng(5)
    x_ND, y_N = jnp.asarray(rng.uniform(size=(13, 7)), jnp.float32), jnp.asarray(rng.integers(0, 2, 13))
    hparams = optim.make_hparams(0.1)
    state = train.init_state(model.init_params(7), hparams, jax.random.key(0))
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        first = train.fit(state, x_ND, y_N, hparams, num_steps=9)
        second = train.fit(state, x_ND, y_N, optim.make_hparams(0.2), num_steps=9)
    messages = [r.getMessage() for r in caplog.records]
    compiles = sum(m.startswith("Compiling") and "jit(run_steps)" in m for m in messages)
    assert compiles == 1
    assert first.compile_s > 0 and second.compile_s == 0.0
    assert first.run_s > 0 and second.run_s > 0


def test_grid_evaluation_matches_one_evaluation_per_point():
    # vmapped: a matrix product instead of C matrix-vector products, so float32 sums may differ in order;
    # 1e-5 relative holds for 7 features summed in any order (each term ~1, float32 eps 6e-8).
    rng = np.random.default_rng(2)
    xs = {s: jnp.asarray(rng.uniform(size=(11, 7)), jnp.float32) for s in ("train", "test")}
    ys = {s: jnp.asarray(rng.integers(0, 2, 11)) for s in ("train", "test")}
    points = [{"w": jnp.asarray(rng.normal(size=7), jnp.float32), "b": jnp.float32(0.1 * k)} for k in range(3)]
    grid = evaluate.evaluate_grid(model.LOGISTIC, sweep.stack(points), xs, ys, threshold=0.5)
    for params, got in zip(points, grid):
        want = evaluate.evaluate(model.LOGISTIC, params, xs, ys, threshold=0.5)
        assert json.dumps(got.metrics["test"]["accuracy"]) == json.dumps(want.metrics["test"]["accuracy"])
        for split in xs:
            np.testing.assert_allclose(got.probas[split], want.probas[split], rtol=1e-5)
            assert got.metrics[split]["cost"] == pytest.approx(want.metrics[split]["cost"], rel=1e-5)
        assert got.grad_norm == pytest.approx(want.grad_norm, rel=1e-5)


@pytest.mark.slow  # a 50-iteration sweep of the real data
def test_sweep_writes_no_point_figures_by_default(data_dir, tmp_path):
    from lr_jax import Config

    config = Config.from_dict(
        {
            "data": {"dir": str(data_dir), "download": False},
            "train": {"num_iterations": 50, "print_cost": False},
            "sweep": {"learning_rates": [0.005, 0.001]},
        }
    )
    sweep.sweep_and_evaluate(config, tmp_path)
    for i in ("0", "1"):
        assert {p.name for p in (tmp_path / i).iterdir()} == {"config.json", "metrics.json", "params.npz", "costs.csv"}
    assert (tmp_path / "learning_curves.png").is_file()


@pytest.mark.parametrize(
    "grid, precision",
    [
        (False, "float32"),
        pytest.param(False, "float64", marks=pytest.mark.slow),
        pytest.param(True, "float32", marks=pytest.mark.slow),
        (True, "float64"),
    ],
    ids=["run-float32", "run-float64", "sweep-float32", "sweep-float64"],
)
def test_evaluation_compiled_in_the_worker_is_what_the_run_calls(caplog, precision, grid):
    # A run compiles its evaluation in the worker thread while it trains: the call after training, with
    # the trained parameters (host arrays from a run, device arrays from a sweep), then compiles nothing.
    # The worker sets JAX's 64-bit mode itself (a per-thread setting): without it, float64 would recompile.
    from concurrent import futures

    from lr_jax import Config
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.spec import spec_from_config

    spec = spec_from_config(Config.from_dict({"train": {"precision": precision}, "model": {"l2": 0.1}}))
    rng = np.random.default_rng(3)
    with runtime.precision_scope(precision):
        dtype = runtime.run_dtype(precision)
        xs = {s: jnp.asarray(rng.integers(0, 256, (9 + k, 6)), jnp.uint8) for k, s in enumerate(("train", "test"))}
        ys = {s: jnp.asarray(rng.integers(0, 2, x.shape[0]), jnp.int32) for s, x in xs.items()}
        splits = {s: data.Split(np.asarray(xs[s]), np.asarray(ys[s], np.int64), ("non-cat", "cat")) for s in xs}
        inputs = stages.Inputs(splits, xs, ys, None)
        params = {"w": jnp.asarray(rng.normal(size=6), dtype), "b": jnp.asarray(0.2, dtype)}
        if grid:
            params = sweep.stack([params, params])
        futures.wait([stages.compile_evaluation(spec, inputs, params, grid=grid)])
        trained = params if grid else jax.device_get(params)  # as sweep.py / stages.fit hand them over
        caplog.set_level(logging.WARNING)
        with jax.log_compiles():
            got = stages.evaluate_params(spec, inputs, trained, grid=grid)
    compiles = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Compiling")]
    assert compiles == []
    first = got[0] if grid else got
    assert np.asarray(first.probas["test"]).dtype == dtype  # evaluated in the run's precision
