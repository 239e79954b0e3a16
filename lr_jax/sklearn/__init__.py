"""scikit-learn estimators with lr_jax's compiled training: the only wing that imports scikit-learn.

    logistic.py  LogisticRegression (binary or multinomial; solvers auto, newton-cholesky, lbfgs, sgd, adam)
    cv.py        LogisticRegressionCV: folds x Cs on warm-started L-BFGS paths
    base.py      what the two share: validation, scikit-learn's keywords, padding to buckets, predictions
    solvers.py   newton and lbfgs_paths (binary or K classes): the second-order solvers, max_iter, tol, C traced

This file only re-exports the two estimators and the warning of a doubtful fit (`OutcomeWarning`).
"""

from lr_jax.outcomes import OutcomeWarning
from lr_jax.sklearn.cv import LogisticRegressionCV
from lr_jax.sklearn.logistic import LogisticRegression

__all__ = ["LogisticRegression", "LogisticRegressionCV", "OutcomeWarning"]
