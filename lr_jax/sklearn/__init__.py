"""scikit-learn estimators with lr_jax's compiled training: the only wing that imports scikit-learn.

    logistic.py  LogisticRegression (binary or multinomial; solvers auto, newton-cholesky, lbfgs, sgd, adam)
    cv.py        LogisticRegressionCV: folds x Cs on warm-started L-BFGS paths
    base.py      what the two share: validation, scikit-learn's keywords, padding to buckets, predictions
    solvers.py   newton and lbfgs_paths (binary or K classes): the second-order solvers, max_iter, tol, C traced

This file only re-exports the two estimators and the warning of a doubtful fit (`OutcomeWarning`). Each
estimator's module is imported when its name is first read: `from lr_jax.sklearn import LogisticRegression`
loads neither `cv.py` nor the scikit-learn modules only it needs (metrics, model selection, linear_model).
That import (JAX, optax, scikit-learn, SciPy, pandas) makes a few hundred thousand objects that live as long
as the process; the garbage collector's passes over them while they are being made find nothing to free
and cost a sizeable part of the import, so it is paused meanwhile (`_collector_paused`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from collections.abc import Iterator
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
        with _collector_paused():
            module = importlib.import_module(_HOMES[name])
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off inside (as it was after: a process that turned it off keeps it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
