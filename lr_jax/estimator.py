"""Deprecated import path, kept for one release: the estimators live in `lr_jax.sklearn`."""

from lr_jax.sklearn import LogisticRegression, LogisticRegressionCV

__all__ = ["LogisticRegression", "LogisticRegressionCV"]
