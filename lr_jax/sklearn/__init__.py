"""scikit-learn estimators with lr_jax's compiled training: the only wing that imports scikit-learn.

    logistic.py  LogisticRegression (binary or multinomial; solvers auto, newton-cholesky, lbfgs, sgd, adam)
    cv.py        LogisticRegressionCV: folds x Cs on warm-started L-BFGS paths
    base.py      what the two share: validation, scikit-learn's keywords, padding to buckets, predictions
    solvers.py   newton and lbfgs_paths (binary or K classes): the second-order solvers, max_iter, tol, C traced

This file only re-exports the two estimators and the warning of a doubtful fit (`OutcomeWarning`). Each
estimator's module is imported when its name is first read: `from lr_jax.sklearn import LogisticRegression`
loads neither `cv.py` nor the scikit-learn modules only it needs (metrics, model selection, linear_model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lr_jax.outcomes import OutcomeWarning

if TYPE_CHECKING:
    from lr_jax.sklearn.cv import LogisticRegressionCV
    from lr_jax.sklearn.logistic import LogisticRegression

__all__ = ["LogisticRegression", "LogisticRegressionCV", "OutcomeWarning"]

_HOMES = {"LogisticRegression": "lr_jax.sklearn.logistic", "LogisticRegressionCV": "lr_jax.sklearn.cv"}


def __getattr__(name: str):
    """An estimator, from its module (imported now, once)."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
