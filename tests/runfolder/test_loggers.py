"""lr_jax.runfolder.loggers: each backend imported only when chosen, the CSV logger's files, a missing backend named."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from lr_jax.config import LoggerConfig
from lr_jax.errors import ConfigError
from lr_jax.runfolder import loggers
from tests.conftest import REPO_ROOT


def test_no_backend_is_imported_unless_chosen(tmp_path):
    probe = (
        "import sys; from lr_jax.runfolder import loggers; from lr_jax.config import LoggerConfig; "
        f"loggers.build(LoggerConfig(csv=True), {str(tmp_path)!r}).__exit__(None, None, None); "
        "print([m for m in ('mlflow', 'tensorboardX', 'tensorboard') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_csv_logger_writes_hparams_steps_and_final_metrics(tmp_path):
    with loggers.build(LoggerConfig(csv=True), tmp_path) as tracked:
        tracked.log_hparams({"optim": {"learning_rate": 0.005}, "train": {"seed": 0}})
        tracked.log_metrics(0, {"train_cost": 0.6931471805599453})
        tracked.log_metrics(100, {"train_cost": 0.5, "val_accuracy": 0.75})
        tracked.log_final(tmp_path, {"n_iter": 200, "test_accuracy": 0.7, "diverged": False, "costs": [1.0]})
    assert json.loads((tmp_path / "logs" / "hparams.json").read_text()) == {
        "optim.learning_rate": 0.005,
        "train.seed": 0,
    }
    with open(tmp_path / "logs" / "metrics.csv") as f:
        rows = [(int(r["step"]), r["name"], float(r["value"])) for r in csv.DictReader(f)]
    assert rows == [
        (0, "train_cost", 0.6931471805599453),
        (100, "train_cost", 0.5),
        (100, "val_accuracy", 0.75),
        (200, "final/test_accuracy", 0.7),
    ]


def test_a_missing_backend_names_the_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX -> ImportError
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[tensorboard\]'"):
        loggers.build(LoggerConfig(csv=True, tensorboard=True), tmp_path)


def test_final_scalars_are_the_split_metrics_only():
    metrics = {"test_accuracy": 0.7, "val_cost": 0.5, "train_time_s": 1.0, "n_iter": 3, "test_confusion_matrix": [[1]]}
    assert loggers.final_scalars(metrics) == {"final/test_accuracy": 0.7, "final/val_cost": 0.5}


def test_final_scalars_of_k_classes_name_each_class():
    per_class = {"cat": {"f1": 0.5, "support": 4}, "dog/puppy": {"f1": 0.25, "support": 2}}
    metrics = {"test_f1": 0.375, "test_per_class": per_class, "test_confusion_matrix": [[1, 2], [3, 4]]}
    assert loggers.final_scalars(metrics) == {
        "final/test_f1": 0.375,
        "final/test_f1/cat": 0.5,
        "final/test_support/cat": 4.0,
        "final/test_f1/dog_puppy": 0.25,  # a character MLflow refuses in a metric's name replaced
        "final/test_support/dog_puppy": 2.0,
    }
