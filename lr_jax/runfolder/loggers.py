"""Experiment trackers a run reports to (config group `logger`): CSV files, TensorBoard, MLflow.

Each tracker gets the same four calls: `log_hparams` (the flattened config) at the start, `log_metrics(step,
values)` every train.log_every iterations (the train cost; the validation metrics, from the
`ValidationTracker`), `log_final(metrics, files)` at the end (every scalar of metrics.json as `final/<name>`,
the figures, metrics.json and costs.csv as artifacts), and `close(failed)`, also when the run fails. Each
backend is imported only when the config chooses it.

Grouping: TensorBoard writes `<run folder>/tensorboard/`, so `tensorboard --logdir <sweep folder>` shows a
multirun's jobs side by side; MLflow names its experiment after the run folder's parent (the sweep folder of a
multirun, `outputs/<date>` of a single run) and the run after the run folder, unless `logger.experiment_name`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import socket
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from lr_jax.config import LoggerConfig
from lr_jax.errors import ConfigError
from lr_jax.runfolder.summary import flatten

FIGURES = ("learning_curve.png", "roc_curve.png", "mistakes.png", "weights.png", "confusion_matrix.png")
RECORDS = ("metrics.json", "costs.csv")


class Tracker(Protocol):
    """What `RunLoggers` calls on each tracker (`CsvLogger`, `TensorBoardLogger`, `MlflowLogger`)."""

    def log_hparams(self, hparams: Mapping[str, Any]) -> None: ...
    def log_metrics(self, step: int, values: Mapping[str, float]) -> None: ...
    def log_final(self, step: int, metrics: Mapping[str, Any], files: Sequence[Path]) -> None: ...
    def close(self, failed: bool) -> None: ...


def final_scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
    """metrics.json's `<split>_<metric>` numbers (and the objective), as `final/<name>`; no lists, no flags.
    A K-class run's `<split>_per_class` entries as `final/<split>_<metric>/<class name>`."""
    scalars = {
        f"final/{k}": float(v)
        for k, v in metrics.items()
        if k.startswith(("train_", "val_", "test_"))
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and not k.endswith("_s")
    }
    for key, per_class in metrics.items():
        if key.startswith(("train_", "val_", "test_")) and key.endswith("_per_class") and isinstance(per_class, dict):
            split = key.removesuffix("_per_class")
            for name, row in per_class.items():
                scalars |= {f"final/{split}_{metric}/{metric_safe(name)}": float(v) for metric, v in row.items()}
    return scalars


def metric_safe(name: str) -> str:
    """A class name as part of a metric's name: characters MLflow refuses in one replaced by `_`."""
    return re.sub(r"[^\w.\- ]", "_", str(name))


class CsvLogger:
    """`logs/hparams.json` and `logs/metrics.csv` (step,name,value; flushed as they come) in the run folder."""

    def __init__(self, run_dir: Path):
        self.folder = run_dir / "logs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file = open(self.folder / "metrics.csv", "a", newline="")  # noqa: SIM115 (open for the whole run)
        self.writer = csv.writer(self.file, lineterminator="\n")
        if self.file.tell() == 0:
            self.writer.writerow(["step", "name", "value"])

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        (self.folder / "hparams.json").write_text(json.dumps(dict(hparams), indent=2, sort_keys=True) + "\n")

    def log_metrics(self, step: int, values: Mapping[str, float]) -> None:
        self.writer.writerows((step, name, repr(float(v))) for name, v in values.items())
        self.file.flush()

    def log_final(self, step: int, metrics: Mapping[str, Any], files: Sequence[Path]) -> None:
        self.log_metrics(step, final_scalars(metrics))  # the files are already in the run folder

    def close(self, failed: bool) -> None:
        self.file.close()


