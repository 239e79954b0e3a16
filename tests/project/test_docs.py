"""The docs: a short README, every page in the site's navigation, no process notes, the reliability table's
tests real. (The site's build is `mkdocs build --strict` in .ci/run; the commands are run by
test_documented_commands.py; the configuration reference is checked by test_gen_docs.py.)"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PAGES = [REPO_ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def nav_pages(node) -> set[str]:
    if isinstance(node, str):
        return {node}
    items = node.values() if isinstance(node, dict) else node
    return set().union(*(nav_pages(item) for item in items))


def test_the_readme_is_a_landing_page():
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 220, f"README.md has {len(lines)} lines: move the details into a page under docs/"


def test_every_page_is_in_the_navigation():
    nav = nav_pages(yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())["nav"])
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert not pages - nav, f"add these pages to mkdocs.yml's nav: {sorted(pages - nav)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_user_docs_hold_no_process_notes(page):
    """Issue numbers and how a figure was obtained on one day belong in the commit history, not in user docs."""
    text = page.read_text()
    for pattern in (r"\bissue \d+", r"\bissues? #\d+", r"as remembered", r"\bwas lent\b", r"\bTODO\b"):
        assert not re.search(pattern, text, re.IGNORECASE), f"{page.name}: {pattern}"


def reliability_rows() -> list[tuple[str, str]]:
    """(row number, test cell) of docs/reliability.md's bad-input table."""
    rows = re.findall(r"^\| *(\d+) *\|.*\| ([^|]+) \|$", (DOCS / "reliability.md").read_text(), re.MULTILINE)
    return [(n, cell.strip()) for n, cell in rows]


def test_reliability_rows_are_numbered_in_order_and_each_names_a_test():
    rows = reliability_rows()
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))
    one = r"`[\w/]+\.py(::\w+(\[[^\]]+\])?)?`( `\[[^\]]+\]`)?"
    for n, cell in rows:
        assert re.match(rf"{one}(, {one})*$", cell), f"row {n}: {cell}"


@pytest.mark.slow  # collects the named test files (imports them)
def test_every_test_the_reliability_table_names_exists():
    named = []
    for n, cells in reliability_rows():
        for cell in cells.split(", `"):  # a row may name several tests
            path, _, rest = cell.strip("`").split("`")[0].partition("::")
            case = re.search(r"`\[([^\]]+)\]`", cell)
            named.append((n, path, rest, case[1] if case else None))
    files = sorted({f"tests/{path}" for _, path, _, _ in named})
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider", *files],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    ids = {line.strip() for line in collected if "::" in line}
    for n, path, rest, case in named:
        prefix = f"tests/{path}::"
        if rest:
            assert f"{prefix}{rest}" in ids or any(i.startswith(f"{prefix}{rest}[") for i in ids), f"row {n}"
        if case:
            # the id, or its start (a case with a long parameter is named by its first ones)
            shown = rf"\[{re.escape(case.removesuffix('...'))}" + ("" if case.endswith("...") else r"[\]-]")
            assert any(i.startswith(prefix) and re.search(shown, i) for i in ids), f"row {n}: [{case}]"
