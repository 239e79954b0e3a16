r"""`LogisticRegressionCV`: C chosen by cross-validation, every fold's path of Cs in one compiled call.

With lbfgs (the default) it runs as scikit-learn's: each fold's path of Cs ascending, each C warm-started from the
previous solution, stopping at max |∂J/∂θ| <= tol (scipy's gtol, as scikit-learn's lbfgs), all folds x Cs in one
compiled call (`lr_jax.sklearn.solvers.lbfgs_paths`); the refit at the chosen C starts from the folds' mean
solution, in the same compiled program (X wide or small; else a program of its own: `_lbfgs_paths`). Rows are padded
to a bucket with a floor of 128 (every iteration reads them all); X wider than tall is replaced by its coordinates
in an orthonormal basis of its rows (exactly the same problem, iterates and stopping test; see `_call_lbfgs`). With
sgd or adam, all folds x Cs train as one vmapped stack (then the refit): each member sees the whole padded data, the
rows outside its training fold weighted 0. K > 2 classes: the multinomial model, paths (folds, Cs, K, n + 1), with
lbfgs only.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from typing import Any

import jax
import numpy as np
from sklearn import linear_model
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Hidden, Interval, InvalidParameterError, StrOptions

from lr_jax.runtime import CACHE_AUTO, precision_scope
from lr_jax.sklearn.base import (
    COL_FLOOR,
    COMMON_CONSTRAINTS,
    FIRST_ORDER,
    LinearClassifier,
    bucket,
    check_sklearn_keywords,
    from_basis,
    l2_strength,
    pad,
    row_basis,
    to_basis,
    to_device,
)
from lr_jax.sklearn.solvers import lbfgs_paths

CV_ROW_FLOOR = 128  # LogisticRegressionCV's L-BFGS paths: every iteration of every fold reads all padded rows
# Up to this many entries of padded X, each fold reads all rows (its training rows first, then weight-0 padding), so
# that the refit runs in the folds' compiled program: the extra reads (about a quarter more with 5 folds) cost less
# than tracing and compiling a second program, which takes as long as some thousand passes over X of this size.
SHARED_PROGRAM_MAX_ENTRIES = 1 << 20


def _cv_shape(m: int, n: int) -> tuple[int, int]:
    """`LogisticRegressionCV`'s padded rows and columns (a lower row floor: an L-BFGS iteration reads them all)."""
    return bucket(m, CV_ROW_FLOOR), bucket(n, COL_FLOOR)