class TensorBoardLogger:
    """Event files in `<run folder>/tensorboard/` through tensorboardX: scalars, the config as text, figures."""

    def __init__(self, run_dir: Path):
        from tensorboardX import SummaryWriter  # only when chosen: pip install -e '.[tensorboard]'

        self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        table = "\n".join(["| key | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in hparams.items())])
        self.writer.add_text("config", table, 0)

    def log_metrics(self, step: int, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def log_final(self, step: int, metrics: Mapping[str, Any], files: Sequence[Path]) -> None:
        import numpy as np
        from PIL import Image

        self.log_metrics(step, final_scalars(metrics))
        for path in files:
            if path.suffix == ".png":
                with Image.open(path) as image:
                    self.writer.add_image(path.stem, np.asarray(image.convert("RGB")), step, dataformats="HWC")
        self.writer.flush()

    def close(self, failed: bool) -> None:
        self.writer.close()


def default_tracking_uri() -> str:
    """MLflow's store when `logger.tracking_uri` is null: a SQLite file in the working directory, `mlflow.db`
    (MLflow's advice for local use; its file store is in maintenance mode), beside outputs/ and multirun/."""
    return f"sqlite:///{(Path.cwd() / 'mlflow.db').resolve()}"


class MlflowLogger:
    """One MLflow run through `MlflowClient` (no global active run, so a multirun's next job starts clean)."""

    def __init__(self, run_dir: Path, tracking_uri: str | None, experiment_name: str | None):
        uri = tracking_uri or default_tracking_uri()
        if uri.startswith("file:") or "://" not in uri:  # a file store (read, not advised): MLflow 3 asks an opt-in
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        if urllib.parse.urlsplit(uri).scheme in ("http", "https"):
            _check_server(uri)
            for key, value in HTTP_LIMITS.items():  # MLflow's own: 120 s per request, 7 retries, backoff 2
                os.environ.setdefault(key, value)
        from mlflow.tracking import MlflowClient  # only when chosen: pip install -e '.[mlflow]'

        try:
            self.client = MlflowClient(uri)
            name = experiment_name or _relative(run_dir.resolve().parent)
            self.run_id = self.client.create_run(self._experiment(name), run_name=run_dir.name).info.run_id
        except ImportError:
            raise
        except Exception as e:  # MLflow's errors have no common type: an unknown scheme, a server error, ...
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ConfigError(
                f"logger.tracking_uri={uri}: MLflow cannot start a run there ({type(e).__name__}: {first}). "
                "Check the URI (file:, http:, https:, sqlite:, ...) and the server, or use logger.tracking_uri=null "
                "for a local mlruns/ folder."
            ) from e

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(name)
        except Exception:  # another job of the sweep created it meanwhile
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in hparams.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i : i + 100])

    def log_metrics(self, step: int, values: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for k, v in values.items() if math.isfinite(v)]
        self.client.log_batch(self.run_id, metrics=metrics)

    def log_final(self, step: int, metrics: Mapping[str, Any], files: Sequence[Path]) -> None:
        self.log_metrics(step, final_scalars(metrics))
        for path in files:
            self.client.log_artifact(self.run_id, str(path))

    def close(self, failed: bool) -> None:
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")


# An MLflow server that does not answer fails the run within about a minute (the user's values win): one request
# waits 10 s, is retried twice, 1 s and 2 s apart.
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
CONNECT_TIMEOUT_S = 5.0


def _check_server(uri: str) -> None:
    """Refuse, before training, a tracking server that cannot be connected to within CONNECT_TIMEOUT_S."""
    parts = urllib.parse.urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ConfigError(
            f"logger.tracking_uri={uri}: no MLflow server answers at {parts.hostname}:{port} "
            f"({e.strerror or type(e).__name__}; waited at most {CONNECT_TIMEOUT_S:g} s). Start the server, "
            "or use logger.tracking_uri=null for a local mlruns/ folder."
        ) from e


def _relative(path: Path) -> str:
    """`path` relative to the working directory when it is below it (multirun/<date>/<time>), else absolute."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class RunLoggers:
    """The chosen trackers as one: each call goes to every one; `with` closes them all, marking a failed run."""

    def __init__(self, loggers: Sequence[Tracker] = ()):
        self.loggers = list(loggers)

    def __bool__(self) -> bool:
        return bool(self.loggers)

    def log_hparams(self, config: Mapping[str, Any]) -> None:
        hparams = flatten(config)
        for logger in self.loggers:
            logger.log_hparams(hparams)

    def log_metrics(self, step: int, values: Mapping[str, float]) -> None:
        for logger in self.loggers:
            logger.log_metrics(step, values)

    def log_final(self, run_dir: Path, metrics: Mapping[str, Any]) -> None:
        files = [run_dir / name for name in (*FIGURES, *RECORDS) if (run_dir / name).is_file()]
        for logger in self.loggers:
            logger.log_final(int(metrics["n_iter"]), metrics, files)

    def __enter__(self) -> RunLoggers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for logger in self.loggers:
            with contextlib.suppress(Exception):  # closing one tracker never hides the run's own error
                logger.close(failed=exc_type is not None)


def build(config: LoggerConfig, run_dir: str | Path, *, enabled: bool = True) -> RunLoggers:
    """The trackers `config` turns on, for the run in `run_dir` (none when not `enabled`: another process writes)."""
    run_dir = Path(run_dir)
    if not enabled:
        return RunLoggers()
    chosen: list[Tracker] = []
    try:
        if config.csv:
            chosen.append(CsvLogger(run_dir))
        if config.tensorboard:
            chosen.append(TensorBoardLogger(run_dir))
        if config.mlflow:
            chosen.append(MlflowLogger(run_dir, config.tracking_uri, config.experiment_name))
    except ImportError as e:
        RunLoggers(chosen).__exit__(ImportError, e, None)
        extra = "tensorboard" if "tensorboard" in str(e) else "mlflow"
        raise ConfigError(
            f"logger: {e.name or e} is not installed. Install it with pip install -e '.[{extra}]', or choose "
            "another logger (logger=none, logger=csv)."
        ) from e
    return RunLoggers(chosen)
