"""scikit-learn estimators with lr_jax's compiled training: the only wing that imports scikit-learn.

    logistic.py  LogisticRegression (binary; solvers lbfgs and sgd)
    cv.py        LogisticRegressionCV: folds x Cs on warm-started L-BFGS paths
    base.py      what the two share: the objective, padding to buckets, the compiled stack
    solvers.py   lbfgs_paths, the CV estimator's private solver

This file only re-exports the two estimators and the warning of a doubtful fit (`OutcomeWarning`).
"""

from lr_jax.outcomes import OutcomeWarning
from lr_jax.sklearn.cv import LogisticRegressionCV
from lr_jax.sklearn.logistic import LogisticRegression

__all__ = ["LogisticRegression", "LogisticRegressionCV", "OutcomeWarning"]
