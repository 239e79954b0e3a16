r"""scikit-learn estimators on lr_jax's compiled training loop: `LogisticRegression`, `LogisticRegressionCV`.

The objective is scikit-learn's L2 logistic regression. With sample weights sᵢ (times the class weights) and
S = Σ sᵢ, scikit-learn minimizes C Σ sᵢLᵢ + ½‖w‖² and lr_jax (1/S) Σ sᵢLᵢ + (λ/2)‖w‖²: the same minimizer
at λ = 1/(C·S) (C = inf: no penalty). `tol` bounds ‖∇J‖₂ of lr_jax's J (scikit-learn's lbfgs bounds the
largest |∂J/∂θ| of the same J), so a tol stops both near the same point.

Compile once: every fit trains a stack of K problems (K = 1 for a plain fit), differing in row weights and
hyperparameters, in one compiled call (`_run_stack`). X is padded to bucketed sizes (8 per octave, at most
1/8 padding; at least 256 rows and 32 columns) with zero-weight rows and zero columns, so folds of slightly
different sizes (GridSearchCV, cross_val_score) and small problems share one compiled program; C, tol and the
learning rate are traced values. `LogisticRegressionCV` with sgd or adam trains all folds x Cs as one such
stack (then the refit): each member sees the whole padded data, the rows outside its training
fold weighted 0.

`LogisticRegressionCV` with lbfgs (the default) runs as scikit-learn's: each fold's path of Cs ascending,
each C warm-started from the previous solution, stopping at max |∂J/∂θ| <= tol (scipy's gtol, as
scikit-learn's lbfgs), all folds x Cs in one compiled call (`lr_jax.solvers.lbfgs_paths`); the refit at the
chosen C starts from the folds' mean solution, in the same compiled program. Rows are padded to a bucket
with a floor of 128 (every iteration reads them all); X wider than tall is replaced by its coordinates in
an orthonormal basis of its rows (exactly the same problem, iterates and stopping test; see `_call_lbfgs`).

scikit-learn is an optional extra (`pip install -e '.[sklearn]'`); this is the only module importing it.
"""

from __future__ import annotations

import functools
import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn import linear_model
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from lr_jax.hooks import ProgressBar

# lr_jax's numerics, used only through the names below: re-point them here when the package moves.
from lr_jax.model import batched_logit, init_params, predict_proba
from lr_jax.optim import make_hparams, spec
from lr_jax.runtime import precision_scope
from lr_jax.solvers import lbfgs_paths
from lr_jax.train import init_state, run_steps


def _to_params(coef_1D, intercept_1, dtype):
    """The model's parameters from scikit-learn's `coef_` (1, n) and `intercept_` (1,)."""
    return {"w": jnp.asarray(coef_1D[0], dtype), "b": jnp.asarray(intercept_1[0], dtype)}


def _from_params(params_K) -> tuple[np.ndarray, np.ndarray]:
    """A stack of K parameter sets as scikit-learn's (coef (K, 1, n), intercept (K, 1))."""
    p = jax.device_get(params_K)
    return np.asarray(p["w"])[:, None, :], np.asarray(p["b"])[:, None]


@functools.partial(jax.jit, static_argnames=("optim",))
def _start_stack(params, hparams_K, key, *, optim):
    """K optimizer states, all starting from `params`."""
    return jax.vmap(lambda hp: init_state(params, hp, key, optim=optim))(hparams_K)


