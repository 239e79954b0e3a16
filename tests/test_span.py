"""Training in the span of the data (lr_jax/span.py): the same iterates as weight space at every logged
iteration (float64), what `auto` picks, the course run in float32 printing the course's numbers, and a
stopped span run resumed bit-identical."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lr_jax import artifacts, optim, span, train
from lr_jax.config import Config
from lr_jax.errors import ConfigError
from lr_jax.models import logistic, mlp
from lr_jax.pipelines import experiment
from lr_jax.runtime import precision_scope
from tests.conftest import REPO_ROOT
from tests.runfolder.test_checkpoint import Stopped, record_and_stop_hooks

M, N, STEPS, EVERY = 40, 300, 30, 10  # m < n/4, as the span needs; a record every EVERY iterations

# (optimizer's static part, hyperparameters, train.fit keywords): each optimizer, L2, weights, minibatches.
# "sgd" and "tol" share one program (the fast lane); each other case compiles two programs of its own (slow).
CASES = {
    "sgd": ({}, {"learning_rate": 0.05}, {}),
    "tol": ({}, {"learning_rate": 0.5, "tol": 0.05}, {}),
    "momentum": ({}, {"learning_rate": 0.05, "momentum": 0.9}, {}),
    "nesterov": ({"nesterov": True}, {"learning_rate": 0.05, "momentum": 0.9}, {}),
    "l2-cosine": (
        {"schedule": "cosine", "decay_steps": STEPS},
        {"learning_rate": 0.05, "momentum": 0.5, "l2": 0.1},
        {},
    ),
    "sample-weights": ({}, {"learning_rate": 0.05, "l2": 0.01}, {"weighted": True}),
    "minibatch": (
        {"nesterov": True},
        {"learning_rate": 0.05, "momentum": 0.9, "l2": 0.01},
        {"batch_size": 7, "weighted": True},
    ),
}
FAST_CASES = ("sgd", "tol")


def problem(seed: int = 0):
    """(x f64[M, N], y int32[M], sample weights f64[M]) and a non-zero w₀ (so c·w₀ and λc·w₀ matter)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(M, N))
    y = (x[:, :5].sum(axis=1) + rng.normal(size=M) > 0).astype(np.int32)
    w0 = {"w": jnp.asarray(0.01 * rng.normal(size=N)), "b": jnp.asarray(0.1)}
    return jnp.asarray(x), jnp.asarray(y), jnp.asarray(rng.uniform(0.2, 3.0, M)), w0


