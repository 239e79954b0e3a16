"""`lr_jax.__version__`: the package's version (pyproject.toml), recorded in every run's metrics.json."""

from __future__ import annotations

import json
import re
from importlib import metadata

import pytest

import lr_jax
from tests.conftest import REPO_ROOT


def test_version_is_the_installed_packages_and_has_a_changelog_entry():
    assert lr_jax.__version__ == metadata.version("lr_jax")  # one number: pyproject.toml's
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(lr_jax.__version__)}\]", changelog, re.MULTILINE)


@pytest.mark.slow  # the finished course run
def test_a_runs_metrics_record_the_version(course_run):
    assert json.loads((course_run / "metrics.json").read_text())["lr_jax_version"] == lr_jax.__version__
