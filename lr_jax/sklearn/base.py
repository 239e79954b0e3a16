r"""What lr_jax's two scikit-learn estimators share (`lr_jax.sklearn.logistic`): the objective, the padded data, the
compiled training of a stack of problems, validation and the predictions.

The objective is scikit-learn's L2 logistic regression. With sample weights sᵢ (times the class weights) and
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
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

# lr_jax's numerics, used only through the names below (and lr_jax.sklearn.solvers in estimator_cv).
from lr_jax import outcomes
from lr_jax.errors import DivergenceError
from lr_jax.models.interface import param_dtype
from lr_jax.models.logistic import batched_logit, predict_proba
from lr_jax.optim import make_hparams, spec
from lr_jax.runtime import precision_scope, use_compilation_cache
from lr_jax.train import init_state, steps_done, train_step


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
_proba = jax.jit(predict_proba)
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


def l2_strength(C: float, weight_sum: float) -> float:
    """λ = 1/(C·S), 0 for C = inf."""
    if weight_sum <= 0:
        raise ValueError(
            "sample_weight: the weights of a training set sum to 0. Give at least one "
            "example of each training set a positive weight."
        )
    return 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)


def host_cost(X, y01, weight_N, l2: float, w_D, b) -> float:
    """J(w, b) computed by NumPy on the host (finite for any logit)."""
    z_N = X @ w_D + b
    losses_N = np.where(y01 == 1, np.logaddexp(0, -z_N), np.logaddexp(0, z_N))
    return float(weight_N @ losses_N / weight_N.sum() + l2 / 2 * w_D @ w_D)


COMMON_CONSTRAINTS = {
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "precision": [StrOptions({"float32", "float64"})],
    "verbose": ["verbose"],
    "compilation_cache_dir": [str, None],
}


class BinaryLinear(ClassifierMixin, BaseEstimator):
    """Validation, training of a stack of problems, and the predictions: what both estimators share."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _use_compilation_cache(self) -> None:
        """The persistent compilation cache of `compilation_cache_dir` ("auto", a folder; None: JAX's own
        setting), unless the process already has one (a notebook that set JAX's, a run of the CLI)."""
        if self.compilation_cache_dir is not None and not jax.config.values.get("jax_compilation_cache_dir"):
            use_compilation_cache(self.compilation_cache_dir)

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
        return state, np.concatenate(costs, axis=1)

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

    def _warn_outcomes(self, X, y01, weight_N, l2: float, costs_T, *, from_start: bool) -> None:
        """An OutcomeWarning per finding of `lr_jax.outcomes.check_fit` on the fitted model (stacklevel: the
        caller of fit())."""
        counts = weight_N > 0  # rows of weight 0 are not part of the problem (e.g. a class weighted out)
        X, y01, weight_N = X[counts], y01[counts], weight_N[counts]
        z_N = X @ self.coef_[0] + self.intercept_[0]
        final_cost = host_cost(X, y01, weight_N, l2, self.coef_[0], self.intercept_[0])
        found = outcomes.check_fit(
            costs_T=costs_T,
            final_cost=final_cost,
            train_y=y01.astype(np.int64),
            train_proba=1 / (1 + np.exp(-np.clip(z_N, -500, 500))),
            penalty=l2,
            from_start=from_start,
            knobs=outcomes.ESTIMATOR_KNOBS,
        )
        for w in found:
            warnings.warn(f"{type(self).__name__}: {w.message} [{w.code}]", outcomes.OutcomeWarning, stacklevel=3)

    def _forward(self, fn, X) -> np.ndarray:
        """`fn(params, x_ND)` on X padded to its bucket (so that batch sizes share a compile)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.precision), order="C")
        rows, cols = padded_shape(*X.shape)
        with precision_scope(self.precision):
            params = _to_params(pad(self.coef_, cols=cols), self.intercept_, X.dtype)
            return np.asarray(fn(params, to_device(pad(X, rows, cols), X.dtype)))[: X.shape[0]]

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
