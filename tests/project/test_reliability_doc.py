"""docs/reliability-runfolder.md names, for each case, the test that checks it: every named test exists."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "reliability-runfolder.md"


def test_every_test_the_table_names_exists():
    lines = DOC.read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and re.search(r"`(\w+/)?test_", line)]
    named = {m for row in rows for m in re.findall(r"`((?:\w+/)?test_\w+\.py)(?:::(\w+))?`", row.rsplit("|", 2)[-2])}
    assert len(rows) >= 20 and named
    for file, name in named:
        path = REPO_ROOT / "tests" / file
        assert path.is_file(), file
        functions = {f.name for f in ast.walk(ast.parse(path.read_text())) if isinstance(f, ast.FunctionDef)}
        assert not name or name in functions, f"{file}::{name}"
