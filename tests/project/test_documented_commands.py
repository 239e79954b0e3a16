"""Every shell command shown in README.md and docs/*.md runs, as written, and exits 0.

A page's ```bash, ```sh, ```shell and ```console blocks (in a console block, the lines after `$ `) run in
order, in one fresh working folder per page, so a page can train a run in one block and predict with it in
the next. The folder holds `scripts/`, `conf/` and `notebooks/` (links to the repository's), `cat.jpg` and
`butterfly.png` (test images 1 and 5 of the course data) and `photos/cat/`, `photos/non-cat/` (four images
each); the data comes from LR_JAX_DATA_DIR. HTML comments right above a block change how it runs:

    <!-- not-run: REASON -->       skip it (it installs, needs a GPU, SLURM, the network, or starts a server)
    <!-- needs: MODULE -->         skip it when MODULE is not importable (an extra that is not installed)
    <!-- run-with: KEY=VALUE ... -->   for the test, set these overrides on every `lr-jax train|sweep|study`
                                       line of the block (replacing the same key), e.g. fewer iterations
    <!-- expect: TEXT -->          the block's output contains TEXT (one marker per line of text)

New pages under docs/ are picked up by themselves. `test_every_skipped_block_says_why` lists the skipped ones.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import REPO_ROOT

PAGES = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").rglob("*.md")])
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<lang>[\w-]*)")
MARKER = re.compile(r"^\s*<!--\s*(not-run|needs|run-with|expect):\s*(.*?)\s*-->\s*$")
OVERRIDABLE = re.compile(r"^(\w+=\S+\s+)*(lr-jax\s+(train|sweep|study)\b|python\s+scripts/(train|sweep|study)\.py)")
BLOCK_TIMEOUT_S = 600


class Block(NamedTuple):
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    script: str
    markers: dict[str, list[str]]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The page's fenced shell blocks, with the markers in the comment lines right above each."""
    found, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(opening["fence"])), len(lines))
        if opening["lang"] in SHELLS:
            body = [line[len(opening["indent"]) :] for line in lines[i + 1 : end]]
            found.append(Block(page, i + 1, opening["lang"], commands(body, opening["lang"]), markers(lines, i)))
        i = end + 1
    return found


def markers(lines: list[str], fence: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    j = fence - 1
    while j >= 0 and (not lines[j].strip() or MARKER.match(lines[j])):
        if m := MARKER.match(lines[j]):
            found.setdefault(m[1], []).insert(0, m[2])
        j -= 1
    return found


def commands(body: list[str], lang: str) -> str:
    if lang != "console":
        return "\n".join(body)
    lines, continuing = [], False
    for line in body:
        if line.startswith("$ ") or continuing:
            lines.append(line[2:] if line.startswith("$ ") else line)
            continuing = line.rstrip().endswith("\\")
    return "\n".join(lines)


def with_overrides(script: str, overrides: str) -> str:
    """`script` with `overrides` set on each Hydra training command (a later value of a key replaces it)."""
    extra = shlex.split(overrides)
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        if not OVERRIDABLE.match(line.strip()):
            out.append(line)
            continue
        parts = re.split(r"(\s(?:&&|\|\||[&#|;])(?:\s|$))", line, maxsplit=1)
        command, rest = parts[0], "".join(parts[1:])
        for key in {o.split("=", 1)[0] for o in extra}:
            command = re.sub(rf"\s+{re.escape(key)}=\S+", "", command)
        out.append(" ".join([command.rstrip(), *map(shlex.quote, extra)]) + rest)
    return "\n".join(out)


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]


def skip_reason(block: Block) -> str | None:
    if "not-run" in block.markers:
        return block.markers["not-run"][0]
    missing = [m for m in block.markers.get("needs", []) if importlib.util.find_spec(m) is None]
    return f"needs {', '.join(missing)} (not installed)" if missing else None


def make_workdir(folder: Path, data_dir: Path) -> None:
    """What the documented commands may use besides the data: the repository's folders and a few images."""
    from PIL import Image

    from lr_jax import data
    from lr_jax.config import DataConfig

    for name in ("scripts", "conf", "notebooks"):
        (folder / name).symlink_to(REPO_ROOT / name)
    splits = data.load(DataConfig(dir=str(data_dir), download=False))
    test = splits["test"]
    Image.fromarray(test.x_raw[1]).resize((300, 300), Image.Resampling.BICUBIC).save(folder / "cat.jpg")
    Image.fromarray(test.x_raw[5]).convert("RGBA").save(folder / "butterfly.png")
    for label, name in ((1, "cat"), (0, "non-cat")):
        (folder / "photos" / name).mkdir(parents=True)
        for i in [i for i in range(len(test.y)) if int(test.y[i]) == label][:4]:
            Image.fromarray(test.x_raw[i]).save(folder / "photos" / name / f"{i}.png")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_blocks_are_read(page):
    """Each page's shell blocks are found and each marker is one this harness knows (a typo would skip)."""
    text = page.read_text()
    fences = len([line for line in text.splitlines() if FENCE.match(line) and FENCE.match(line)["lang"] in SHELLS])
    assert len(blocks(page)) == fences
    for comment in re.findall(r"<!--\s*([\w-]+):", text):
        # `results:` opens a block scripts/gen_docs.py renders from a results file (no command in it)
        known = ("not-run", "needs", "run-with", "expect", "results")
        assert comment in known, f"{page.name}: unknown marker {comment}"


def test_every_skipped_block_says_why():
    skipped = [(b.where, skip_reason(b)) for b in all_blocks() if skip_reason(b)]
    for where, reason in skipped:
        assert reason and len(reason) > 8, f"{where}: say why the block is not run"
    print("\n".join(f"not run: {where}: {reason}" for where, reason in skipped))


def test_run_with_replaces_and_appends_overrides():
    script = "lr-jax train train.num_iterations=2000 model.l2=0.1 &\npython scripts/sweep.py  # note\nls"
    assert with_overrides(script, "train.num_iterations=5") == (
        "lr-jax train model.l2=0.1 train.num_iterations=5 &\npython scripts/sweep.py train.num_iterations=5 # note\nls"
    )


@pytest.mark.slow  # every documented command: training runs, sweeps, exports (a few minutes in all)
@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_documented_commands_run(page, data_dir, tmp_path):
    make_workdir(tmp_path, data_dir)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # lr-jax, mlflow, ...
        "LR_JAX_DATA_DIR": str(data_dir),
        "MPLBACKEND": "Agg",
        "HYDRA_FULL_ERROR": "1",  # a failure shows its traceback here
    }
    ran = 0
    for block in blocks(page):
        if skip_reason(block):
            continue
        script = block.script
        for overrides in block.markers.get("run-with", []):
            script = with_overrides(script, overrides)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{script}\n---\n{output[-4000:]}"
        for text in block.markers.get("expect", []):
            assert text in output, f"{block.where}: {text!r} not in the output:\n{output[-4000:]}"
        ran += 1
    if not ran:
        pytest.skip(f"{page.name}: every shell block is marked not-run")
