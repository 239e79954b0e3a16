"""lr_jax's version, pyproject.toml's `version` (tests/project/test_version.py ties the two; CHANGELOG.md: changes)."""

__version__ = "0.1.0"
