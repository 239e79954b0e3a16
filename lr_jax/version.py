"""lr_jax's version, pyproject.toml's `version` (tests/test_version.py ties the two); CHANGELOG.md says what changed."""

__version__ = "0.1.0"
