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


@pytest.mark.slow  # starts a drawing process (twice, one killed)
@pytest.mark.parametrize("num_classes", [2, 3])
def test_the_drawing_process_writes_the_same_figures_as_drawing_here(tmp_path, monkeypatch, caplog, num_classes):
    """The line plots (learning curve, ROC, the K-class confusion matrix) drawn by the drawing process equal,
    byte for byte, those drawn in this process's worker thread (same matplotlib, data and encoder); so do
    those of a run whose drawing process is killed after training, with one warning."""
    import contextlib
    import io
    import logging
    import os

    from lr_jax import Config, background
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.experiment import train_and_evaluate

    data = {"name": "synthetic", "num_examples": 60, "num_test": 30, "num_features": 12, "num_classes": num_classes}
    train = {"num_iterations": 30, "log_every": 10, "progress": False, "checkpoint_every": 0}
    config = Config.from_dict({"data": data, "train": train})
    fit = stages.fit

    def fit_then_kill_the_drawing_process(*args, **kwargs):
        result = fit(*args, **kwargs)  # the empty figures are built in the drawing process by now
        os.kill(background.call_in_drawing_process(os.getpid), 9)
        return result

    pngs = {}
    for where in ("process", "killed", "here"):
        background.stop_drawing()
        if where == "killed":
            monkeypatch.setattr(stages, "fit", fit_then_kill_the_drawing_process)
        if where == "here":
            monkeypatch.setattr(stages, "fit", fit)
            monkeypatch.setenv(background.DRAWING_ENV, "0")
        with contextlib.redirect_stdout(io.StringIO()), caplog.at_level(logging.WARNING, "lr_jax.background"):
            train_and_evaluate(config, tmp_path / where)
        assert ("the drawing process stopped" in caplog.text) == (where == "killed")
        caplog.clear()
        pngs[where] = {p.name: p.read_bytes() for p in sorted((tmp_path / where).glob("*.png"))}
    background.stop_drawing()
    expected = {"learning_curve.png", "roc_curve.png"} | ({"confusion_matrix.png"} if num_classes > 2 else set())
    assert set(pngs["process"]) == expected
    assert pngs["process"] == pngs["killed"] == pngs["here"]
