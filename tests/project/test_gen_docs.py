"""scripts/gen_docs.py: the generated configuration reference is current and covers every key; every table
rendered from a results file (docs/results/*.json) matches its file."""

from __future__ import annotations

import json
import runpy

from tests.conftest import REPO_ROOT

GEN = runpy.run_path(str(REPO_ROOT / "scripts" / "gen_docs.py"))  # its functions, without running main


def test_the_configuration_reference_is_current():
    page = REPO_ROOT / "docs" / "configuration-reference.md"
    assert page.read_text() == GEN["render"](), "stale: run `python scripts/gen_docs.py` and commit the page"


def test_every_group_file_and_dataclass_field_is_listed():
    text = GEN["render"]()
    for path in (REPO_ROOT / "conf").rglob("*.yaml"):
        group = path.parent.relative_to(REPO_ROOT / "conf").as_posix()
        assert f"`{group}={path.stem}`" in text or f"`{path.name}" in text, path
    for section in ("data", "model", "optim", "train", "sweep", "parallel", "logger"):
        cls = GEN["GROUPS"][section][1]
        for name in set(cls.__dataclass_fields__) - GEN["schema"].DERIVED:  # derived fields are not keys
            assert f"| `{name}` |" in text, f"{section}.{name}"


def test_a_comment_on_the_next_line_joins_its_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("# What it is.\na:\n  b: 1   # one\n       # and more\nc: [1, 2]  # two\n")
    assert GEN["parse"](path) == ("What it is.", [("a", "", ""), ("a.b", "1", "one and more"), ("c", "[1, 2]", "two")])


def test_every_results_table_in_the_docs_matches_its_file():
    stale = [str(page.relative_to(REPO_ROOT)) for page, text in GEN["pages"]().items() if page.read_text() != text]
    assert not stale, f"stale: run `python scripts/gen_docs.py` and commit {stale}"


def test_every_results_file_is_shown_on_a_page():
    shown = {m["file"] for page in (REPO_ROOT / "docs").rglob("*.md") for m in GEN["BLOCK"].finditer(page.read_text())}
    files = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs" / "results").glob("*.json")}
    assert files and files == shown


def test_a_table_that_disagrees_with_its_file_is_stale(tmp_path):
    record = GEN["results"].results(
        "t",
        [{"title": "", "columns": ["a", "b"], "align": ["left", "right"], "rows": [["x", "1.0"]]}],
        command="lr-jax benchmark --suite t",
        date="2026-01-01 00:00 UTC",
        machine="m",
        versions={"jax": "0"},
    )
    path = tmp_path / "t.json"
    path.write_text(json.dumps(record))
    page = f"Intro.\n\n<!-- results: {path} (generated) -->\n<!-- end results -->\n\nAfter.\n"
    rendered = GEN["render_results"](page)
    assert "| x | 1.0 |" in rendered and rendered.startswith("Intro.") and rendered.endswith("After.\n")
    assert GEN["render_results"](rendered) == rendered  # rendering a current page changes nothing
    record["tables"][0]["rows"][0][1] = "2.0"  # a new run of the command
    path.write_text(json.dumps(record))
    assert GEN["render_results"](rendered) != rendered and "| x | 2.0 |" in GEN["render_results"](rendered)
