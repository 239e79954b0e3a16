r"""What lr_jax's two scikit-learn estimators share (`lr_jax.sklearn.logistic`): the objective, the padded data, the
compiled training of a stack of problems, validation and the predictions.

The objective is scikit-learn's L2 logistic regression (for K > 2 classes its multinomial one, W (n, K) with
all K columns penalized: `lr_jax.sklearn.solvers`). With sample weights sᵢ (times the class weights) and
S = Σ sᵢ, scikit-learn minimizes C Σ sᵢLᵢ + ½‖w‖² and lr_jax (1/S) Σ sᵢLᵢ + (λ/2)‖w‖²: the same minimizer
at λ = 1/(C·S) (C = inf: no penalty).

Compile once: every fit trains a stack of K problems (K = 1 for a plain fit), differing in row weights and
hyperparameters, in one compiled call (`_run_stack`). X is padded to bucketed sizes (8 per octave, at most
1/8 padding; at least 256 rows and 32 columns) with zero-weight rows and zero columns, so folds of slightly
different sizes (GridSearchCV, cross_val_score) and small problems share one compiled program; C, tol,
max_iter and the learning rate are traced values (docs/performance.md).
"""

from __future__ import annotations

import functools
import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

# lr_jax's numerics, used only through the names below (and lr_jax.sklearn.solvers in estimator_cv).
from lr_jax import outcomes
from lr_jax.errors import DivergenceError, LrJaxError
from lr_jax.models.interface import param_dtype
from lr_jax.models.logistic import batched_logit
from lr_jax.optim import make_hparams, spec
from lr_jax.runtime import freeze_at_exit, precision_scope, use_compilation_cache
from lr_jax.train import init_state, steps_done, train_step

# A process that imported the estimators (and with them JAX, scikit-learn, SciPy, pandas) exits without the
# collector's passes over all of them (`runtime.freeze_at_exit`).
freeze_at_exit()


def _to_params(coef_1D, intercept_1, dtype):
    """The model's parameters from scikit-learn's `coef_` (1, n) and `intercept_` (1,)."""
    return {"w": to_device(coef_1D[0], dtype), "b": to_device(intercept_1[0], dtype)}


def to_device(a, dtype) -> jax.Array:
    """`a` as a device array of `dtype`, converted by NumPy (jnp.asarray would compile a conversion)."""
    return jax.device_put(np.asarray(a, dtype))


def _from_params(params_K) -> tuple[np.ndarray, np.ndarray]:
    """A stack of K parameter sets as scikit-learn's (coef (K, 1, n), intercept (K, 1))."""
    p = jax.device_get(params_K)
    return np.asarray(p["w"])[:, None, :], np.asarray(p["b"])[:, None]


@functools.partial(jax.jit, static_argnames=("optim",))
def _start_stack(params, hparams_K, seed, *, optim):
    """K optimizer states, all starting from `params`, with the PRNG key of `seed` (made here: outside, making
    it would be a compiled program of its own)."""
    key = jax.random.key(seed)
    return jax.vmap(lambda hp: init_state(params, hp, key, optim=optim))(hparams_K)


COST_SLOTS = 512  # the costs `_run_stack` keeps per call: every iteration's up to 512 iterations, then a sample


