"""docs/performance.md: every command it shows runs as written, and says what the page says it does."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "performance.md"


def commands() -> list[str]:
    """The `$ ` lines of the page's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", PAGE.read_text(), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def run(command: str, tmp_path) -> str:
    """`command` in bash from the repository root, with this interpreter first on PATH and a cache of its own."""
    env = {
        **os.environ,
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
        "LR_JAX_COMPILATION_CACHE": str(tmp_path / "xla"),
    }
    done = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_page_shows_three_commands():
    assert [c.split()[:3] for c in commands()] == [
        ["python", "-c", '"import'],
        ["python", "-X", "importtime"],
        ["python", "scripts/benchmark.py", "--suite"],
    ]


@pytest.mark.slow  # a fresh interpreter that imports JAX and fits once
def test_warming_fills_the_cache(tmp_path):
    run(commands()[0], tmp_path)
    assert any((tmp_path / "xla").iterdir())  # the fit's program, stored


@pytest.mark.slow  # a fresh interpreter that imports JAX
def test_importtime_command_lists_modules(tmp_path):
    lines = run(commands()[1], tmp_path).splitlines()
    assert len(lines) == 5 and all(line.startswith("import time:") for line in lines)


@pytest.mark.slow  # eight fresh interpreters: scikit-learn's and lr_jax's fits, twice per estimator
def test_coldstart_benchmark_prints_its_table(tmp_path):
    out = run(commands()[2], tmp_path)
    rows = [line for line in out.splitlines() if line.startswith("| breast_cancer |")]
    assert [row.split(" | ")[1] for row in rows] == ["LogisticRegression", "LogisticRegressionCV"]
    # the warm process loaded its programs from the cache: as many hits as compiles
    for row in rows:
        _, compiles, hits = (int(v) for v in row.rstrip(" |").rsplit(" | ", 1)[1].split(" / "))
        assert compiles >= 1 and hits == compiles, row
