r"""scikit-learn estimators on lr_jax's compiled training loop: `LogisticRegression`, `LogisticRegressionCV`.

The objective is scikit-learn's L2 logistic regression at λ = 1/(C·S) (`lr_jax.sklearn.base`). `tol` bounds
‖∇J‖₂ of lr_jax's J (scikit-learn's lbfgs bounds the largest |∂J/∂θ| of the same J), so a tol stops both near
the same point. `LogisticRegressionCV` (`lr_jax.sklearn.cv`) chooses C on held-out folds, every fold's
path of Cs in one compiled call.

scikit-learn is an optional extra (`pip install -e '.[sklearn]'`); only these three modules import it.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from lr_jax.sklearn.base import COMMON_CONSTRAINTS, BinaryLinear, l2_strength
from lr_jax.sklearn.cv import LogisticRegressionCV

__all__ = ["LogisticRegression", "LogisticRegressionCV"]


class LogisticRegression(BinaryLinear):
    """Binary L2 logistic regression trained by lr_jax (optax L-BFGS, SGD or Adam in one compiled loop).

    Parameters: C (inverse L2 strength, np.inf = none), solver ("lbfgs", "sgd", "adam": full batch),
    learning_rate (sgd, adam), max_iter, tol (on ‖∇J‖₂), class_weight (None, "balanced", {label: w}),
    warm_start, random_state (the PRNG key handed to training), precision ("float64" as scikit-learn, or
    "float32"), verbose (a progress bar). Fitted: coef_ (1, n), intercept_ (1,), classes_, n_iter_ (1,),
    n_features_in_, feature_names_in_.
    """

    _parameter_constraints = {
        "C": [Interval(numbers.Real, 0, None, closed="right")],  # np.inf included
        "warm_start": ["boolean"],
        **COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        C=1.0,
        *,
        solver="lbfgs",
        learning_rate=0.1,
        max_iter=100,
        tol=1e-4,
        class_weight=None,
        warm_start=False,
        random_state=None,
        precision="float64",
        verbose=0,
    ):
        self.C = C
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.precision = precision
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Minimize the weighted, L2-penalized cross-entropy on (X, y); returns self."""
        self._validate_params()
        init = (self.coef_, self.intercept_) if self.warm_start and hasattr(self, "coef_") else None
        X, _, y01, weight_N = self._validate_fit_data(X, y, sample_weight)
        if init is not None and init[0].shape != (1, X.shape[1]):
            raise ValueError(
                f"warm_start: the previous coef_ has shape {init[0].shape}, X has {X.shape[1]} "
                "features. Fit with warm_start=False, or pass X of the previous width."
            )
        l2_K = np.array([l2_strength(self.C, weight_N.sum())])
        coef, intercept, n_iter, costs_KT = self._fit_stack(X, y01, weight_N[None], l2_K, init, with_costs=True)
        self.coef_, self.intercept_, self.n_iter_ = coef[0], intercept[0], n_iter.astype(np.int32)
        self._check_finite()
        self._warn_outcomes(X, y01, weight_N, l2_K[0], costs_KT[0, : n_iter[0]], from_start=init is None)
        return self
