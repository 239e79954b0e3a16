"""What a run records about itself: the metric a sweep selects it by, and what reproduces it."""

from __future__ import annotations

import pytest

from lr_jax import runtime
from lr_jax.runfolder import report
from tests.conftest import REPO_ROOT

SCORES = {"train": {"accuracy": 0.99, "log_loss": 0.1}, "test": {"accuracy": 0.7, "log_loss": 0.7}}


@pytest.mark.parametrize(
    "configured, splits, name, value, uses_test_set, reason",
    [
        ("val_accuracy", ("train", "val", "test"), "val_accuracy", 0.8, False, None),
        ("val_log_loss", ("train", "val", "test"), "val_log_loss", 0.4, False, None),
        ("val_accuracy", ("train", "test"), "test_accuracy", 0.7, True, "no validation split"),
        ("test_log_loss", ("train", "val", "test"), "test_log_loss", 0.7, True, "names a test metric"),
        ("train_accuracy", ("train", "test"), "train_accuracy", 0.99, False, None),
    ],
)
def test_selection_record_names_the_metric_used_and_says_when_it_is_the_test_sets(
    configured, splits, name, value, uses_test_set, reason
):
    scores = {**SCORES, "val": {"accuracy": 0.8, "log_loss": 0.4}}
    record = report.selection_record(configured, {s: scores[s] for s in splits})
    assert (record["name"], record["value"], record["uses_test_set"]) == (name, value, uses_test_set)
    assert record["direction"] == ("min" if name.endswith("log_loss") else "max")
    assert record["configured"] == configured
    assert (record["reason"] is None) if reason is None else (reason in record["reason"])


def test_environment_records_git_state_command_line_and_versions(monkeypatch):
    monkeypatch.setattr("sys.argv", ["scripts/train.py", "optim.learning_rate=0.01"])
    env = runtime.environment()
    assert env["argv"] == ["scripts/train.py", "optim.learning_rate=0.01"]
    assert set(env["versions"]) == {"lr_jax", "jax", "jaxlib", "optax", "numpy", "hydra-core"}
    import jax

    assert env["versions"]["jax"] == jax.__version__
    git = env["git"]
    if not (REPO_ROOT / ".git").exists():  # an unpacked copy of the source: no git state to record
        assert git is None
    else:  # a checkout (CI clones one)
        assert len(git["commit"]) == 40 and int(git["commit"], 16) >= 0 and isinstance(git["dirty"], bool)
