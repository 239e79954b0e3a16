"""Input that used to be accepted without a word: each is now refused (one `error:` line, exit 2, every file as
it was) or used with one warning that says what was done."""

from __future__ import annotations

import json
import logging
import os
import runpy
import socket

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT
from tests.data.test_refused_faults import folder_overrides, photos
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides


def _warnings(caplog, logger):
    """The warnings of `logger` (a tiny run's outcome warnings, from lr_jax.runfolder.report, are left out)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == logger]


def _edit_json(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


CONFIG_JSON = {
    "empty-config": (lambda r: r.update(config={}), "the config lacks ['data.image_size', 'data.scale', "),
    "no-image-size": (lambda r: r["config"]["data"].pop("image_size"), "the config lacks ['data.image_size']"),
    "one-class": (lambda r: r.update(classes=["cat"]), "'classes' is ['cat'], not two distinct class names"),
    "same-class-twice": (lambda r: r.update(classes=["cat", "cat"]), "not two distinct class names"),
}


@pytest.mark.parametrize("case", CONFIG_JSON)
def test_predict_refuses_a_config_json_it_would_read_with_defaults(case, finished_run, tmp_path, run_cli, snapshot):
    change, says = CONFIG_JSON[case]
    Image.new("RGB", (8, 8), "gray").save(tmp_path / "x.png")
    _edit_json(finished_run / "config.json", change)
    before = snapshot(finished_run)

    code, out, err = run_cli("predict", f"run={finished_run}", f"images=[{tmp_path / 'x.png'}]")

    assert_one_error(code, err)
    assert err.startswith(f"error: {finished_run / 'config.json'}: cannot read the run's config") and says in err
    assert out == "" and snapshot(finished_run) == before


def test_a_world_writable_compilation_cache_is_warned_about_and_left_out(tiny_data, tmp_path, run_cli, caplog):
    xla = tmp_path / "xla"
    xla.mkdir()
    xla.chmod(0o777)

    with caplog.at_level(logging.WARNING):
        code, _, err = run_cli(
            "train", *tiny_overrides(tiny_data, tmp_path / "run", f"train.compilation_cache_dir={xla}")
        )

    assert code == 0, err
    [warning] = _warnings(caplog, "lr_jax.runtime")
    assert f"train.compilation_cache_dir={xla}: {xla} is writable by every user, and JAX runs" in warning
    assert f"Chmod o-w {xla}`" not in warning and f"`chmod o-w {xla}`" in warning
    assert list(xla.iterdir()) == []  # nothing read from it, nothing written to it
    assert (tmp_path / "run" / "metrics.json").is_file()


def _png_without_extension(root):
    Image.new("RGB", (8, 8), "red").save(root / "cat" / "photo", format="PNG")


def _heic(root):
    (root / "cat" / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic")  # the first bytes of an iPhone photo


UNUSABLE = {
    "png-without-extension": (_png_without_extension, "cat/photo (a PNG file without its extension: rename it"),
    "heic": (_heic, "cat/IMG_0001.HEIC (not a .jpg/.jpeg/.png file: convert it)"),
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_images_the_loader_cannot_use_are_named_not_skipped_silently(case, tmp_path, run_cli, snapshot):
    add, says = UNUSABLE[case]
    root, run = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "run"
    add(root)
    before = snapshot(tmp_path)

    code, _, err = run_cli("train", *folder_overrides(root, run, tmp_path / "cache"))

    assert_one_error(code, err)
    assert "1 of 7 image file(s) cannot be used" in err and says in err, err
    after = snapshot(tmp_path)
    assert {name: after.get(name) for name in before} == before
    assert not run.exists() or snapshot(run) == {}


@pytest.mark.slow  # a whole CLI run; the refusals of unusable images stay in the fast lane
def test_files_that_are_no_images_are_listed_in_the_log(tmp_path, run_cli, caplog):
    root, run = photos(tmp_path / "photos", {"cat": 3, "non-cat": 3}), tmp_path / "run"
    (root / "cat" / "notes.txt").write_text("taken in 2024")

    with caplog.at_level(logging.INFO):
        code, _, err = run_cli("train", *folder_overrides(root, run, tmp_path / "cache"))

    assert code == 0, err
    assert _warnings(caplog, "lr_jax.data.image_folder") == []
    said = f"{root.resolve()}: ignored 1 file(s) that are no images: cat/notes.txt"
    assert said in [r.getMessage() for r in caplog.records]


def test_a_float_tiff_in_0_1_is_read_as_its_8_bit_image_and_another_range_is_refused(tmp_path):
    from lr_jax.data.images import load_image
    from lr_jax.errors import DataError

    x_HW = np.linspace(0, 1, 16 * 16, dtype=np.float32).reshape(16, 16)
    Image.fromarray(x_HW, "F").save(tmp_path / "unit.tif")
    Image.fromarray(np.round(x_HW * 255).astype(np.uint8), "L").save(tmp_path / "eight_bit.png")
    Image.fromarray(x_HW * 3, "F").save(tmp_path / "other.tif")

    np.testing.assert_array_equal(load_image(tmp_path / "unit.tif", 8), load_image(tmp_path / "eight_bit.png", 8))
    with pytest.raises(DataError, match=r"other.tif: a floating-point image with values in \[0, 3\]; only \[0, 1\]"):
        load_image(tmp_path / "other.tif", 8)


@pytest.fixture
def mlflow_env(monkeypatch):
    """MLflow's HTTP settings absent during the test and restored after it (the logger sets its defaults)."""
    from lr_jax.runfolder import loggers

    for key in loggers.HTTP_LIMITS:
        monkeypatch.setenv(key, "recorded")  # so that teardown restores the value before the test, or its absence
        monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def silent_server():
    """(port) of a socket on 127.0.0.1 that accepts connections and never answers: a hung server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.parametrize(
    "case",
    ["scheme", "closed-port", pytest.param("no-answer", marks=pytest.mark.slow)],  # no-answer waits out a timeout
)
def test_an_unusable_mlflow_tracking_uri_is_one_error_within_seconds(
    case, tiny_data, tmp_path, run_cli, snapshot, mlflow_env, silent_server
):
    pytest.importorskip("mlflow", reason="pip install -e '.[mlflow]'")
    uri, says = {
        "scheme": ("ftp://example.org/mlruns", "MLflow cannot start a run there (UnsupportedModelRegistryStore"),
        "closed-port": (f"http://127.0.0.1:{_closed_port()}", "no MLflow server answers at 127.0.0.1:"),
        "no-answer": (f"http://127.0.0.1:{silent_server}", "MLflow cannot start a run there (MlflowException"),
    }[case]
    # the test's own limits for a server that never answers (the defaults, 10 s x 3 tries, would be slow here)
    mlflow_env.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    mlflow_env.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    before = snapshot(tiny_data)

    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, tmp_path / "run", "logger=mlflow", f"logger.tracking_uri={uri}")
    )

    assert_one_error(code, err)
    assert err.startswith(f"error: logger.tracking_uri={uri}: ") and says in err, err
    assert snapshot(tiny_data) == before and not (tmp_path / "run" / "params.npz").exists()


@pytest.mark.slow  # imports mlflow
def test_mlflow_http_limits_are_set_unless_the_user_chose_them(mlflow_env):
    pytest.importorskip("mlflow", reason="pip install -e '.[mlflow]'")
    from lr_jax.runfolder import loggers

    mlflow_env.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow_env.setattr(loggers, "_check_server", lambda uri: None)
    with pytest.raises(Exception):  # noqa: B017  (nothing listens: whatever MLflow raises, wrapped or not)
        loggers.MlflowLogger(REPO_ROOT / "x", f"http://127.0.0.1:{_closed_port()}", None)
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == loggers.HTTP_LIMITS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]


@pytest.mark.slow
@pytest.mark.parametrize("edit", [{"test_accuracy": 1.5}, {"test_accuracy": "0.9"}, {"test_cost": -1.0}])
def test_a_metrics_json_edited_out_of_range_is_never_the_best_run(edit, tiny_data, tmp_path, run_cli, capsys, caplog):
    sweep = tmp_path / "sweep"
    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, sweep, "sweep.learning_rates=[0.01,0.001]"))
    assert code == 0, err
    _edit_json(sweep / "1" / "metrics.json", lambda r: r.update(edit))
    main = runpy.run_path(str(REPO_ROOT / "scripts" / "summarize.py"))["main"]

    capsys.readouterr()
    with caplog.at_level(logging.WARNING):  # summarize's own handler prints "warning: <message>" outside pytest
        main([str(sweep)])
    out, err = capsys.readouterr()

    [key] = edit
    [warning] = _warnings(caplog, "lr_jax.runfolder.summary")
    assert warning.startswith(f"run 1: metrics.json holds {key}={edit[key]!r}, out of range") and err == ""
    summary = json.loads((sweep / "summary.json").read_text())
    assert summary["best"]["run"] == "0" and "best: run 0 " in out
