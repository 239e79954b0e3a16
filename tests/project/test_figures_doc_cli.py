"""docs/figures.md: every command it shows runs as written, and every figure it describes is written by them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "figures.md"


def doc_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("python ")]


def doc_figures() -> list[str]:
    return re.findall(r"^### `([\w.]+\.png)`$", DOC.read_text(), re.M)


def test_the_doc_names_its_commands_and_figures():
    assert len(doc_commands()) == 6
    assert doc_figures() == [
        "learning_curve.png",
        "roc_curve.png",
        "mistakes.png",
        "weights.png",
        "learning_curves.png",
        "activation_study.png",
        "scale_study.png",
    ]


@pytest.mark.slow  # six runs: the course run, a validation run, a sweep, a multirun, two quick studies
def test_every_command_runs_as_written_and_writes_the_figures(data_dir, tmp_path, monkeypatch, run_cli):
    # A working folder that looks like the repository's root: `scripts/` and `conf/` as they are, and
    # the outputs/ and multirun/ folders the commands write, fresh. Each command runs its script's Hydra main
    # in this process (run_cli), with the arguments as written: a fresh process would add only its start-up.
    for name in ("scripts", "conf"):
        (tmp_path / name).symlink_to(REPO_ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LR_JAX_DATA_DIR", str(data_dir))
    for command in doc_commands():
        python, script, *overrides = shlex.split(command)
        assert python == "python" and script.startswith("scripts/"), command
        result = run_cli(Path(script).stem, *overrides)
        assert result.code == 0, f"{command}\n{result.err[-3000:]}"
    for name in doc_figures():
        found = sorted(tmp_path.rglob(name))
        assert found, f"no {name} written by the commands of {DOC.name}"
        with Image.open(found[0]) as image:
            grey = np.asarray(image.convert("L"))
        assert (grey[: max(40, grey.shape[0] // 8)] < 128).any(), f"{found[0]}: no title"  # text in the top band
    assert (tmp_path / "outputs" / "sweep" / "0" / "weights.png").is_file()  # sweep.figures=all
