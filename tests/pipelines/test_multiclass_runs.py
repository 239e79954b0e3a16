"""K-class runs through the whole pipeline, in process: every optimizer and schedule, minibatches, class
weights, the MLP, validation with early stopping, a stopped and resumed run (bit-identical) and the vmapped
sweep (the CLI multirun on data=digits: test_multiclass_runs_cli.py).

The data: a synthetic 3-class problem (uint8 pixels, a linear teacher) small enough that a run compiles and
trains in seconds. A run "learns" when its final training cost is below the cost of its initial parameters
(log 3 for zeros); the numbers asserted are shapes, orders and exact equalities, which hold on any CPU or GPU.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from lr_jax import artifacts
from lr_jax.config import Config
from lr_jax.data import synthetic
from lr_jax.pipelines import experiment, sizes, stages, sweep
from lr_jax.runfolder import summary

K = 3
DATA = {"name": "synthetic", "num_examples": 60, "num_test": 30, "num_features": 6, "num_classes": K}
QUIET = {"log_every": 5, "checkpoint_every": 0, "print_cost": False, "progress": False}
CLASSES = [f"class{k}" for k in range(K)]


def config_of(**sections) -> Config:
    train = {"num_iterations": 20, **QUIET, **sections.pop("train", {})}
    return Config.from_dict({"data": {**DATA, **sections.pop("data", {})}, "train": train, **sections})


def assert_k_class_run(folder, metrics, n_features=6, figures=True, k=K):
    params = artifacts.load_params(folder / "params.npz")
    assert {n: v.shape for n, v in params.items() if n in ("w", "b")} in ({"w": (n_features, k), "b": (k,)}, {})
    costs = metrics["costs"]
    assert all(map(math.isfinite, costs)) and metrics["train_objective"] < costs[0]
    assert np.asarray(metrics["test_confusion_matrix"]).shape == (k, k)
    assert sum(map(sum, metrics["test_confusion_matrix"])) == DATA["num_test"]
    classes = CLASSES if k == K else list(synthetic.class_names(k))
    assert list(metrics["test_per_class"]) == classes
    assert json.loads((folder / "config.json").read_text())["classes"] == classes
    assert (folder / "confusion_matrix.png").is_file() == figures


RUNS = {
    "softmax-two-classes": {
        "data": {"num_classes": 2},
        "model": {"output": "softmax"},
        "optim": {"learning_rate": 0.5},
    },
    "momentum-cosine": {
        "optim": {"name": "sgd", "learning_rate": 0.5, "momentum": 0.9, "nesterov": True, "schedule": "cosine"}
    },
    "adam-exponential": {"optim": {"name": "adam", "learning_rate": 0.1, "schedule": "exponential", "decay_steps": 5}},
    "lbfgs-l2": {"optim": {"name": "lbfgs"}, "model": {"l2": 0.01}},
    "minibatch-balanced": {
        "optim": {"name": "sgd", "learning_rate": 0.3},
        "train": {"batch_size": 16},
        "model": {"class_weight": "balanced"},
    },
    "mlp": {"model": {"name": "mlp", "hidden": [4], "init": "he"}, "optim": {"name": "adam", "learning_rate": 0.05}},
}


@pytest.mark.slow  # one compile per run: a few seconds each on 2 shared cores
@pytest.mark.parametrize("kind", sorted(RUNS))
def test_every_optimizer_schedule_and_model_trains_k_classes(tmp_path, kind):
    metrics = experiment.train_and_evaluate(config_of(**RUNS[kind]), tmp_path)
    assert_k_class_run(tmp_path, metrics, k=RUNS[kind].get("data", {}).get("num_classes", K))
    assert metrics["parametrization"] == "weights"


@pytest.mark.slow  # a compile
def test_a_default_run_learns_and_records_k_classes(tmp_path):
    metrics = experiment.train_and_evaluate(config_of(optim={"learning_rate": 0.5}), tmp_path)
    assert_k_class_run(tmp_path, metrics)
    assert metrics["costs"][0] == pytest.approx(math.log(K), rel=1e-6)  # zeros: P = 1/K for every class
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["test_f1_micro"] == metrics["test_accuracy"]


def test_balanced_weights_count_k_classes(x64):
    y = np.array([0, 0, 0, 1, 2, 2])
    weight = np.asarray(stages.sample_weights("balanced", y, np.float64, 3))
    np.testing.assert_allclose(weight, 6 / (3 * np.array([3, 3, 3, 1, 2, 2])), rtol=1e-15)
    assert weight.sum() == pytest.approx(6, rel=1e-15)  # m: scikit-learn's λ = 1/(C·m) still holds


def test_memory_estimate_counts_k_output_units():
    """Weights and their gradient: 2 · (n·K + K) values of 4 bytes (float32)."""
    assert sizes.parts(config_of())["data.num_features (the weights)"] == 2 * (6 * K + K) * 4
    assert sizes.n_features(Config.from_dict({"data": {"name": "digits"}})) == 64


@pytest.mark.slow  # a compile of the run and one of the validation measurement
def test_validation_and_early_stopping_measure_k_class_metrics(tmp_path):
    config = config_of(
        data={"val_fraction": 0.25},
        optim={"learning_rate": 0.5},
        train={"early_stopping": True, "early_stopping_warmup": 0, "early_stopping_metric": "val_accuracy"},
        optimized_metric="val_f1",
    )
    metrics = experiment.train_and_evaluate(config, tmp_path)
    assert list(metrics["val_per_class"]) == CLASSES and "val_accuracy" in metrics["val_curve"]
    assert metrics["early_stopping"]["metric"] == "val_accuracy"
    assert metrics["optimized_metric"]["name"] == "val_f1"


TRAINING_HOOKS = stages.training_hooks


class Stopped(Exception):
    pass


@pytest.mark.slow  # three runs
def test_stopped_and_resumed_k_class_run_is_bit_identical(tmp_path, monkeypatch):
    """Minibatches with momentum, stopped after its checkpoint at iteration 6 of 12 and resumed: the same
    parameters and costs as the run never stopped, to the bit."""
    config = config_of(
        optim={"name": "sgd", "learning_rate": 0.2, "momentum": 0.9},
        train={"num_iterations": 12, "checkpoint_every": 3, "log_every": 1, "batch_size": 16},
    )

    def stop_at(step):
        def hooks(*args, **kwargs):
            on_chunk, chunk = TRAINING_HOOKS(*args, **kwargs)

            def stop(state, costs):
                if step is not None and int(state.step) >= step:
                    raise Stopped

            return [*on_chunk, stop], chunk

        monkeypatch.setattr(stages, "training_hooks", hooks)

    stop_at(None)
    whole = experiment.train_and_evaluate(config, tmp_path / "whole")
    stop_at(6)
    with pytest.raises(Stopped):
        experiment.train_and_evaluate(config, tmp_path / "run")
    stop_at(None)
    resumed_config = dataclasses.replace(config, train=dataclasses.replace(config.train, resume=True))
    resumed = experiment.train_and_evaluate(resumed_config, tmp_path / "run")
    got, want = (artifacts.load_params(tmp_path / r / "params.npz") for r in ("run", "whole"))
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    assert resumed["costs"] == whole["costs"] and resumed["test_per_class"] == whole["test_per_class"]


@pytest.mark.slow  # the grid's compile and its evaluation's
def test_vmapped_sweep_trains_a_grid_of_k_class_models(tmp_path):
    config = config_of(optim={"name": "sgd"}, sweep={"learning_rates": [0.1, 0.5], "seeds": [0, 1]})
    result = sweep.sweep_and_evaluate(config, tmp_path)
    assert len(result["rows"]) == 4
    runs = summary.read_runs(tmp_path)
    for name, metrics in runs.items():
        assert_k_class_run(tmp_path / name, metrics, figures=False)  # sweep.figures=summary: no member figures
    # The member with learning rate 0.5 and seed 0 against its single run: the vmapped program may sum in
    # another order (float32 rounding, about 1e-7 relative per operation, matrix products at "highest"
    # precision on a GPU too, tests/conftest.py), and 20 steps of gradient descent on this convex cost do not
    # amplify it past 1e-5.
    single = experiment.train_and_evaluate(config_of(optim={"name": "sgd", "learning_rate": 0.5}), tmp_path / "one")
    config_0 = lambda m: (m["config"]["optim"]["learning_rate"], m["config"]["train"]["seed"])
    member = next(m for m in runs.values() if config_0(m) == (0.5, 0))
    np.testing.assert_allclose(member["costs"], single["costs"], rtol=1e-5)
