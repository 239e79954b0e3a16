"""docs/reliability.md is one numbered table (in sections) naming, for each case, the test that checks it:
every named test file and function exists (read, not imported: fast). tests/project/test_docs.py checks the numbering
and, in its slow lane, every named case id against pytest's collection."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "reliability.md"
ROW = re.compile(r"^\| *(\d+) *\|.*\| ([^|]+) \|$", re.MULTILINE)


def named_tests() -> list[tuple[str, str, str]]:
    """(row number, test file under tests/, function or '') of every test each row names."""
    out = []
    for n, cell in ROW.findall(DOC.read_text()):
        for name in re.findall(r"`([\w/]+\.py(?:::\w+)?)", cell):
            file, _, function = name.partition("::")
            out.append((n, file, function))
    return out


def test_the_old_reliability_pages_are_merged_into_one():
    assert not list((REPO_ROOT / "docs").glob("reliability-*.md"))
    text = DOC.read_text()
    assert text.count("\n| # | input or fault | what happens | test (`tests/...`) |") >= 3  # a table per section


def test_every_test_the_table_names_exists():
    named = named_tests()
    assert len({n for n, _, _ in named}) >= 180
    functions: dict[str, set[str]] = {}
    for n, file, function in named:
        path = REPO_ROOT / "tests" / file
        assert path.is_file(), f"row {n}: tests/{file} does not exist"
        if file not in functions:
            tree = ast.parse(path.read_text())
            functions[file] = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        assert not function or function in functions[file], f"row {n}: tests/{file}::{function} does not exist"
