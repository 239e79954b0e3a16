"""The trackers' extras give their viewers (`mlflow ui`, `tensorboard`), and MLflow's default store is SQLite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent  # where pip put the console scripts of this environment


VIEWERS = [["mlflow", "ui", "--help"], ["mlflow", "server", "--help"], ["tensorboard", "--help"]]


def names(extra: str) -> set[str]:
    """The distributions an extra of pyproject.toml names."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {re.split(r"[<>=\[ ]", req, maxsplit=1)[0] for req in extras[extra]}


def test_each_trackers_extra_installs_its_viewer():
    assert "mlflow" in names("mlflow")  # the server (`mlflow ui`); mlflow-skinny has no flask
    assert "tensorboard" in names("tensorboard")  # tensorboardX only writes the files
    assert names("mlflow") | names("tensorboard") <= names("test")  # so the test below checks what users get


@pytest.mark.slow  # imports MLflow's server and TensorBoard (seconds each)
@pytest.mark.parametrize("command", VIEWERS, ids=" ".join)
def test_the_documented_viewer_commands_start(command):
    executable = shutil.which(command[0], path=str(BIN))
    assert executable, f"{command[0]} not in {BIN}: pip install -e '.[{command[0]}]'"
    done = subprocess.run([executable, *command[1:]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--port" in done.stdout  # the viewer's own options, not a stub


@pytest.mark.slow  # MLflow creates its database's tables (seconds)
def test_mlflow_defaults_to_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from lr_jax.runfolder.loggers import MlflowLogger

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    logger = MlflowLogger(tmp_path / "outputs" / "run", tracking_uri=None, experiment_name=None)
    logger.log_metrics(0, {"train_cost": 0.5})
    logger.close(failed=False)

    assert (tmp_path / "mlflow.db").is_file() and not (tmp_path / "mlruns" / "0").exists()
    run = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(logger.run_id)
    assert run.data.metrics == {"train_cost": 0.5} and run.info.status == "FINISHED"