@functools.partial(jax.jit, static_argnames=("num_steps", "optim"))
def _run_stack(state_K, x_ND, y_N, weight_KN, hparams_K, *, num_steps, optim):
    """`run_steps` for K problems on one data set, each with its own row weights and hyperparameters.

    SGD and Adam are vmapped (the K matrix-vector products become one matrix product). L-BFGS problems run
    one after another in the same program (`lax.map`): vmapped, optax's zoom line search gets batched
    branch predicates, and 6 problems on the course data took 11x one problem's time instead of <= 6x
    (measured on 2 CPU cores; lax.map: 3.5x).
    """
    run = lambda s, w_N, hp: run_steps(s, x_ND, y_N, hp, num_steps=num_steps, optim=optim, weight_N=w_N)
    if optim.name == "lbfgs":
        return jax.lax.map(lambda args: run(*args), (state_K, weight_KN, hparams_K))
    return jax.vmap(run)(state_K, weight_KN, hparams_K)


_logit = jax.jit(batched_logit)
_proba = jax.jit(predict_proba)
# --- end of lr_jax's numerics ---


ROW_FLOOR, COL_FLOOR = 256, 32  # small problems share one compiled program (the padding costs nothing)
CV_ROW_FLOOR = 128  # LogisticRegressionCV's L-BFGS paths: every iteration of every fold reads all padded rows


