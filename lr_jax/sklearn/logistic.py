r"""scikit-learn estimators on lr_jax's compiled training loop: `LogisticRegression`, `LogisticRegressionCV`.

The objective is scikit-learn's L2 logistic regression at λ = 1/(C·S) (`lr_jax.sklearn.base`): binary for two
classes, multinomial (softmax, all K columns of W penalized) for more (`lr_jax.sklearn.solvers`). With newton-cholesky
and lbfgs, `tol` bounds max |∂J/∂θ| (scikit-learn's lbfgs bound, scipy's gtol); with sgd and adam, ‖∇J‖₂.
`LogisticRegressionCV` (`lr_jax.sklearn.cv`) chooses C on held-out folds, every fold's path of Cs in one
compiled call.

One compiled program per solver and padded shape: C, tol and max_iter (and sgd's and adam's learning rate) are
traced, so a new value, a grid search or a test sweep over them compiles nothing. X wider than tall is solved
in the coordinates of an orthonormal basis of its rows (exactly the same problem: the minimizer lies in their
span), as `LogisticRegressionCV` does.

scikit-learn is an optional extra (`pip install -e '.[sklearn]'`); only these modules import it.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import jax
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from lr_jax.runtime import CACHE_AUTO, precision_scope
from lr_jax.sklearn import solvers
from lr_jax.sklearn.base import (
    COMMON_CONSTRAINTS,
    FIRST_ORDER,
    LinearClassifier,
    check_sklearn_keywords,
    from_basis,
    host_cost,
    l2_strength,
    pad,
    padded_shape,
    row_basis,
    start_intercept,
    start_weights,
    to_basis,
    to_device,
)

if TYPE_CHECKING:
    from lr_jax.sklearn.cv import LogisticRegressionCV

__all__ = ["LogisticRegression", "LogisticRegressionCV"]


def __getattr__(name: str):
    """`LogisticRegressionCV`, importable from here too, loaded from `lr_jax.sklearn.cv` on first use: a fit of
    `LogisticRegression` needs none of its modules (scikit-learn's metrics, model selection, linear_model)."""
    if name == "LogisticRegressionCV":
        from lr_jax.sklearn.cv import LogisticRegressionCV

        return LogisticRegressionCV
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NEWTON_MAX_SIZE = 1024  # solver="auto": Newton while min(padded rows, columns) is at most this (a P x P Hessian, P - 1)


class LogisticRegression(LinearClassifier):
    """L2 logistic regression, binary or multinomial, trained by lr_jax (Newton, optax L-BFGS, SGD or Adam in one
    compiled loop).

    Parameters: C (inverse L2 strength, np.inf = none), solver ("auto": newton-cholesky for two classes, a
    finite C and min(m, n) <= 1024, else lbfgs; "newton-cholesky", "lbfgs"; "sgd", "adam": full batch, two
    classes only), learning_rate (sgd,
    adam), max_iter, tol (max |∂J/∂θ| for newton-cholesky and lbfgs, ‖∇J‖₂ for sgd and adam), class_weight
    (None, "balanced", {label: w}), warm_start, random_state (the PRNG key handed to sgd and adam), precision
    ("float64" as scikit-learn, or "float32"), verbose (a progress bar, sgd and adam), compilation_cache_dir
    ("auto": lr_jax's persistent compilation cache, as `train.compilation_cache_dir`; a folder; None: JAX's
    own setting; a cache the process already uses is kept); scikit-learn's penalty, l1_ratio, dual,
    fit_intercept, intercept_scaling and n_jobs (`base.check_sklearn_keywords`). Fitted: coef_ (1, n) for two
    classes, (K, n) for K > 2; intercept_ (1,) or (K,); classes_, n_iter_ (1,), n_features_in_,
    feature_names_in_.
    """

    _parameter_constraints = {
        "C": [Interval(numbers.Real, 0, None, closed="right")],  # np.inf included
        "warm_start": ["boolean"],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        **COMMON_CONSTRAINTS,
        "solver": [StrOptions({"auto", "newton-cholesky", "lbfgs", "sgd", "adam"})],
    }

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        solver="auto",
        learning_rate=0.1,
        max_iter=100,
        tol=1e-4,
        class_weight=None,
        warm_start=False,
        random_state=None,
        precision="float64",
        verbose=0,
        compilation_cache_dir=CACHE_AUTO,
        l1_ratio=0.0,
        dual=False,
        fit_intercept=True,
        intercept_scaling=1,
        n_jobs=None,
    ):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.n_jobs = n_jobs
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
        self.compilation_cache_dir = compilation_cache_dir

    def fit(self, X, y, sample_weight=None):
        """Minimize the weighted, L2-penalized cross-entropy on (X, y); returns self."""
        self._validate_params()
        no_penalty = check_sklearn_keywords(self, self.solver, self.l1_ratio)
        C = np.inf if no_penalty else self.C
        self._use_compilation_cache()  # before this fit's first compile
        init = (self.coef_, self.intercept_) if self.warm_start and hasattr(self, "coef_") else None
        X, _, target, weight_N = self._validate_fit_data(X, y, sample_weight)
        K = 1 if target.ndim == 1 else target.shape[1]
        if init is not None and init[0].shape != (K, X.shape[1]):
            raise ValueError(
                f"warm_start: the previous coef_ has shape {init[0].shape}, this fit's is {(K, X.shape[1])} "
                "(classes, features). Fit with warm_start=False, or pass X and y of the previous shape."
            )
        l2 = l2_strength(C, weight_N.sum())
        solver = self.solver_for(*X.shape, n_classes=len(self.classes_), C=C)
        self._check_first_order(solver)
        if solver in FIRST_ORDER:
            coef, intercept, n_iter, costs_KT = self._fit_stack(
                X, target, weight_N[None], np.array([l2]), init, with_costs=True
            )
            self._set_coef(coef[0], intercept[0])
            self.n_iter_ = n_iter.astype(np.int32)
            costs_T = costs_KT[0]
        else:
            coef, intercept, n_iter = self._fit_second_order(solver, X, target, weight_N, l2, init)
            self._set_coef(coef, intercept)
            self.n_iter_ = np.array([n_iter], np.int32)
            self._warn_if_not_converged(self.n_iter_, stacklevel=3, solver=solver)
            costs_T = None
        self._check_finite()
        if self.max_iter > 0:
            if costs_T is None:
                # Descent methods (a line search on J): their costs fall from the start's to the end's, which
                # the outcome checks read as the run's history.
                start = (np.zeros((K, X.shape[1])), np.zeros(K)) if init is None else init
                ends = [self._theta(*start), self._theta()]
                costs_T = np.array([host_cost(X, target, weight_N, l2, *theta) for theta in ends])
            self._warn_outcomes(X, target, weight_N, l2, costs_T, from_start=init is None)
        return self

    def solver_for(self, m: int, n: int, n_classes: int = 2, C: float | None = None) -> str:
        """The solver `fit` runs on m x n data of `n_classes` at `C` (default: the C parameter): `solver`, with
        "auto" resolved (class docstring)."""
        if self.solver != "auto":
            return self.solver
        small = min(padded_shape(m, n)) <= NEWTON_MAX_SIZE
        return "newton-cholesky" if small and np.isfinite(self.C if C is None else C) and n_classes == 2 else "lbfgs"

    def _fit_second_order(self, solver, X, target, weight_N, l2, init):
        """Newton or L-BFGS on X padded (or, wider than tall, in the basis of its rows): (coef (1 or K, n),
        intercept (1 or K,), n_iter).

        Every array is made on the host and copied to the device once: an operation on a device array (a
        reshape, a conversion) would be a compiled program of its own.
        """
        n, (rows, cols) = X.shape[1], padded_shape(*X.shape)
        multi = target.ndim == 2
        basis_DK = row_basis(X, rows, cols)
        x_NK = pad(X, rows, cols) if basis_DK is None else pad(X, rows, cols) @ basis_DK
        w_D = start_weights(init, cols, target)
        theta = {"w": to_basis(w_D, basis_DK), "b": start_intercept(init, target)}
        data = (x_NK, pad(target, rows), pad(weight_N, rows))
        with precision_scope(self.precision):
            dtype = np.dtype(self.precision)
            basis = None if basis_DK is None else to_device(basis_DK, dtype)
            tol = to_device(self.tol, dtype)
            if solver == "newton-cholesky":
                args = jax.tree.map(lambda a: to_device(a, dtype), (theta, *data, l2))
                max_iter = to_device(self.max_iter, np.int32)
                theta, n_iter = solvers.newton(*args, max_iter, tol, basis, self._intercept_mask())
            else:  # one weighting, one strength: the path solver of LogisticRegressionCV, (G, C) = (1, 1)
                theta_G, x_NK, y_N, weight_GM, l2_GC = jax.tree.map(
                    lambda a: to_device(a, dtype),
                    ({k: v[None] for k, v in theta.items()}, *data[:2], data[2][None], np.array([[l2]])),
                )
                rows_GM, max_iter_GC = (
                    to_device(np.arange(rows)[None], np.int32),
                    to_device([[self.max_iter]], np.int32),
                )
                theta, n_iter = solvers.lbfgs_paths(
                    theta_G, x_NK, y_N, rows_GM, weight_GM, l2_GC, max_iter_GC, tol, basis, self._intercept_mask()
                )
            theta, n_iter = jax.device_get((theta, n_iter))
        shape = (-1, target.shape[1]) if multi else (-1,)
        w = from_basis(np.reshape(theta["w"], shape), basis_DK, multi)
        b = np.reshape(theta["b"], (-1,))
        return (w[:n].T if multi else w[None, :n]), b, int(np.max(n_iter))
