"""The trackers of `logger=...`, read back with each tool's own reader and compared with metrics.json: a
2-job Hydra multirun with logger=many (CSV, TensorBoard, MLflow), and a failing run marked FAILED."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytest.importorskip("tensorboardX", reason="pip install -e '.[tensorboard]'")
pytest.importorskip("mlflow", reason="pip install -e '.[mlflow]'")


@pytest.fixture(autouse=True)
def mlflow_file_store(monkeypatch):
    """MLflow 3 reads a file store only with this opt-in (lr_jax.runfolder.loggers sets it for the runs it writes)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")


@pytest.fixture(scope="module")
def logged_sweep(tmp_path_factory, data_dir):
    """A 2-job multirun (α = 0.005, 0.001) with a validation split, reported to every tracker."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("logged")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "train.py"),
            "-m",
            "optim.learning_rate=0.005,0.001",
            "logger=many",
            f"logger.tracking_uri={(root / 'mlruns').as_uri()}",
            f"data.dir={data_dir}",
            "data.val_fraction=0.2",
            "train.num_iterations=200",
            "train.log_every=50",
            "train.checkpoint_every=0",
            f"hydra.sweep.dir={root / 'sweep'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    metrics = [json.loads((root / "sweep" / str(i) / "metrics.json").read_text()) for i in (0, 1)]
    return root, metrics


@pytest.mark.slow
def test_mlflow_holds_one_experiment_named_after_the_sweep_with_metrics_json_numbers(logged_sweep):
    from mlflow.tracking import MlflowClient

    root, metrics = logged_sweep
    client = MlflowClient((root / "mlruns").as_uri())
    experiment = client.get_experiment_by_name(str(root / "sweep"))  # outside the working directory: absolute
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["0", "1"]
    for job, m in zip(("0", "1"), metrics):
        run = runs[job]
        assert run.info.status == "FINISHED"
        assert float(run.data.params["optim.learning_rate"]) == m["config"]["optim"]["learning_rate"]
        for name in ("val_cost", "val_accuracy", "val_log_loss"):  # float64 in MLflow: exact
            history = sorted(client.get_metric_history(run.info.run_id, name), key=lambda h: h.step)
            assert [h.step for h in history] == m["val_curve"]["iteration"] == [0, 50, 100, 150, 200]
            assert [h.value for h in history] == m["val_curve"][name]
        history = sorted(client.get_metric_history(run.info.run_id, "train_cost"), key=lambda h: h.step)
        assert [h.step for h in history] == m["cost_iterations"] and [h.value for h in history] == m["costs"]
        for name in ("val_accuracy", "test_accuracy", "train_cost", "val_log_loss"):
            assert run.data.metrics[f"final/{name}"] == m[name]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"learning_curve.png", "roc_curve.png", "metrics.json", "costs.csv"} <= artifacts


@pytest.mark.slow
def test_tensorboard_events_of_each_job_under_the_sweep_folder(logged_sweep):
    """TensorBoard's own reader; event scalars are float32, so each equals metrics.json's value as float32."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root, metrics = logged_sweep
    for job, m in zip(("0", "1"), metrics):
        events = EventAccumulator(str(root / "sweep" / job / "tensorboard"), size_guidance={"images": 0})
        events.Reload()
        tags = events.Tags()
        assert {"learning_curve", "roc_curve", "mistakes", "weights"} <= set(tags["images"])
        for name in ("val_cost", "val_accuracy"):
            scalars = events.Scalars(name)
            assert [s.step for s in scalars] == m["val_curve"]["iteration"]
            np.testing.assert_array_equal([s.value for s in scalars], np.float32(m["val_curve"][name]))
        assert [s.step for s in events.Scalars("train_cost")] == m["cost_iterations"]
        np.testing.assert_array_equal([s.value for s in events.Scalars("train_cost")], np.float32(m["costs"]))
        assert events.Scalars("final/test_accuracy")[0].value == np.float32(m["test_accuracy"])
        (config_text,) = events.Tensors("config/text_summary")
        assert "optim.learning_rate" in config_text.tensor_proto.string_val[0].decode()


@pytest.mark.slow
def test_csv_log_matches_metrics_json(logged_sweep):
    root, metrics = logged_sweep
    with open(root / "sweep" / "0" / "logs" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    val = [(int(r["step"]), float(r["value"])) for r in rows if r["name"] == "val_accuracy"]
    assert val == list(zip(metrics[0]["val_curve"]["iteration"], metrics[0]["val_curve"]["val_accuracy"]))
    final = {r["name"]: float(r["value"]) for r in rows if r["name"].startswith("final/")}
    assert final["final/test_accuracy"] == metrics[0]["test_accuracy"]
    hparams = json.loads((root / "sweep" / "0" / "logs" / "hparams.json").read_text())
    assert hparams["optim.learning_rate"] == 0.005 and hparams["data.val_fraction"] == 0.2


@pytest.mark.slow
def test_a_failing_run_closes_its_mlflow_run_as_failed(tmp_path, data_dir, run_cli):
    """A diverging run (raw pixels at α = 1e29) exits with code 2; its MLflow run ends FAILED, not RUNNING."""
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    code, _, err = run_cli(
        "train",
        "logger=mlflow",
        f"logger.tracking_uri={uri}",
        "logger.experiment_name=failing",
        f"data.dir={data_dir}",
        "data.scale=false",
        "optim.learning_rate=1e29",
        "train.num_iterations=10",
        "train.checkpoint_every=1",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert code == 2 and "training diverged" in err
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("failing").experiment_id])
    assert run.info.status == "FAILED" and run.info.run_name == "run"
    # the cost of iteration 0 was reported; the guard stopped the run before any non-finite one was
    assert [h.step for h in client.get_metric_history(run.info.run_id, "train_cost")] == [0]