def fit_both(case: str):
    """(weight-space FitResult, span FitResult, [(w, b) after each chunk] of each), float64."""
    spec_changes, hp, kw = CASES[case]
    x, y, weights, w0 = problem()
    spec, hparams = optim.spec(**spec_changes), optim.make_hparams(dtype=jnp.float64, **hp)
    kwargs = {"batch_size": kw.get("batch_size"), "weight_N": weights if kw.get("weighted") else None}
    state = train.init_state(w0, hparams, jax.random.key(3), optim=spec)
    seen = {"weights": [], "span": []}

    def recorder(name):
        return lambda s, costs: seen[name].append(jax.device_get(s.params))

    common = dict(num_steps=STEPS, optim=spec, chunk_size=EVERY, **kwargs)
    weights_run = train.fit(state, x, y, hparams, on_chunk=[recorder("weights")], **common)
    span_state = span.to_span(state, hparams, m=M, optim=spec)
    span_run = span.fit(span_state, x, y, hparams, on_chunk=[recorder("span")], **common)
    return weights_run, span_run, seen


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in FAST_CASES else pytest.mark.slow) for c in CASES])
def test_span_iterates_are_the_weight_space_iterates_at_every_logged_iteration(case):
    """float64: the two parametrizations run the same operations in another order (K·a for X(Xᵀa), the
    gradient's coefficients for Xᵀr): rounding of 1e-16 per operation, measured at most 6e-16 in the costs
    and the weights over these 30 iterations; 1e-12 leaves a margin of 1,000x on any CPU or GPU (all
    products run at HIGHEST precision, float64 on every backend)."""
    with precision_scope("float64"):
        weights_run, span_run, seen = fit_both(case)
    assert span_run.costs.dtype == np.float64 and span_run.costs.shape == weights_run.costs.shape
    np.testing.assert_allclose(span_run.costs, weights_run.costs, rtol=0, atol=1e-12)
    assert int(span_run.state.step) == int(weights_run.state.step) and span_run.converged == weights_run.converged
    assert len(seen["span"]) == len(seen["weights"]) >= 1
    for got, want in zip(seen["span"], seen["weights"], strict=True):  # the weights at every chunk boundary
        np.testing.assert_allclose(got["w"], want["w"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["b"], want["b"], rtol=0, atol=1e-12)
    if case == "tol":
        assert span_run.converged and 0 < int(span_run.state.step) < STEPS  # stopped by ‖∇J‖ < tol, as weights


def test_the_span_state_is_float64_and_its_weights_are_the_run_dtype():
    """A float32 run keeps float32 weights and costs; only the span's own arithmetic is float64."""
    x, y, _, w0 = problem()
    x, w0 = x.astype(jnp.float32), jax.tree.map(lambda a: a.astype(jnp.float32), w0)
    hparams = optim.make_hparams(0.05)
    state = span.to_span(train.init_state(w0, hparams, jax.random.key(0)), hparams, m=M)
    result = span.fit(state, x, y, hparams, num_steps=5)
    assert result.costs.dtype == np.float32 and result.state.params["w"].dtype == jnp.float32
    assert result.state.opt_state.coef["a"].dtype == jnp.float64 and span.is_span(result.state)


def test_a_new_learning_rate_or_l2_reuses_the_compiled_span_programs(caplog):
    """K's program, the loop's and the conversion's all take the hyperparameters traced."""
    x, y, _, w0 = problem()
    x, w0 = x.astype(jnp.float32), jax.tree.map(lambda a: a.astype(jnp.float32), w0)

    def fit(hparams):
        state = span.to_span(train.init_state(w0, hparams, jax.random.key(0)), hparams, m=M)
        return span.fit(state, x, y, hparams, num_steps=5)

    fit(optim.make_hparams(0.05))
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        fit(optim.make_hparams(0.2, l2=0.5))
    assert not [r.getMessage() for r in caplog.records if r.getMessage().startswith("Compiling")]


MLP = mlp.MLP(hidden=(4,))


@pytest.mark.parametrize(
    "setting, m, n, optimizer, model, steps, sharded, want",
    [
        ("auto", 209, 12288, "sgd", logistic.LOGISTIC, 2000, False, "span"),  # the course
        ("auto", 209, 12288, "adam", logistic.LOGISTIC, 2000, False, "weights"),  # per-coordinate scaling
        ("auto", 209, 12288, "lbfgs", logistic.LOGISTIC, 2000, False, "weights"),  # its line search is in w
        ("auto", 209, 12288, "sgd", MLP, 2000, False, "weights"),  # the MLP's first layer: not yet
        ("auto", 500, 300, "sgd", logistic.LOGISTIC, 2000, False, "weights"),  # m >= n
        ("auto", 100, 300, "sgd", logistic.LOGISTIC, 2000, False, "weights"),  # m > n/4
        ("auto", 20000, 200000, "sgd", logistic.LOGISTIC, 2000, False, "weights"),  # K's float64 > 2 GiB
        ("auto", 2000, 12288, "sgd", logistic.LOGISTIC, 500, False, "weights"),  # too few steps to repay K
        ("auto", 209, 12288, "sgd", logistic.LOGISTIC, 2000, True, "weights"),  # sharded over devices
        ("weights", 209, 12288, "sgd", logistic.LOGISTIC, 2000, False, "weights"),
        ("span", 500, 300, "sgd", logistic.LOGISTIC, 10, False, "span"),  # forced: exact, if slower
    ],
)
def test_auto_picks_the_span_only_where_it_is_exact_and_pays(setting, m, n, optimizer, model, steps, sharded, want):
    kwargs = dict(m=m, n=n, optimizer=optimizer, model=model, num_steps=steps, sharded=sharded)
    name, why = span.choose(setting, **kwargs)
    assert name == want, why
    assert why


@pytest.mark.parametrize(
    "optimizer, model, sharded, says",
    [("adam", logistic.LOGISTIC, False, "optim.name=adam"), ("sgd", logistic.LOGISTIC, True, "one device")],
)
def test_forcing_the_span_where_it_does_not_hold_is_refused(optimizer, model, sharded, says):
    with pytest.raises(ConfigError, match=f"train.parametrization=span: .*{says}.*Use train.parametrization=auto"):
        span.choose("span", m=9, n=99, optimizer=optimizer, model=model, num_steps=10, sharded=sharded)


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"train": {"parametrization": "coefficients"}}, "one of ['auto', 'weights', 'span']"),
        ({"train": {"parametrization": "span"}, "optim": {"name": "adam"}}, "auto or weights with optim=adam"),
        (
            {"train": {"parametrization": "span"}, "model": {"name": "mlp", "hidden": [3], "init": "he"}},
            "auto or weights with model=mlp",
        ),
    ],
)
def test_config_refuses_a_parametrization_that_cannot_hold(changes, says):
    with pytest.raises(ConfigError, match="train.parametrization=") as info:
        Config.from_dict(changes)
    assert says in str(info.value)


def synthetic_config(**train_keys) -> Config:
    return Config.from_dict(
        {
            "data": {"name": "synthetic", "num_examples": M, "num_test": 16, "num_features": N},
            "optim": {"learning_rate": 0.05, "momentum": 0.9},
            "train": {"num_iterations": 12, "log_every": 1, "print_cost": False, "progress": False, **train_keys},
        }
    )


