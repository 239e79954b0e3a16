"""scripts/gen_docs.py: the generated configuration reference is current and covers every key."""

from __future__ import annotations

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
