"""`scripts/train.py` end to end, in a subprocess, on the real data, into a temporary run folder."""

import csv
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from lr_jax import artifacts
from lr_jax.models import logistic as model
from tests.conftest import REPO_ROOT

ARTIFACTS = ("metrics.json", "costs.csv", "learning_curve.png", "params.npz")


def run_cli(*overrides, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_course_run(data_dir, tmp_path_factory):
    """The course experiment as a user runs it: `python scripts/train.py` (plus the run folder)."""
    run_dir = tmp_path_factory.mktemp("run")
    proc = run_cli(f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    return run_dir, proc.stdout


@pytest.mark.slow
def test_prints_the_course_costs_and_accuracies(cli_course_run):
    _, stdout = cli_course_run
    lines = stdout.splitlines()
    cost_lines = [line for line in lines if line.startswith("Cost after iteration")]
    assert len(cost_lines) == 20
    assert cost_lines[0] == "Cost after iteration 0: 0.693147"
    assert cost_lines[-1] == "Cost after iteration 1900: 0.140872"
    assert "train accuracy: 99.04 %" in lines and "test accuracy: 70.00 %" in lines


@pytest.mark.slow
def test_writes_every_artifact(cli_course_run):
    run_dir, _ = cli_course_run
    for name in ARTIFACTS:
        assert (run_dir / name).stat().st_size > 0, name
    assert not list(run_dir.glob(".*.tmp"))  # no temporary file of an atomic write is left
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_accuracy"] == 207 / 209 and metrics["test_accuracy"] == 35 / 50
    assert metrics["backend"] == jax.default_backend() and metrics["jax_version"]  # the run's backend
    assert metrics["run_time_s"] > metrics["train_time_s"] > 0
    with open(run_dir / "costs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(0, 2000, 100))
    np.testing.assert_allclose([float(r["cost"]) for r in rows], metrics["costs"], rtol=0, atol=0)
    with Image.open(run_dir / "learning_curve.png") as png:
        assert png.format == "PNG" and png.size[0] > 200


@pytest.mark.slow
def test_params_reload_and_predict_the_same_accuracies(cli_course_run, course_data):
    run_dir, _ = cli_course_run
    params = artifacts.load_params(run_dir / "params.npz")
    assert params["w"].shape == (12288,) and params["b"].shape == ()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("train", "test"):
        preds = model.predict({k: jnp.asarray(v) for k, v in params.items()}, course_data[split].features())
        assert np.mean(np.asarray(preds) == course_data[split].y) == metrics[f"{split}_accuracy"]


@pytest.mark.slow
def test_overrides_and_float64(data_dir, tmp_path):
    proc = run_cli(
        f"hydra.run.dir={tmp_path}",
        "optim.learning_rate=0.01",
        "train.num_iterations=150",
        "train.precision=float64",
        "train.log_every=50",
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["cost_iterations"] == [0, 50, 100]
    assert metrics["config"]["optim"]["learning_rate"] == 0.01
    assert artifacts.load_params(tmp_path / "params.npz")["w"].dtype == np.float64


@pytest.mark.slow
def test_an_explicit_data_dir_without_the_files_is_an_error(data_dir, tmp_path):
    """data.dir names no folder, LR_JAX_DATA_DIR does: explicit beats found, so the run refuses rather than
    train on other data than asked for. (Values the config refuses: config/test_schema.py's table; how the CLI
    reports them: test_errors_cli.py.)"""
    proc = run_cli(f"hydra.run.dir={tmp_path}", "data.dir=/nonexistent", "train.num_iterations=5")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: data.dir=/nonexistent does not hold") and "Traceback" not in proc.stderr
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "params.npz").exists()