@pytest.mark.slow  # three runs
def test_stopped_and_resumed_span_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, monkeypatch):
    """The checkpoint holds the span's coefficients and optax's momentum of them: a run stopped after its
    checkpoint at iteration 6 and resumed ends on the uninterrupted run's bits."""
    config = synthetic_config(parametrization="span", checkpoint_every=3, batch_size=16)
    seen = {"whole": [], "stopped": [], "resumed": []}
    record_and_stop_hooks(monkeypatch, None, seen["whole"])
    whole = experiment.train_and_evaluate(config, tmp_path / "whole")
    record_and_stop_hooks(monkeypatch, 6, seen["stopped"])
    with pytest.raises(Stopped):
        experiment.train_and_evaluate(config, tmp_path / "run")
    record_and_stop_hooks(monkeypatch, None, seen["resumed"])
    resumed = experiment.train_and_evaluate(
        dataclasses.replace(config, train=dataclasses.replace(config.train, resume=True)), tmp_path / "run"
    )

    assert seen == {"whole": [3, 6, 9, 12], "stopped": [3, 6], "resumed": [9, 12]}
    assert whole["parametrization"] == resumed["parametrization"] == "span"
    got, want = (artifacts.load_params(tmp_path / r / "params.npz") for r in ("run", "whole"))
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    assert resumed["costs"] == whole["costs"] and resumed["test_cost"] == whole["test_cost"]
    with np.load(tmp_path / "run/checkpoints/step_00000012.npz") as a:
        assert "state.opt_state.coef['a']" in a.files and a["state.opt_state.coef['a']"].shape == (M,)


@pytest.mark.slow  # two runs
def test_a_run_records_its_parametrization_and_both_train_alike(tmp_path, caplog):
    """train_and_evaluate in each parametrization (float32): the span's choice is logged and recorded, and
    the costs agree within float32 rounding (the weight-space run rounds w to float32 at each of its 12
    updates, 6e-8 relative each; the span computes in float64): 1e-5 on any CPU or GPU."""
    runs = {}
    for name in ("weights", "span"):
        with caplog.at_level("INFO", logger="lr_jax"):
            runs[name] = experiment.train_and_evaluate(synthetic_config(parametrization=name), tmp_path / name)
        assert f"parametrization {name} (forced" in caplog.text
        assert json.loads((tmp_path / name / "metrics.json").read_text())["parametrization"] == name
    np.testing.assert_allclose(runs["span"]["costs"], runs["weights"]["costs"], rtol=0, atol=1e-5)
    assert runs["span"]["test_accuracy"] == runs["weights"]["test_accuracy"]


@pytest.fixture(scope="module")
def oracle_costs(course_data):
    """The course's NumPy float64 run: its cost every 100 iterations (the course's table)."""
    from lr_jax.reference import logistic as reference

    _, _, costs = reference.model(course_data["train"].features(np.float64).T, course_data["train"].y[None, :])
    return np.asarray(costs)


@pytest.mark.slow  # the course run, 2000 iterations
def test_course_run_in_float32_chooses_the_span_and_prints_the_course_numbers(data_dir, oracle_costs, tmp_path):
    """The default config (float32) trains in the span and prints every cost of the course's table as the
    NumPy oracle does ("%f"). The span's float64 arithmetic follows the oracle to 1e-15; what is left is the
    float32 run's inputs (the features x/255 and the learning rate rounded to float32, 3e-8 relative) and
    the cost rounded to float32 (7.5e-9 at 0.14): measured 5.5e-8, held to the issue's 2e-6 on any CPU or
    GPU; the nearest printed cost is 5.8e-9 from its rounding boundary, so the strings are also compared."""
    config = Config.from_dict({"data": {"dir": str(data_dir), "download": False}, "train": {"progress": False}})
    metrics = experiment.train_and_evaluate(config, tmp_path)
    assert metrics["parametrization"] == "span"
    np.testing.assert_allclose(metrics["costs"], oracle_costs, rtol=0, atol=2e-6)
    assert [f"{c:f}" for c in metrics["costs"]] == [f"{c:f}" for c in oracle_costs]
    assert (metrics["train_accuracy"], metrics["test_accuracy"]) == (207 / 209, 35 / 50)


def doc_commands() -> list[str]:
    """The shell commands of docs/span.md's bash block, one per line."""
    text = (REPO_ROOT / "docs" / "span.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.slow  # three Python processes, two short runs
def test_the_commands_of_docs_span_work_as_written(tmp_path):
    """Run verbatim in a folder that holds the repository's scripts/ and conf/ (so runs/ lands there)."""
    for name in ("scripts", "conf"):
        (tmp_path / name).symlink_to(REPO_ROOT / name)
    outputs = []
    for command in doc_commands():
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
        outputs.append(proc.stdout + proc.stderr)
    assert "parametrization span (m=200 < n=4096)" in outputs[0]
    assert "parametrization weights (forced)" in outputs[1]
    assert outputs[2].strip() == "['span', 'weights']"
