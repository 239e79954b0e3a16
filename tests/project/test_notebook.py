"""The course notebook: `course.ipynb` and its jupytext pair `course.md` hold the same cells, stored without
outputs. Running it is `pytest --nbmake notebooks/` (the README's test command)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT

jupytext = pytest.importorskip("jupytext", reason="the notebook extra: pip install -e '.[notebook]'")
nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")

NOTEBOOKS = REPO_ROOT / "notebooks"


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_ipynb_and_md_hold_the_same_cells():
    paired = jupytext.read(NOTEBOOKS / "course.md")
    stored = nbformat.read(NOTEBOOKS / "course.ipynb", as_version=4)

    assert cells(stored) == cells(paired), "run `jupytext --sync notebooks/course.md` after editing either file"


def test_ipynb_is_stored_without_outputs():
    stored = nbformat.read(NOTEBOOKS / "course.ipynb", as_version=4)

    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert len(code) > 10
    assert [cell.outputs for cell in code] == [[]] * len(code)
    assert [cell.execution_count for cell in code] == [None] * len(code)