def _training_rows(weight_FN, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Each fold's rows of nonzero weight and their weights (F, M), first; padding after: row 0, weight 0."""
    train_F = [np.flatnonzero(w_N) for w_N in weight_FN]  # rows of weight 0 change nothing
    rows_FM = np.zeros((len(train_F), M), np.int64)
    weight_FM = np.zeros(rows_FM.shape)
    for f, rows_M in enumerate(train_F):
        rows_FM[f, : len(rows_M)], weight_FM[f, : len(rows_M)] = rows_M, weight_FN[f, rows_M]
    return rows_FM, weight_FM


def _check_Cs(Cs) -> np.ndarray:
    """A list of Cs as float64[n]: non-empty, one-dimensional, every C finite and > 0 (as scikit-learn words it)."""
    try:
        Cs_C = np.asarray(Cs, np.float64)
    except (TypeError, ValueError):
        Cs_C = None
    if Cs_C is None or Cs_C.ndim != 1 or not len(Cs_C) or not np.all(np.isfinite(Cs_C) & (Cs_C > 0)):
        raise InvalidParameterError(
            "The 'Cs' parameter of LogisticRegressionCV must be an int in the range [1, inf) or a non-empty "
            f"array-like of finite floats > 0. Got {Cs!r} instead."
        )
    return Cs_C


class LogisticRegressionCV(LinearClassifier):
    """`LogisticRegression` with C chosen by cross-validation, all Cs x folds trained in one compiled call.

    tol: with lbfgs, on max |∂J/∂θ| (scikit-learn's), each fold's Cs warm-started in ascending order; with
    sgd and adam, on ‖∇J‖₂, every (fold, C) from zero as one vmapped stack. verbose: a progress bar with sgd
    and adam (lbfgs runs as one call, without one). compilation_cache_dir: as `LogisticRegression`'s.

    As scikit-learn's: Cs (an int n: np.logspace(-4, 4, n); or a list), cv (folds, or a splitter;
    StratifiedKFold(5) by default), scoring (None: accuracy), refit (True: refit on all data at the C of the
    best summed score, from the mean of the folds' solutions; False: average the folds' best solutions).
    Fitted (scikit-learn 1.9's legacy layout): Cs_, C_ (1,) or (K,), scores_ and coefs_paths_ (keyed by
    classes_[1] for two classes, by each class for K: (n_folds, n_cs, n + 1), without the last column for
    fit_intercept=False), n_iter_ (1, n_folds, n_cs), coef_, intercept_, classes_; with
    use_legacy_attributes=False scikit-learn's new layout (C_ a float, coefs_paths_ (n_folds, 1, n_cs, K or 1,
    n + 1), scores_ and n_iter_ (n_folds, 1, n_cs)).
    """

    C_: Any  # scikit-learn's: an array (legacy layout), a float with use_legacy_attributes=False
    l1_ratio_: Any

    _parameter_constraints = {
        "Cs": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "refit": ["boolean"],
        **COMMON_CONSTRAINTS,
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    }

    def __init__(
        self,
        Cs=10,
        *,
        cv=None,
        scoring=None,
        solver="lbfgs",
        learning_rate=0.1,
        max_iter=100,
        tol=1e-4,
        class_weight=None,
        refit=True,
        random_state=None,
        precision="float64",
        verbose=0,
        compilation_cache_dir=CACHE_AUTO,
        l1_ratios=None,
        penalty="deprecated",
        dual=False,
        fit_intercept=True,
        intercept_scaling=1.0,
        n_jobs=None,
        use_legacy_attributes=True,
    ):
        self.l1_ratios = l1_ratios
        self.penalty = penalty
        self.dual = dual
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.n_jobs = n_jobs
        self.use_legacy_attributes = use_legacy_attributes
        self.Cs = Cs
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.refit = refit
        self.random_state = random_state
        self.precision = precision
        self.verbose = verbose
        self.compilation_cache_dir = compilation_cache_dir

    def fit(self, X, y, sample_weight=None):
        """Train every (fold, C) in one compiled call, score each on its held-out fold, pick C, refit."""
        self._validate_params()
        if check_sklearn_keywords(self, self.solver, _l1_ratio(self.l1_ratios)):
            raise ValueError("penalty=None: LogisticRegressionCV searches over Cs. Leave penalty unset.")
        self._use_compilation_cache()  # before this fit's first compile
        X, y, target, weight_N = self._validate_fit_data(X, y, sample_weight)
        self._check_first_order(self.solver)
        Cs = self.Cs
        self.Cs_ = np.logspace(-4, 4, Cs) if isinstance(Cs, numbers.Integral) else _check_Cs(Cs)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        weight_FN = np.zeros((len(folds), X.shape[0]))
        for f, (train, _) in enumerate(folds):
            weight_FN[f, train] = weight_N[train]
        fit_paths = self._stacked_paths if self.solver in FIRST_ORDER else self._lbfgs_paths
        paths_FCP, n_iter_FC, refit = fit_paths(X, target, weight_N, weight_FN)
        scores_FC = self._score_folds(X, y, sample_weight, folds, paths_FCP)
        self._choose(paths_FCP, scores_FC, refit)
        self._set_attributes(paths_FCP, scores_FC, n_iter_FC)
        self._check_finite()
        return self

    def score(self, X, y, sample_weight=None):
        """`scoring` (accuracy when None) of the fitted model on (X, y), as scikit-learn's."""
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self._get_scorer()(self, X, y, **kwargs)

    def _get_scorer(self):
        """The scorer of `scoring` (None: accuracy), as scikit-learn's `LogisticRegressionCV._get_scorer`."""
        return get_scorer("accuracy" if self.scoring in (None, "warn") else self.scoring)

    def _set_attributes(self, paths_FCP, scores_FC, n_iter_FC) -> None:
        """coefs_paths_, scores_, n_iter_ and C_ in scikit-learn's legacy layout (dicts keyed by class; for two
        classes by classes_[1] only), or with use_legacy_attributes=False its new one (arrays, C_ a float)."""
        binary = paths_FCP.ndim == 3
        paths_FCP = paths_FCP if self.fit_intercept else paths_FCP[..., :-1]  # scikit-learn's: no intercept column
        if self.use_legacy_attributes is False:
            self.coefs_paths_ = (paths_FCP[:, :, None] if binary else paths_FCP)[:, None]  # (F, 1, C, K', n + 1)
            self.scores_, self.n_iter_ = scores_FC[:, None], n_iter_FC[:, None].astype(np.int32)
            self.C_, self.l1_ratio_, self.l1_ratios_ = float(self.C_[0]), 0.0, np.zeros(1)
            return
        keys = self.classes_[1:] if binary else self.classes_
        paths = [paths_FCP] if binary else [paths_FCP[:, :, k] for k in range(len(keys))]
        n_iter = n_iter_FC[None].astype(np.int32)
        if self.l1_ratios is not None and not isinstance(self.l1_ratios, str):  # scikit-learn's l1_ratio axis
            paths, scores_FC, n_iter = [p[:, :, None] for p in paths], scores_FC[..., None], n_iter[..., None]
        self.coefs_paths_ = dict(zip(keys, paths, strict=True))
        self.scores_ = {key: scores_FC for key in keys}
        self.n_iter_ = n_iter
        self.C_ = np.repeat(self.C_, 1 if binary else len(keys))
        self.l1_ratio_, self.l1_ratios_ = np.zeros(len(self.C_)), np.zeros(1)

    def _lbfgs_paths(self, X, target, weight_N, weight_FN):
        """Each fold's path of Cs, ascending and warm-started, in one compiled call.

        Returns (paths (F, C, n + 1), or (F, C, K, n + 1) for K > 2 classes; n_iter (F, C); refit): refit(C, θ₀)
        is the all-data solution at C from θ₀. Each fold reads its training rows, padded to the bucket of the
        largest fold; X wider than tall (then solved in the basis of its rows, where a row costs little) or small
        (`SHARED_PROGRAM_MAX_ENTRIES`) is padded to all rows instead, so that the refit reuses the folds' compiled
        program as one of F problems (the others skipped); otherwise the refit is a one-problem program of its
        own. Rows of weight 0 at the end of a fold change none of its sums: its iterates are the same.
        """
        (rows, cols), order_C = _cv_shape(*X.shape), np.argsort(self.Cs_, kind="stable")
        basis_DK, (F, C) = row_basis(X, rows, cols), (len(weight_FN), len(self.Cs_))
        shared = basis_DK is not None or rows * cols <= SHARED_PROGRAM_MAX_ENTRIES
        l2_FC = np.array([[l2_strength(c, s) for c in self.Cs_[order_C]] for s in weight_FN.sum(axis=1)])
        if basis_DK is not None:
            rows_FM, weight_FM = np.repeat(np.arange(rows)[None], F, 0), pad(weight_FN, cols=rows)
        else:
            largest = int(np.count_nonzero(weight_FN, axis=1).max())
            rows_FM, weight_FM = _training_rows(weight_FN, rows if shared else bucket(largest, CV_ROW_FLOOR))
        call = functools.partial(self._call_lbfgs, self._device_data(X, target, basis_DK), basis_DK)
        start_P = np.zeros(X.shape[1] + 1) if target.ndim == 1 else np.zeros((target.shape[1], X.shape[1] + 1))
        sorted_FCP, sorted_n_iter_FC = call(rows_FM, weight_FM, l2_FC, np.full((F, C), self.max_iter), start_P)
        paths_FCP, n_iter_FC = np.empty_like(sorted_FCP), np.empty_like(sorted_n_iter_FC)
        paths_FCP[:, order_C], n_iter_FC[:, order_C] = sorted_FCP, sorted_n_iter_FC

        def refit(c, start_P):
            G = F if shared else 1
            only_GC = np.zeros((G, C), np.int64)
            only_GC[0, 0] = self.max_iter
            rows_GM, weight_GM = np.repeat(np.arange(rows)[None], G, 0), np.repeat(pad(weight_N, rows)[None], G, 0)
            theta_GCP, _ = call(rows_GM, weight_GM, np.full((G, C), l2_strength(c, weight_N.sum())), only_GC, start_P)
            return theta_GCP[0, 0]

        return paths_FCP, n_iter_FC, refit

    def _device_data(self, X, target, basis_DK) -> tuple:
        """(x_NK, y_N, basis_DK) as the compiled call takes them, made once per fit: X padded, and with `basis_DK`
        = Q (X wider than tall, as the course's 209 x 12288) the features X Q (rows x rows) instead, L-BFGS
        then running in coordinates c = Qᵀw: an iteration reads 256 rows of Q (for max |∇J|, all of Q only near
        the stop, `solvers.basis_measure`), not X twice."""
        rows, cols = _cv_shape(*X.shape)
        x_NK = pad(X, rows, cols) if basis_DK is None else pad(X, rows, cols) @ basis_DK
        with precision_scope(self.precision):
            dtype = np.dtype(self.precision)
            basis = None if basis_DK is None else to_device(basis_DK, dtype)
            return to_device(x_NK, dtype), to_device(pad(target, rows), dtype), basis

    def _call_lbfgs(self, data, basis_DK, rows_GM, weight_GM, l2_GC, max_iter_GC, start_P):
        """`solvers.lbfgs_paths` on `data` (`_device_data`) from θ = start_P ((n + 1,), or (K, n + 1)): (paths
        (G, C, n + 1) or (G, C, K, n + 1), n_iter (G, C))."""
        multi, n = start_P.ndim == 2, start_P.shape[-1] - 1
        cols = data[0].shape[1] if basis_DK is None else len(basis_DK)
        w_P = pad(start_P[..., :-1].T, rows=cols) if multi else pad(start_P[:-1], cols=cols)
        with precision_scope(self.precision):
            # Made on the host, copied once: jnp conversions and broadcasts are each a compiled program.
            dtype, G = np.dtype(self.precision), len(weight_GM)
            start = {"w": to_basis(w_P, basis_DK), "b": np.asarray(start_P[..., -1])}
            start_G = {k: to_device(np.broadcast_to(a, (G, *a.shape)), dtype) for k, a in start.items()}
            rows_GM, weight_GM = to_device(rows_GM, np.int32), to_device(weight_GM, dtype)
            l2_GC = to_device(l2_GC, dtype)
            limits = to_device(max_iter_GC, np.int32), to_device(self.tol, dtype)
            x_NK, y_N, basis = data
            solved = lbfgs_paths(start_G, x_NK, y_N, rows_GM, weight_GM, l2_GC, *limits, basis, self._intercept_mask())
            theta_GC, n_iter_GC = jax.device_get(solved)
        self._warn_if_not_converged(n_iter_GC[max_iter_GC > 0], stacklevel=5, solver="lbfgs")
        w_GCD = from_basis(np.asarray(theta_GC["w"]), basis_DK, multi)
        if multi:  # (G, C, cols, K) -> (G, C, K, n + 1)
            return np.concatenate([np.swapaxes(w_GCD[..., :n, :], -1, -2), theta_GC["b"][..., None]], -1), np.asarray(
                n_iter_GC
            )
        return np.concatenate([w_GCD[..., :n], theta_GC["b"][..., None]], -1), np.asarray(n_iter_GC)

    def _stacked_paths(self, X, y01, weight_N, weight_FN):
        """sgd, adam: every (fold, C) from zero as one vmapped stack; returns as `_lbfgs_paths`."""
        l2_K = np.array([l2_strength(C, s) for s in weight_FN.sum(axis=1) for C in self.Cs_])  # fold-major
        coef, intercept, n_iter = self._fit_stack(X, y01, np.repeat(weight_FN, len(self.Cs_), axis=0), l2_K)
        paths_FCP = np.concatenate([coef[:, 0], intercept], axis=1).reshape(len(weight_FN), len(self.Cs_), -1)

        def refit(C, start_P):
            l2 = np.array([l2_strength(C, weight_N.sum())])
            coef, intercept, _ = self._fit_stack(X, y01, weight_N[None], l2, (start_P[None, :-1], start_P[-1:]))
            return np.r_[coef[0, 0], intercept[0]]

        return paths_FCP, n_iter.reshape(len(weight_FN), -1), refit

    def _score_folds(self, X, y, sample_weight, folds, paths_FCP) -> np.ndarray:
        """The scorer of each (fold, C) solution on that fold's held-out rows: scores (n_folds, n_cs). As
        scikit-learn's, a scorer that takes `labels` gets classes_ (and `pos_label` classes_[1] for two classes),
        so that a held-out fold missing a class scores."""
        scorer = _with_labels(self._get_scorer(), self.classes_)
        fitted = linear_model.LogisticRegression()  # numpy predictions, as scikit-learn's own scoring
        fitted.classes_, fitted.n_features_in_ = self.classes_, X.shape[1]
        scores_FC = np.empty((len(folds), len(self.Cs_)))
        for f, (_, test) in enumerate(folds):
            x_test, y_test = X[test], y[test]
            kwargs = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[test]}
            for c, theta_P in enumerate(paths_FCP[f]):
                theta_KP = np.atleast_2d(theta_P)
                fitted.coef_, fitted.intercept_ = theta_KP[:, :-1], theta_KP[:, -1]
                scores_FC[f, c] = scorer(fitted, x_test, y_test, **kwargs)
        return scores_FC

    def _choose(self, paths_FCP, scores_FC, refit) -> None:
        """C_, coef_, intercept_ from the scores, as scikit-learn's LogisticRegressionCV chooses them.

        refit: the all-data solution at the C of the best summed score (the first of equal sums), started
        from the mean of the folds' solutions at that C. Otherwise: the mean of each fold's best solution,
        and the mean of their Cs.
        """
        if self.refit:
            best = int(np.argmax(scores_FC.sum(axis=0)))
            self.C_, theta_P = self.Cs_[[best]], refit(self.Cs_[best], paths_FCP[:, best].mean(axis=0))
        else:
            best_F = np.argmax(scores_FC, axis=1)
            self.C_ = np.array([self.Cs_[best_F].mean()])
            theta_P = paths_FCP[np.arange(len(best_F)), best_F].mean(axis=0)
        theta_KP = np.atleast_2d(theta_P)
        self._set_coef(theta_KP[:, :-1], theta_KP[:, -1])


def _l1_ratio(l1_ratios) -> float:
    """The one l1_ratio of `l1_ratios` (None, "warn": 0); refused, as scikit-learn's lbfgs does, if not 0."""
    if l1_ratios is None or isinstance(l1_ratios, str):
        return 0.0
    ratios = np.unique(np.asarray(l1_ratios, np.float64))
    return float(ratios[0]) if len(ratios) == 1 else float(ratios.max())


def _with_labels(scorer, classes):
    """`scorer` given labels=classes (and pos_label=classes[-1] for two classes) where its metric takes them."""
    score_func = getattr(scorer, "_score_func", None)
    if score_func is None or "labels" not in inspect.signature(score_func).parameters:
        return scorer
    extra = (
        {"pos_label": classes[-1]}
        if len(classes) <= 2 and "pos_label" in inspect.signature(score_func).parameters
        else {}
    )
    return make_scorer(
        score_func,
        greater_is_better=scorer._sign == 1,
        response_method=scorer._response_method,
        **{"labels": classes, **extra, **getattr(scorer, "_kwargs", {})},
    )
