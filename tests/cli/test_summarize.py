"""`scripts/summarize.py`: the table, or one clear error (exit 2) when there is nothing to summarize."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import REPO_ROOT


def test_summarize_script_explains_an_empty_folder(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("summarize_script", REPO_ROOT / "scripts" / "summarize.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as exit_info:
        script.main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert "no run folder with a metrics.json" in capsys.readouterr().err