@functools.partial(jax.jit, static_argnames=("optim",))
def _run_stack(state_K, x_ND, y_N, weight_KN, hparams_K, limit, *, optim):
    """`train.train_step` for K problems on one data set (vmapped: the K matrix-vector products become one
    matrix product), each with its own row weights and hyperparameters, until step `limit` (traced: every
    max_iter and chunk runs this one program) or ‖∇J‖₂ < tol.

    Returns (states, costs (K, COST_SLOTS)): the cost before iteration t of this call in slot t, or for a call
    that may make n > S = COST_SLOTS iterations in slot ⌊t·S/n⌋, each slot holding its first iteration's (so
    slot 0 holds the first); NaN where no iteration was made.
    """
    start = state_K.step[0]  # the stack's members start at one step
    span = jnp.maximum(limit - start, COST_SLOTS)  # n, or S for a call of at most S iterations: one slot each

    def run(state, weight_N, hparams):
        def iteration(carry):
            state, costs_S, _ = carry
            new_state, value, grad_norm = train_step(state, x_ND, y_N, hparams, optim, weight_N)
            t = state.step - start
            slot = t * COST_SLOTS // span
            first = (t == 0) | (slot != (t - 1) * COST_SLOTS // span)
            keep = first & (new_state.step > state.step)  # an iteration was made, the first of its slot
            return new_state, costs_S.at[slot].set(jnp.where(keep, value, costs_S[slot])), grad_norm

        keep_going = lambda carry: (carry[0].step < limit) & ~(carry[2] < hparams["tol"])
        dtype = param_dtype(state.params)
        costs_S = jnp.full((COST_SLOTS,), jnp.nan, dtype)
        state, costs_S, _ = jax.lax.while_loop(keep_going, iteration, (state, costs_S, jnp.full((), jnp.inf, dtype)))
        return state, costs_S

    return jax.vmap(run)(state_K, weight_KN, hparams_K)


def slots_filled(ran: int, span: int) -> int:
    """How many of `_run_stack`'s cost slots `ran` iterations of a call that could make `span` fill."""
    return 0 if ran <= 0 else (ran - 1) * COST_SLOTS // max(span, COST_SLOTS) + 1


_logit = jax.jit(batched_logit)
_linear = jax.jit(lambda params, x_ND: x_ND @ params["w"] + params["b"][None, :])  # K classes: the logits (N, K)
# --- end of lr_jax's numerics ---


ROW_FLOOR, COL_FLOOR = 256, 32  # small problems share one compiled program (the padding costs nothing)


def bucket(size: int, floor: int) -> int:
    """`size` rounded up to one of 8 sizes per octave (..., 128, 144, ..., 240, 256, 288, ...), >= floor."""
    step = 1 << max(size.bit_length() - 4, 0)
    return max(-(-size // step) * step, floor)


def pad(a: np.ndarray, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """`a` with zeros appended to `rows` along its first axis and `cols` along its last."""
    widths = [(0, 0)] * a.ndim
    if rows is not None:
        widths[0] = (0, rows - a.shape[0])
    if cols is not None:
        widths[-1] = (0, cols - a.shape[-1])
    return np.pad(a, widths)


def padded_shape(m: int, n: int) -> tuple[int, int]:
    """Rows and columns of X as trained and predicted on: padded rows weigh 0; padded columns are 0, so
    their weights get no gradient but λw and stay 0 from a zero start (the solution is unchanged)."""
    return bucket(m, ROW_FLOOR), bucket(n, COL_FLOOR)


def start_weights(init, cols: int, target) -> np.ndarray:
    """The start of the weights, padded to `cols`: zeros, or warm_start's coef_ (1 or K, n); (cols,) for a
    binary target, (cols, K) for a one-hot one."""
    if target.ndim == 1:
        return np.zeros(cols) if init is None else pad(np.asarray(init[0][0], np.float64), cols=cols)
    return np.zeros((cols, target.shape[1])) if init is None else pad(np.asarray(init[0], np.float64).T, rows=cols)


def start_intercept(init, target) -> np.ndarray:
    """The start of the intercept: 0 (binary) or zeros (K,), or warm_start's intercept_."""
    if init is None:
        return np.zeros(()) if target.ndim == 1 else np.zeros(target.shape[1])
    return np.asarray(init[1], np.float64)[0] if target.ndim == 1 else np.asarray(init[1], np.float64)


def row_basis(X, rows: int, cols: int) -> np.ndarray | None:
    """An orthonormal basis (cols x rows) of the span of X's rows (X padded), for X wider than tall; else None."""
    if cols <= rows:
        return None
    with threadpool_limits(1):  # a tall-skinny QR: one BLAS thread, as more were slower on busy cores
        return np.linalg.qr(pad(X, rows, cols).T)[0]  # padded rows of X: columns of Q orthogonal to X


def to_basis(w, basis_DK):
    """Weights (cols,) or (cols, K) in the coordinates of the orthonormal `basis_DK` (None: unchanged)."""
    return w if basis_DK is None else basis_DK.T @ w


def from_basis(c, basis_DK, multi: bool = False):
    """Coordinates (..., rows) (binary) or (..., rows, K) (`multi`) back to weights (..., cols[, K])."""
    if basis_DK is None:
        return c
    basis_DK = basis_DK.astype(c.dtype)
    return np.einsum("dr,...rk->...dk", basis_DK, c) if multi else c @ basis_DK.T


def l2_strength(C: float, weight_sum: float) -> float:
    """λ = 1/(C·S), 0 for C = inf."""
    if weight_sum <= 0:
        raise ValueError(
            "sample_weight: the weights of a training set sum to 0. Give at least one "
            "example of each training set a positive weight."
        )
    return 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)


def host_cost(X, target, weight_N, l2: float, w, b) -> float:
    """J(w, b) computed by NumPy on the host (finite for any logit): binary (target 0/1, w (n,)) or
    multinomial (target one-hot (N, K), w (n, K), b (K,))."""
    if target.ndim == 1:
        z_N = X @ w + b
        losses_N = np.where(target == 1, np.logaddexp(0, -z_N), np.logaddexp(0, z_N))
    else:
        losses_N = -np.sum(target * log_softmax(X @ w + b), axis=1)
    return float(weight_N @ losses_N / weight_N.sum() + l2 / 2 * np.sum(np.square(w)))


def log_softmax(z_NK: np.ndarray) -> np.ndarray:
    """log softmax of each row (NumPy; the largest logit made 0 first, so exp cannot overflow)."""
    z_NK = z_NK - z_NK.max(axis=1, keepdims=True)
    return z_NK - np.log(np.exp(z_NK).sum(axis=1, keepdims=True))


COMMON_CONSTRAINTS = {
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "precision": [StrOptions({"float32", "float64"})],
    "verbose": ["verbose"],
    "compilation_cache_dir": [str, None],
    # scikit-learn's keywords, accepted where their value changes nothing here (`check_sklearn_keywords`)
    "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None, Hidden(StrOptions({"deprecated"}))],
    "dual": ["boolean"],
    "fit_intercept": ["boolean"],
    "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
    "n_jobs": [None, numbers.Integral],
}

FIRST_ORDER = ("sgd", "adam")  # lr_jax's training loop: binary problems only


def check_sklearn_keywords(estimator, solver: str, l1_ratio) -> bool:
    """scikit-learn's keywords that lr_jax has no use for: accepted at the values that change nothing (an L2
    or no penalty, the primal problem), refused otherwise with scikit-learn's own error, warned about as
    scikit-learn warns (penalty and n_jobs are deprecated there). Returns whether penalty=None asks for no
    penalty (C = inf)."""
    penalty = estimator.penalty
    if penalty == "deprecated":
        penalty = "l2" if not l1_ratio else "l1" if l1_ratio == 1 else "elasticnet"
    else:
        warnings.warn(
            "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this warning, leave "
            "'penalty' set to its default value and use 'l1_ratio' or 'C' instead. Use l1_ratio=0 instead of "
            "penalty='l2', l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 and 1 instead "
            "of penalty='elasticnet', and C=np.inf instead of penalty=None.",
            FutureWarning,
            stacklevel=3,
        )
    if penalty not in ("l2", None):
        raise ValueError(f"Solver {solver} supports only 'l2' or None penalties, got {penalty} penalty.")
    if estimator.dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={estimator.dual}")
    if not estimator.fit_intercept and solver in FIRST_ORDER:
        raise ValueError(
            f"fit_intercept=False: solver={solver!r} trains lr_jax's model, which has an intercept. Use "
            "solver='lbfgs' or 'newton-cholesky' for a model without one, or leave fit_intercept=True."
        )
    if estimator.n_jobs is not None:
        warnings.warn(
            f"'n_jobs' has no effect since 1.8 and will be removed in 1.10. You provided 'n_jobs={estimator.n_jobs}'"
            ", please leave it unspecified.",
            FutureWarning,
            stacklevel=3,
        )
    if penalty is None and getattr(estimator, "C", 1.0) != 1.0:
        warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters", stacklevel=3)
    return penalty is None


class SparseInputError(LrJaxError, TypeError):
    """X is a scipy.sparse matrix (a TypeError too, as scikit-learn's estimators refuse sparse X)."""


def dense_input(X):
    """X unchanged, or SparseInputError for a scipy.sparse matrix, naming the fix (docs/estimator.md)."""
    if sp.issparse(X):
        raise SparseInputError(
            f"X is a scipy.sparse {X.format.upper()} matrix of shape {X.shape}: lr_jax's estimators train on dense "
            "arrays (every solver step is a dense matrix product on the device). Pass X.toarray() if the dense "
            f"array fits in memory ({X.shape[0] * X.shape[1] * 8 / 2**30:.3g} GiB in float64), else use "
            "scikit-learn's LogisticRegression, whose solvers take sparse X."
        )
    return X


def out_dtype(X_dtype, precision: str) -> np.dtype:
    """The dtype of coef_ and intercept_: float32 for float32 X or precision (as scikit-learn keeps X's)."""
    return np.dtype(np.float32 if np.float32 in (X_dtype, np.dtype(precision)) else np.float64)


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Validation, training of a stack of problems, and the predictions: what both estimators share.

    Binary y: one weight vector, coef_ (1, n), the logit of classes_[1]. K > 2 classes: the multinomial
    (softmax) model, coef_ (K, n), intercept_ (K,), one logit per class.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _use_compilation_cache(self) -> None:
        """The persistent compilation cache of `compilation_cache_dir` ("auto", a folder; None: JAX's own
        setting), unless the process already has one (a notebook that set JAX's, a run of the CLI)."""
        if self.compilation_cache_dir is not None and not jax.config.values.get("jax_compilation_cache_dir"):
            use_compilation_cache(self.compilation_cache_dir)

    def _validate_fit_data(self, X, y, sample_weight):
        """(X in the training precision, y, the target: 0/1 for two classes, one-hot (N, K) for more; per-row
        weights: sample_weight times class_weight); sets classes_ and the dtype of the coefficients."""
        X, y = validate_data(self, dense_input(X), y, dtype=[np.float64, np.float32], order="C")
        self._coef_dtype = out_dtype(X.dtype, self.precision)
        X = X.astype(self.precision, copy=False)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data contains only one "
                f"class: {self.classes_[0]!r}. Pass labels of at least two classes."
            )
        if len(self.classes_) == 2:
            target = y_index.astype(X.dtype)
        else:
            target = np.eye(len(self.classes_), dtype=X.dtype)[y_index]
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        weight_N = sample_weight
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y, sample_weight=sample_weight)
            weight_N = sample_weight * per_class[y_index]
        return X, y, target, weight_N

    def _check_first_order(self, solver: str) -> None:
        """sgd and adam train with lr_jax's binary loop: refuse K > 2 classes, naming the solvers that fit them."""
        if solver in FIRST_ORDER and len(self.classes_) > 2:
            raise ValueError(
                f"solver={solver!r}: y has {len(self.classes_)} classes, and sgd and adam fit two. Use "
                "solver='lbfgs' (or 'auto', 'newton-cholesky') for the multinomial model."
            )

    def _intercept_mask(self):
        """The solvers' `intercept`: None (an intercept, the default program) or 0 on the device (none)."""
        return None if self.fit_intercept else to_device(0.0, self.precision)

    def _set_coef(self, coef, intercept) -> None:
        """coef_ and intercept_ as writable arrays of `_coef_dtype` (decision_function reads them each call)."""
        self.coef_ = np.array(coef, dtype=self._coef_dtype)
        self.intercept_ = np.array(intercept, dtype=self._coef_dtype)

    def _fit_stack(self, X, y01, weight_KN, l2_K, init=None, *, with_costs=False):
        """Train K problems on (X, y01) in one compiled call: (coef (K, 1, n), intercept (K, 1), n_iter (K,)),
        and with `with_costs` the cost before each iteration (K, n_iter.max()) after them."""
        (m, n), optim = X.shape, spec(name=self.solver)
        rows, cols = padded_shape(m, n)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        with precision_scope(self.precision):
            dtype = jnp.dtype(self.precision)
            init = (np.zeros((1, cols)), np.zeros(1)) if init is None else (pad(init[0], cols=cols), init[1])
            params = _to_params(*init, dtype)  # zeros: `init_params`' start, made on the host
            hparams = make_hparams(self.learning_rate, dtype, l2=np.asarray(l2_K), tol=self.tol)
            hparams = {k: to_device(np.broadcast_to(np.asarray(v), (len(l2_K),)), dtype) for k, v in hparams.items()}
            state = _start_stack(params, hparams, to_device(seed, np.uint32), optim=optim)
            x_ND, y_N, weight_KN = (
                to_device(a, dtype) for a in (pad(X, rows, cols), pad(y01, rows), pad(weight_KN, cols=rows))
            )
            state, costs_KT = self._run_in_chunks(state, x_ND, y_N, weight_KN, hparams, optim)
            coef, intercept = _from_params(state.params)
            n_iter = np.asarray(state.step)
        self._warn_if_not_converged(n_iter)
        return (coef[..., :n], intercept, n_iter) + ((costs_KT,) if with_costs else ())

    def _warn_if_not_converged(self, n_iter, stacklevel: int = 4, solver: str | None = None) -> None:
        """scikit-learn's ConvergenceWarning, in its lbfgs wording, if any problem stopped at max_iter
        (stacklevel 4: from `_fit_stack`)."""
        n_iter = np.asarray(n_iter)
        if n_iter.size and np.any(n_iter >= self.max_iter):
            warnings.warn(
                f"{solver or self.solver} failed to converge after {int(n_iter.max())} iteration(s) (status=1):\n"
                "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT\n\n"
                f"Increase the number of iterations to improve the convergence (max_iter={self.max_iter}).\n"
                "You might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html\n"
                "Please also refer to the documentation for alternative solver options:\n"
                "    https://scikit-learn.org/stable/modules/linear_model.html#logistic-regression",
                ConvergenceWarning,
                stacklevel=stacklevel,  # the caller of fit()
            )

    def _run_in_chunks(self, state, x_ND, y_N, weight_KN, hparams, optim):
        """All of max_iter in one call, or (verbose) in 20 chunks with a progress bar between them; max_iter
        and the chunk's end are traced, so every call runs one compiled program. Returns (the final state, the
        cost before each iteration (K, iterations run; sampled, first iteration kept, for a call of more than
        COST_SLOTS iterations), NaN for a problem's iterations not run)."""
        # Here, not at the top: the hooks module brings the run folder's and the data's (h5py, Pillow, pooch),
        # which `import lr_jax.sklearn` and the newton and lbfgs fits never need (tests/project/test_import_cost.py).
        from lr_jax.pipelines.hooks import ProgressBar

        chunk, done, costs = -(-self.max_iter // 20) if self.verbose else self.max_iter, 0, []
        with ProgressBar(self.max_iter, x_ND.shape[0], enabled=bool(self.verbose)) as bar:
            while done < self.max_iter:
                n = min(chunk, self.max_iter - done)
                limit = jax.device_put(np.int32(done + n))
                state, costs_KS = _run_stack(state, x_ND, y_N, weight_KN, hparams, limit, optim=optim)
                ran = steps_done(state) - done
                costs.append(np.asarray(costs_KS)[:, : slots_filled(ran, n)])
                if ran and bar.visible:
                    bar(state, np.full(ran, costs[-1][0, -1]))  # the bar shows the chunk's last kept cost
                done += ran
                if ran < n:  # every problem has reached tol
                    break
        return state, np.concatenate(costs, axis=1) if costs else np.zeros((weight_KN.shape[0], 0))  # max_iter=0

    def _check_finite(self) -> None:
        """Raise DivergenceError when the fitted coef_ or intercept_ hold a NaN or an infinity."""
        if np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all():
            return
        if self.solver not in ("sgd", "adam"):
            fix = "Scale X (e.g. StandardScaler), or use a smaller C."
        else:
            fix = f"Lower learning_rate (now {self.learning_rate:g}), scale X (e.g. StandardScaler), or use lbfgs."
        raise DivergenceError(
            f"{type(self).__name__}: the {self.solver} fit ended with non-finite coefficients (NaN or infinite): "
            f"training diverged. {fix}"
        )

    def _warn_outcomes(self, X, target, weight_N, l2: float, costs_T, *, from_start: bool) -> None:
        """An OutcomeWarning per finding of `lr_jax.outcomes.check_fit` on the fitted model, binary or K classes
        (stacklevel: the caller of fit())."""
        counts = weight_N > 0  # rows of weight 0 are not part of the problem (e.g. a class weighted out)
        X, target, weight_N = X[counts], target[counts], weight_N[counts]
        w, b = self._theta()
        if target.ndim == 1:
            z_N = X @ w + b
            train_y, train_proba = target.astype(np.int64), 1 / (1 + np.exp(-np.clip(z_N, -500, 500)))
        else:
            train_y, train_proba = np.argmax(target, axis=1), np.exp(log_softmax(X @ w + b))
        found = outcomes.check_fit(
            costs_T=costs_T,
            final_cost=host_cost(X, target, weight_N, l2, w, b),
            train_y=train_y,
            train_proba=train_proba,
            penalty=l2,
            from_start=from_start,
            knobs=outcomes.ESTIMATOR_KNOBS,
        )
        for finding in found:
            message = f"{type(self).__name__}: {finding.message} [{finding.code}]"
            warnings.warn(message, outcomes.OutcomeWarning, stacklevel=3)

    def _theta(self, coef=None, intercept=None) -> tuple[np.ndarray, np.ndarray]:
        """(w, b) as `host_cost` takes them, of coef_ and intercept_ (or of `coef`, `intercept`): w (n,), b a
        scalar for two classes; W (n, K), b (K,) for more."""
        coef = np.asarray(self.coef_ if coef is None else coef, np.float64)
        intercept = np.asarray(self.intercept_ if intercept is None else intercept, np.float64)
        return (coef[0], intercept[0]) if coef.shape[0] == 1 else (coef.T, intercept)

    def _forward(self, fn, X) -> np.ndarray:
        """`fn(params, x_ND)` on X padded to its bucket (so that batch sizes share a compile)."""
        check_is_fitted(self)
        X = validate_data(self, dense_input(X), reset=False, dtype=np.dtype(self.precision), order="C")
        rows, cols = padded_shape(*X.shape)
        with precision_scope(self.precision):
            coef, intercept = pad(np.asarray(self.coef_), cols=cols), np.asarray(self.intercept_)
            if coef.shape[0] == 1:
                params = _to_params(coef, intercept, X.dtype)
            else:
                params = {"w": to_device(coef.T, X.dtype), "b": to_device(intercept, X.dtype)}
                fn = _linear
            return np.asarray(fn(params, to_device(pad(X, rows, cols), X.dtype)))[: X.shape[0]]

    def decision_function(self, X) -> np.ndarray:
        """The logits: z = wᵀx + b (n,) for two classes (> 0 predicts classes_[1]); XWᵀ + b (n, K) for more."""
        return self._forward(_logit, X)

    def predict_proba(self, X) -> np.ndarray:
        """(n, K): P(classes_[k]); rows sum to 1 (σ of the logit for two classes, the softmax for more)."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """(n, K): log P, from the logits (finite where P rounds to 0): log σ(z) = -log(1 + e^{-z}); log softmax."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)], axis=1)
        return log_softmax(z)

    def predict(self, X) -> np.ndarray:
        """The class of the largest logit (for two classes: classes_[1] where the logit is > 0)."""
        z = self.decision_function(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[(z > 0).astype(np.intp) if z.ndim == 1 else np.argmax(z, axis=1)]
