"""Shared fixtures. JAX runs with rank promotion as an error, so implicit (m,) vs (m, 1) broadcasts fail, and
with float32 matrix products at full precision, so the tests' float32 tolerances hold on GPUs too."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import runpy
import sys
import tempfile
import threading
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
# XLA may multiply float32 matrices in TF32 (10-bit mantissa) on NVIDIA GPUs by default; the tolerances of these
# tests are for float32 products. "highest" changes nothing on a CPU, which multiplies float32 in float32. The
# environment variable carries the setting to the CLI's subprocesses (JAX reads it when imported).
jax.config.update("jax_default_matmul_precision", "highest")
os.environ.setdefault("JAX_DEFAULT_MATMUL_PRECISION", "highest")
# train.compilation_cache_dir=auto caches compiled programs in a folder of this test session (inherited by the
# CLI's subprocesses), never in the user's ~/.cache; set LR_JAX_COMPILATION_CACHE to choose another.
os.environ.setdefault("LR_JAX_COMPILATION_CACHE", tempfile.mkdtemp(prefix="lr_jax-test-xla-"))

REPO_ROOT = Path(__file__).resolve().parents[1]
# The tiny course-layout data set and finished tiny run of the fault tests (tiny_data, finished_run, ...).
pytest_plugins = ("tests.tiny_run",)
DATA_ENV = "LR_JAX_DATA_DIR"
# CI sets LR_JAX_REQUIRE_DATA=1: there a test that needs the real data fails instead of skipping.
REQUIRE_DATA = os.environ.get("LR_JAX_REQUIRE_DATA") == "1"
HOW_TO_PROVIDE = (
    f"set {DATA_ENV} to a folder holding train_catvnoncat.h5 and test_catvnoncat.h5 "
    "(in this repository's workspace: ../shared/data/catvnoncat)"
)


# The lanes (pytest markers, registered in pyproject.toml): a test file's lane is the last word of its name,
# test_<subject>_<lane>.py (tests/serving/test_predict_cli.py: cli), so that the lane shows in a listing and a
# new file cannot forget its marker; every test that needs the real data (the `data_dir` fixture, also through
# `course_data` or `course_run`) is in the course lane wherever it lives. `slow` is marked test by test.
LANES = ("cli", "course", "faults")


def lane_markers(path: Path, fixturenames) -> set[str]:
    """The lanes of a test in the file at `path` that uses the fixtures `fixturenames`."""
    subject, _, last = path.stem.removeprefix("test_").rpartition("_")
    lanes = {last} if subject and last in LANES else set()
    return lanes | ({"course"} if "data_dir" in fixturenames else set())


FAST_LANE_XLA_FLAG = "--xla_backend_optimization_level=0"


def pytest_configure(config):
    """The fast lane (`-m "not slow"`) compiles with LLVM's optimizations off: most of its time is XLA
    compiling small programs, and this flag cuts that by about a third. XLA's own graph passes still run and
    fast-math stays off, so what changes is at most the rounding of a fused loop (the tolerances hold on any
    CPU or GPU, so they hold here); the course's logistic run is bit-identical. The whole suite (CI) compiles
    as users do. A user's own XLA_FLAGS that set the level win; the CLI's subprocesses inherit the setting.

    The fast lane also hands whole files to pytest-xdist's workers (`--dist loadfile`, unless another mode was
    asked for): a file's tests compile the same small programs, which a worker then compiles once. The whole
    suite keeps the default test-by-test balance, which its few long tests need."""
    if "not slow" not in (config.option.markexpr or ""):
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {FAST_LANE_XLA_FLAG}".strip()
    if getattr(config.option, "dist", None) == "load":  # xdist's default under -n
        config.option.dist = "loadfile"


def pytest_collection_modifyitems(items):
    for item in items:
        for lane in sorted(lane_markers(item.path, getattr(item, "fixturenames", ()))):
            item.add_marker(lane)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder with the real course files, from LR_JAX_DATA_DIR."""
    folder = os.environ.get(DATA_ENV)
    ok = folder and all((Path(folder) / f).is_file() for f in ("train_catvnoncat.h5", "test_catvnoncat.h5"))
    if not ok:
        reason = f"real data not found ({DATA_ENV}={folder!r}): {HOW_TO_PROVIDE}"
        if REQUIRE_DATA:
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(folder)