def _bucket(size: int, floor: int) -> int:
    """`size` rounded up to one of 8 sizes per octave (..., 128, 144, ..., 240, 256, 288, ...), >= floor."""
    step = 1 << max(size.bit_length() - 4, 0)
    return max(-(-size // step) * step, floor)


def _pad(a: np.ndarray, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """`a` with zeros appended to `rows` along its first axis and `cols` along its last."""
    widths = [(0, 0)] * a.ndim
    if rows is not None:
        widths[0] = (0, rows - a.shape[0])
    if cols is not None:
        widths[-1] = (0, cols - a.shape[-1])
    return np.pad(a, widths)


def _padded_shape(m: int, n: int) -> tuple[int, int]:
    """Rows and columns of X as trained and predicted on: padded rows weigh 0; padded columns are 0, so
    their weights get no gradient but λw and stay 0 from a zero start (the solution is unchanged)."""
    return _bucket(m, ROW_FLOOR), _bucket(n, COL_FLOOR)


def _l2(C: float, weight_sum: float) -> float:
    """λ = 1/(C·S), 0 for C = inf."""
    if weight_sum <= 0:
        raise ValueError(
            "sample_weight: the weights of a training set sum to 0. Give at least one "
            "example of each training set a positive weight."
        )
    return 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)


def _cv_shape(m: int, n: int) -> tuple[int, int]:
    """`LogisticRegressionCV`'s padded rows and columns (a lower row floor: an L-BFGS iteration reads them all)."""
    return _bucket(m, CV_ROW_FLOOR), _bucket(n, COL_FLOOR)


def _training_rows(weight_FN) -> tuple[np.ndarray, np.ndarray]:
    """Each fold's rows of nonzero weight and their weights (F, M), M bucketed; padding: row 0, weight 0."""
    train_F = [np.flatnonzero(w_N) for w_N in weight_FN]  # rows of weight 0 change nothing
    rows_FM = np.zeros((len(train_F), _bucket(max(map(len, train_F)), CV_ROW_FLOOR)), np.int64)
    weight_FM = np.zeros(rows_FM.shape)
    for f, rows_M in enumerate(train_F):
        rows_FM[f, : len(rows_M)], weight_FM[f, : len(rows_M)] = rows_M, weight_FN[f, rows_M]
    return rows_FM, weight_FM


def _row_basis(X, rows: int, cols: int) -> np.ndarray | None:
    """An orthonormal basis (cols x rows) of the span of X's rows (X padded), for X wider than tall; else None."""
    if cols <= rows:
        return None
    with threadpool_limits(1):  # tall-skinny QR: one BLAS thread measured 0.2 s, two on 2 busy cores 1-2 s
        return np.linalg.qr(_pad(X, rows, cols).T)[0]  # padded rows of X: columns of Q orthogonal to X


_COMMON_CONSTRAINTS = {
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "precision": [StrOptions({"float32", "float64"})],
    "verbose": ["verbose"],
}


class _BinaryLinear(ClassifierMixin, BaseEstimator):
    """Validation, training of a stack of problems, and the predictions: what both estimators share."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _validate_fit_data(self, X, y, sample_weight):
        """(X, y, y as 0/1, per-row weights: sample_weight times class_weight), classes_ set."""
        X, y = validate_data(self, X, y, dtype=np.dtype(self.precision), order="C")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                f"y has {len(self.classes_)} class(es) {self.classes_[:5]}: Only binary classification is "
                "supported. Pass labels of exactly two classes, or wrap the estimator in "
                "sklearn.multiclass.OneVsRestClassifier."
            )
        y01 = (y == self.classes_[1]).astype(X.dtype)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        weight_N = sample_weight
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y, sample_weight=sample_weight)
            weight_N = sample_weight * per_class[y01.astype(np.intp)]
        return X, y, y01, weight_N

    def _fit_stack(self, X, y01, weight_KN, l2_K, init=None):
        """Train K problems on (X, y01) in one compiled call: (coef (K, 1, n), intercept (K, 1), n_iter (K,))."""
        (m, n), optim = X.shape, spec(name=self.solver)
        rows, cols = _padded_shape(m, n)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with precision_scope(self.precision):
            dtype = jnp.dtype(self.precision)
            params = (
                init_params(cols, dtype=dtype) if init is None else _to_params(_pad(init[0], cols=cols), init[1], dtype)
            )
            hparams = make_hparams(self.learning_rate, dtype, l2=np.asarray(l2_K), tol=self.tol)
            hparams = jax.tree.map(lambda v: jnp.broadcast_to(v, (len(l2_K),)), hparams)
            state = _start_stack(params, hparams, jax.random.key(seed), optim=optim)
            x_ND, y_N, weight_KN = (
                jnp.asarray(a, dtype) for a in (_pad(X, rows, cols), _pad(y01, rows), _pad(weight_KN, cols=rows))
            )
            state = self._run_in_chunks(state, x_ND, y_N, weight_KN, hparams, optim)
            coef, intercept = _from_params(state.params)
            n_iter = np.asarray(state.step)
        self._warn_if_not_converged(n_iter)
        return coef[..., :n], intercept, n_iter

    def _warn_if_not_converged(self, n_iter, stacklevel: int = 4) -> None:
        """A ConvergenceWarning if any problem stopped at max_iter (stacklevel 4: from `_fit_stack`)."""
        if np.any(np.asarray(n_iter) >= self.max_iter):
            warnings.warn(
                f"{type(self).__name__}: {self.solver} did not reach tol={self.tol} in max_iter="
                f"{self.max_iter} iterations. Increase max_iter, or scale the data.",
                ConvergenceWarning,
                stacklevel=stacklevel,  # the caller of fit()
            )

    def _run_in_chunks(self, state, x_ND, y_N, weight_KN, hparams, optim):
        """All of max_iter in one call, or (verbose) in 20 chunks with a progress bar between them."""
        chunk, done = -(-self.max_iter // 20) if self.verbose else self.max_iter, 0
        with ProgressBar(self.max_iter, x_ND.shape[0], enabled=bool(self.verbose)) as bar:
            while done < self.max_iter:
                n = min(chunk, self.max_iter - done)
                state, costs_KT = _run_stack(state, x_ND, y_N, weight_KN, hparams, num_steps=n, optim=optim)
                ran = int(np.max(state.step)) - done
                if ran and bar.visible:
                    bar(state, np.asarray(costs_KT[0])[:ran])
                done += ran
                if ran < n:  # every problem has reached tol
                    break
        return state

    def _forward(self, fn, X) -> np.ndarray:
        """`fn(params, x_ND)` on X padded to its bucket (so that batch sizes share a compile)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.precision), order="C")
        rows, cols = _padded_shape(*X.shape)
        with precision_scope(self.precision):
            params = _to_params(_pad(self.coef_, cols=cols), self.intercept_, X.dtype)
            return np.asarray(fn(params, jnp.asarray(_pad(X, rows, cols))))[: X.shape[0]]

    def decision_function(self, X) -> np.ndarray:
        """The logit z = wᵀx + b of each row: > 0 predicts classes_[1]."""
        return self._forward(_logit, X)

    def predict_proba(self, X) -> np.ndarray:
        """(n, 2): P(classes_[0]), P(classes_[1])."""
        p_N = self._forward(_proba, X)
        return np.stack([1 - p_N, p_N], axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        """(n, 2): log P, from the logit (finite where P rounds to 0): log σ(z) = -log(1 + e^{-z})."""
        z_N = self.decision_function(X)
        return np.stack([-np.logaddexp(0, z_N), -np.logaddexp(0, -z_N)], axis=1)

    def predict(self, X) -> np.ndarray:
        """classes_[1] where the logit is > 0, else classes_[0]."""
        z_N = self.decision_function(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[(z_N > 0).astype(np.intp)]


class LogisticRegression(_BinaryLinear):
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
        **_COMMON_CONSTRAINTS,
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
        l2_K = np.array([_l2(self.C, weight_N.sum())])
        coef, intercept, n_iter = self._fit_stack(X, y01, weight_N[None], l2_K, init)
        self.coef_, self.intercept_, self.n_iter_ = coef[0], intercept[0], n_iter.astype(np.int32)
        return self


class LogisticRegressionCV(_BinaryLinear):
    """`LogisticRegression` with C chosen by cross-validation, all Cs x folds trained in one compiled call.

    tol: with lbfgs, on max |∂J/∂θ| (scikit-learn's), each fold's Cs warm-started in ascending order; with
    sgd and adam, on ‖∇J‖₂, every (fold, C) from zero as one vmapped stack. verbose: a progress bar with sgd
    and adam (lbfgs runs as one call, without one).

    As scikit-learn's: Cs (an int n: np.logspace(-4, 4, n); or a list), cv (folds, or a splitter;
    StratifiedKFold(5) by default), scoring (None: accuracy), refit (True: refit on all data at the C of the
    best summed score, from the mean of the folds' solutions; False: average the folds' best solutions).
    Fitted (scikit-learn 1.9's legacy layout): Cs_, C_ (1,), scores_ and coefs_paths_ ({classes_[1]:
    (n_folds, n_cs[, n + 1])}), n_iter_ (1, n_folds, n_cs), coef_, intercept_, classes_.
    """

    _parameter_constraints = {
        "Cs": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "refit": ["boolean"],
        **_COMMON_CONSTRAINTS,
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
    ):
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

    def fit(self, X, y, sample_weight=None):
        """Train every (fold, C) in one compiled call, score each on its held-out fold, pick C, refit."""
        self._validate_params()
        X, y, y01, weight_N = self._validate_fit_data(X, y, sample_weight)
        Cs = self.Cs
        self.Cs_ = np.logspace(-4, 4, Cs) if isinstance(Cs, numbers.Integral) else np.asarray(Cs, np.float64)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        weight_FN = np.zeros((len(folds), X.shape[0]))
        for f, (train, _) in enumerate(folds):
            weight_FN[f, train] = weight_N[train]
        fit_paths = self._lbfgs_paths if self.solver == "lbfgs" else self._stacked_paths
        paths_FCP, n_iter_FC, refit = fit_paths(X, y01, weight_N, weight_FN)
        self.coefs_paths_ = {self.classes_[1]: paths_FCP}
        self.scores_ = {self.classes_[1]: self._score_folds(X, y, sample_weight, folds, paths_FCP)}
        self.n_iter_ = n_iter_FC[None].astype(np.int32)
        self._choose(paths_FCP, refit)
        return self

    def _lbfgs_paths(self, X, y01, weight_N, weight_FN):
        """Each fold's path of Cs, ascending and warm-started, in one compiled call.

        Returns (paths (F, C, n + 1), n_iter (F, C), refit): refit(C, θ₀) is the all-data solution at C from
        θ₀. Each fold reads only its training rows; X wider than tall (then solved in the basis of its rows,
        where a row costs little) keeps all rows, so that the refit reuses the folds' compiled program as
        one of F problems (the others skipped); otherwise the refit is a one-problem program of its own.
        """
        (rows, cols), order_C = _cv_shape(*X.shape), np.argsort(self.Cs_, kind="stable")
        basis_DK, (F, C) = _row_basis(X, rows, cols), (len(weight_FN), len(self.Cs_))
        l2_FC = np.array([[_l2(c, s) for c in self.Cs_[order_C]] for s in weight_FN.sum(axis=1)])
        if basis_DK is not None:
            rows_FM, weight_FM = np.repeat(np.arange(rows)[None], F, 0), _pad(weight_FN, cols=rows)
        else:
            rows_FM, weight_FM = _training_rows(weight_FN)
        call = functools.partial(self._call_lbfgs, self._device_data(X, y01, basis_DK), basis_DK)
        start_P = np.zeros(X.shape[1] + 1)
        sorted_FCP, sorted_n_iter_FC = call(rows_FM, weight_FM, l2_FC, np.full((F, C), self.max_iter), start_P)
        paths_FCP, n_iter_FC = np.empty_like(sorted_FCP), np.empty_like(sorted_n_iter_FC)
        paths_FCP[:, order_C], n_iter_FC[:, order_C] = sorted_FCP, sorted_n_iter_FC

        def refit(c, start_P):
            G = F if basis_DK is not None else 1
            only_GC = np.zeros((G, C), np.int64)
            only_GC[0, 0] = self.max_iter
            rows_GM, weight_GM = np.repeat(np.arange(rows)[None], G, 0), np.repeat(_pad(weight_N, rows)[None], G, 0)
            theta_GCP, _ = call(rows_GM, weight_GM, np.full((G, C), _l2(c, weight_N.sum())), only_GC, start_P)
            return theta_GCP[0, 0]

        return paths_FCP, n_iter_FC, refit

    def _device_data(self, X, y01, basis_DK) -> tuple:
        """(x_NK, y_N, basis_DK) as the compiled call takes them, made once per fit: X padded, and with `basis_DK`
        = Q (X wider than tall, as the course's 209 x 12288) the features X Q (rows x rows) instead, L-BFGS
        then running in coordinates c = Qᵀw: an iteration reads 256 rows of Q (for max |∇J|, all of Q only near
        the stop, `solvers.basis_measure`), not X twice."""
        rows, cols = _cv_shape(*X.shape)
        x_NK = _pad(X, rows, cols) if basis_DK is None else _pad(X, rows, cols) @ basis_DK
        with precision_scope(self.precision):
            dtype = jnp.dtype(self.precision)
            basis = None if basis_DK is None else jnp.asarray(basis_DK, dtype)
            return jnp.asarray(x_NK, dtype), jnp.asarray(_pad(y01, rows), dtype), basis

    def _call_lbfgs(self, data, basis_DK, rows_GM, weight_GM, l2_GC, max_iter_GC, start_P):
        """`solvers.lbfgs_paths` on `data` (`_device_data`) from θ = start_P: (paths (G, C, n + 1), n_iter (G, C))."""
        n, cols = len(start_P) - 1, data[0].shape[1] if basis_DK is None else len(basis_DK)
        w_P = _pad(start_P[:-1], cols=cols)
        with precision_scope(self.precision):
            dtype = jnp.dtype(self.precision)
            start = {
                "w": jnp.asarray(w_P if basis_DK is None else w_P @ basis_DK, dtype),
                "b": jnp.asarray(start_P[-1], dtype),
            }
            start_G = jax.tree.map(lambda a: jnp.broadcast_to(a, (len(weight_GM), *a.shape)), start)
            rows_GM, weight_GM, l2_GC = (
                jnp.asarray(rows_GM, jnp.int32),
                jnp.asarray(weight_GM, dtype),
                jnp.asarray(l2_GC, dtype),
            )
            limits = jnp.asarray(max_iter_GC, jnp.int32), jnp.asarray(self.tol, dtype)
            x_NK, y_N, basis = data
            solved = lbfgs_paths(start_G, x_NK, y_N, rows_GM, weight_GM, l2_GC, *limits, basis)
            theta_GC, n_iter_GC = jax.device_get(solved)
        self._warn_if_not_converged(n_iter_GC[max_iter_GC > 0], stacklevel=5)
        w_GCD = theta_GC["w"] if basis_DK is None else theta_GC["w"] @ basis_DK.T.astype(theta_GC["w"].dtype)
        return np.concatenate([w_GCD[..., :n], theta_GC["b"][..., None]], -1), np.asarray(n_iter_GC)

    def _stacked_paths(self, X, y01, weight_N, weight_FN):
        """sgd, adam: every (fold, C) from zero as one vmapped stack; returns as `_lbfgs_paths`."""
        l2_K = np.array([_l2(C, s) for s in weight_FN.sum(axis=1) for C in self.Cs_])  # fold-major
        coef, intercept, n_iter = self._fit_stack(X, y01, np.repeat(weight_FN, len(self.Cs_), axis=0), l2_K)
        paths_FCP = np.concatenate([coef[:, 0], intercept], axis=1).reshape(len(weight_FN), len(self.Cs_), -1)

        def refit(C, start_P):
            l2 = np.array([_l2(C, weight_N.sum())])
            coef, intercept, _ = self._fit_stack(X, y01, weight_N[None], l2, (start_P[None, :-1], start_P[-1:]))
            return np.r_[coef[0, 0], intercept[0]]

        return paths_FCP, n_iter.reshape(len(weight_FN), -1), refit

    def _score_folds(self, X, y, sample_weight, folds, paths_FCP) -> np.ndarray:
        """The scorer of each (fold, C) solution on that fold's held-out rows: scores (n_folds, n_cs)."""
        scorer = get_scorer("accuracy" if self.scoring is None else self.scoring)
        fitted = linear_model.LogisticRegression()  # numpy predictions, as scikit-learn's own scoring
        fitted.classes_, fitted.n_features_in_ = self.classes_, X.shape[1]
        scores_FC = np.empty((len(folds), len(self.Cs_)))
        for f, (_, test) in enumerate(folds):
            x_test, y_test = X[test], y[test]
            kwargs = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[test]}
            for c, theta_P in enumerate(paths_FCP[f]):
                fitted.coef_, fitted.intercept_ = theta_P[None, :-1], theta_P[-1:]
                scores_FC[f, c] = scorer(fitted, x_test, y_test, **kwargs)
        return scores_FC

    def _choose(self, paths_FCP, refit) -> None:
        """C_, coef_, intercept_ from the scores, as scikit-learn's LogisticRegressionCV chooses them.

        refit: the all-data solution at the C of the best summed score (the first of equal sums), started
        from the mean of the folds' solutions at that C. Otherwise: the mean of each fold's best solution,
        and the mean of their Cs.
        """
        scores_FC = self.scores_[self.classes_[1]]
        if self.refit:
            best = int(np.argmax(scores_FC.sum(axis=0)))
            self.C_, theta_P = self.Cs_[[best]], refit(self.Cs_[best], paths_FCP[:, best].mean(axis=0))
        else:
            best_F = np.argmax(scores_FC, axis=1)
            self.C_ = np.array([self.Cs_[best_F].mean()])
            theta_P = paths_FCP[np.arange(len(best_F)), best_F].mean(axis=0)
        self.coef_, self.intercept_ = theta_P[None, :-1], theta_P[-1:]