@pytest.fixture(scope="session")
def course_data(data_dir):
    """{"train": Split, "test": Split} of the real, verified data."""
    from lr_jax import data
    from lr_jax.config import DataConfig

    return data.load(DataConfig(dir=str(data_dir), download=False))


@pytest.fixture
def drawing_here(monkeypatch):
    """Figures drawn in this process's worker thread (not the drawing process), so a test can read them."""
    from lr_jax import background

    monkeypatch.setenv(background.DRAWING_ENV, "0")
    background.stop_drawing()
    yield
    background.stop_drawing()  # the next test's drawing starts a process again


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def course_run(data_dir, tmp_path_factory) -> Path:
    """A finished run folder of the course's config (2000 iterations, checkpoints every 500)."""
    from lr_jax import Config, train_and_evaluate

    workdir = tmp_path_factory.mktemp("course_run")
    config = Config.from_dict({"data": {"dir": str(data_dir), "download": False}, "train": {"print_cost": False}})
    train_and_evaluate(config, workdir)
    return workdir


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """`run_cli("train", "key=value", ...)`: a script's Hydra main in this process -> (exit code, out, err).

    In-process runs skip seconds of interpreter and JAX start-up each. Hydra's logging setup is turned
    off (`hydra/job_logging=none`): its `logging.config.dictConfig` would close pytest's own handlers.
    """

    def run(script: str, *overrides: str) -> CliResult:
        path = str(REPO_ROOT / "scripts" / f"{script}.py")
        monkeypatch.setattr(sys, "argv", [path, *overrides, "hydra/job_logging=none", "hydra/hydra_logging=none"])
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))  # as `python scripts/<script>.py` puts it
        capsys.readouterr()
        code = 0
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def _snapshot(folder: Path, ignore=(".hydra", "train.log")) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in ignore
    }


@pytest.fixture
def snapshot():
    """`snapshot(folder)`: {relative path: sha256} of its files, Hydra's own `.hydra/` and `train.log` left out."""
    return _snapshot


def curves_in_png(path: Path) -> int:
    """How many of matplotlib's cycle colours (C0, C1, ... in order) a PNG figure draws: its curves.

    Opening and converting the image also checks that the file is a whole, decodable PNG.
    """
    from matplotlib import colors, rcParams
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG", path
        rgb_P3 = np.asarray(image.convert("RGB")).reshape(-1, 3)
    count = 0
    for hex_color in rcParams["axes.prop_cycle"].by_key()["color"]:
        rgb = np.round(np.asarray(colors.to_rgb(hex_color)) * 255).astype(np.uint8)
        if np.sum(np.all(rgb_P3 == rgb, axis=1)) < 50:  # a drawn curve covers hundreds of pixels
            break
        count += 1
    return count


def assert_costs_csv_matches(run: Path, metrics: dict) -> None:
    """`costs.csv` holds exactly the iterations and costs of the run's metrics.json."""
    import csv

    with open(run / "costs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == metrics["cost_iterations"]
    assert [float(r["cost"]) for r in rows] == metrics["costs"]


@pytest.fixture
def x64():
    """The test runs with float64 enabled (`jax.enable_x64`)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def serve():
    """serve(folder) -> base URL of a quiet HTTP server on 127.0.0.1 for that folder."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache and no LR_JAX_DATA_DIR."""
    from lr_jax.data import download

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(download.ENV_DATA_DIR, raising=False)
    return download.default_cache_dir()
