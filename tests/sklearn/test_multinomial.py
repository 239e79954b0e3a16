"""lr_jax.sklearn on K > 2 classes: scikit-learn's multinomial solutions, attributes and shapes, compile counts.

Agreement is measured on all coefficients, ‖Θ - Θ_sk‖ / ‖Θ_sk‖ < 1e-4 with Θ = [coef_ intercept_] (K, n + 1),
both sides run in float64 to max |∂J/∂θ| <= 1e-10 (scipy's gtol for scikit-learn, the same test here). At a
finite C, J is strictly convex in W and both sides keep Σₖ bₖ = 0 (a zero start, and Σₖ ∂J/∂bₖ = 0), so each
lies within ‖∇J‖₂/μ of one minimizer, μ >= λ = 1/(C·S): at most 1e-10·√P·C·S, below 1e-5·‖Θ‖ for the
problems and Cs here. That bound holds for any summation order (another CPU, a GPU, TF32 excluded: float64
only), so 1e-4 leaves a margin for scikit-learn stopping earlier on its relative-decrease test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import linear_model
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from lr_jax.runtime import CompileMeter
from lr_jax.sklearn import LogisticRegression, LogisticRegressionCV, OutcomeWarning

RTOL = 1e-4  # ‖Θ - Θ_sk‖ / ‖Θ_sk‖: see the module docstring
TIGHT = dict(tol=1e-10, max_iter=3000)


def standardized(loader):
    x_ND, y_N = loader(return_X_y=True)
    return StandardScaler().fit_transform(x_ND), y_N


def ten_classes():
    """A synthetic 10-class problem, 600 x 20 (not separable)."""
    x_ND, y_N = make_classification(
        n_samples=600, n_features=20, n_informative=12, n_classes=10, n_clusters_per_class=1, random_state=0
    )
    return x_ND, y_N


DATASETS = {"iris": lambda: standardized(load_iris), "digits": lambda: standardized(load_digits), "ten": ten_classes}


def sklearn_fit(estimator, *args, **kwargs):
    with threadpool_limits(1), warnings.catch_warnings():  # 2 shared cores: BLAS threads oversubscribe
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def relative_error(ours, theirs) -> float:
    theta, theta_sk = np.c_[ours.coef_, ours.intercept_], np.c_[theirs.coef_, theirs.intercept_]
    return float(np.linalg.norm(theta - theta_sk) / np.linalg.norm(theta_sk))


@pytest.mark.slow  # float64 L-BFGS to 1e-10 on digits (seconds on 2 cores)
@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_matches_sklearn_lbfgs(dataset, C):
    x_ND, y_N = DATASETS[dataset]()
    ours = LogisticRegression(C=C, solver="lbfgs", **TIGHT).fit(x_ND, y_N)
    theirs = sklearn_fit(linear_model.LogisticRegression(C=C, **TIGHT), x_ND, y_N)
    K = len(np.unique(y_N))
    assert ours.coef_.shape == (K, x_ND.shape[1]) and ours.intercept_.shape == (K,) and ours.n_iter_.shape == (1,)
    assert relative_error(ours, theirs) < RTOL
    proba = ours.predict_proba(x_ND)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)  # float64 softmax rows
    # probabilities of logits that agree to ~RTOL·|z|: the same to a few 1e-5
    np.testing.assert_allclose(proba, theirs.predict_proba(x_ND), atol=1e-4)
    assert np.mean(ours.predict(x_ND) == theirs.predict(x_ND)) > 0.995  # ties within RTOL may flip


@pytest.mark.parametrize("solver", ["auto", pytest.param("newton-cholesky", marks=pytest.mark.slow)])
def test_iris_string_labels_weights_and_newton(solver):
    """String labels, class_weight and sample_weight on iris, with lbfgs (auto for K > 2) and Newton."""
    x_ND, y_N = standardized(load_iris)
    names = np.array(["setosa", "versicolor", "virginica"])[y_N]
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y_N))
    common = dict(C=0.5, class_weight={"setosa": 2.0, "virginica": 0.5}, **TIGHT)
    ours = LogisticRegression(solver=solver, **common).fit(x_ND, names, sample_weight=sample_weight)
    theirs = sklearn_fit(linear_model.LogisticRegression(**common), x_ND, names, sample_weight=sample_weight)
    assert list(ours.classes_) == list(names[[0, 50, 100]])
    assert relative_error(ours, theirs) < RTOL
    np.testing.assert_array_equal(ours.predict(x_ND), theirs.predict(x_ND))
    log_p = ours.predict_log_proba(x_ND)
    np.testing.assert_allclose(np.exp(log_p), ours.predict_proba(x_ND), rtol=1e-12)
    assert ours.decision_function(x_ND).shape == (150, 3)


def test_coef_is_writable_and_followed():
    x_ND, y_N = standardized(load_iris)
    clf = LogisticRegression().fit(x_ND, y_N)
    clf.coef_[:] = 0.0
    clf.intercept_[:] = [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(clf.predict(x_ND), np.ones(150))  # the intercept alone decides


@pytest.mark.slow  # the multinomial programs compiled once (seconds on 2 cores)
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_new_max_iter_tol_or_C_compile_nothing(rng, solver):
    """K = 4 classes: C, tol and max_iter are runtime values of one compiled program per solver and shape."""
    x_ND = rng.normal(size=(40, 5))
    y_N = np.argmax(x_ND[:, :4] + rng.normal(size=(40, 4)), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter 5 and 7
        LogisticRegression(solver=solver, max_iter=5).fit(x_ND, y_N).predict_proba(x_ND)
        with CompileMeter() as meter:
            for change in [{"max_iter": 7}, {"tol": 1e-3}, {"C": 0.01}, {"C": np.inf}]:
                clf = LogisticRegression(solver=solver, **{"max_iter": 5, **change}).fit(x_ND, y_N)
                clf.predict_proba(x_ND)
    assert (meter.traces, meter.compiles) == (0, 0)


@pytest.mark.slow  # 3 folds x 4 Cs of float64 L-BFGS on digits, on both sides
def test_cv_multinomial_matches_sklearn():
    """Same Cs and folds as scikit-learn's LogisticRegressionCV: the same scores, C, refit and layout."""
    x_ND, y_N = standardized(load_digits)
    common = dict(Cs=[0.01, 0.1, 1.0, 10.0], cv=StratifiedKFold(3), tol=1e-10, max_iter=3000)
    theirs = sklearn_fit(
        linear_model.LogisticRegressionCV(**common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=True),
        x_ND,
        y_N,
    )
    ours = LogisticRegressionCV(**common).fit(x_ND, y_N)
    np.testing.assert_array_equal(ours.scores_[0], theirs.scores_[0][..., 0])  # counts of right answers
    np.testing.assert_array_equal(ours.C_, theirs.C_)
    assert relative_error(ours, theirs) < RTOL
    assert ours.coefs_paths_[3].shape == theirs.coefs_paths_[3][:, :, 0].shape == (3, 4, 65)
    assert ours.n_iter_.shape == (1, 3, 4) and ours.coef_.shape == (10, 64)


def test_outcome_checks_read_k_classes():
    """The outcome checks of a binary fit, on K classes: separated classes without a penalty warn."""
    x_ND = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [5.1, 0.0], [0.0, 5.0], [0.0, 5.1]])
    with pytest.warns(OutcomeWarning, match=r"\[weights_unbounded\]"):
        LogisticRegression(C=np.inf, max_iter=200).fit(x_ND, ["a", "a", "b", "b", "c", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutcomeWarning)
        LogisticRegression(C=1.0).fit(x_ND, ["a", "a", "b", "b", "c", "c"])  # penalized: nothing to flag


@pytest.mark.slow  # float32 and float64 programs of the basis path compiled (seconds on 2 cores)
def test_float32_and_wide_data(rng):
    """Wider than tall (60 x 200, solved in the basis of X's rows), 3 classes: float64 within RTOL of
    scikit-learn; float32 (precision) within 1e-3 of float64 (measured 5e-5: float32 gradients carry
    relative rounding of about 1e-7 x the condition number; 1e-3 leaves room for another summation order)."""
    x_ND = rng.normal(size=(60, 200))
    y_N = np.argmax(x_ND[:, :3] + 0.5 * rng.normal(size=(60, 3)), axis=1)
    f64 = LogisticRegression(C=0.5, solver="lbfgs", **TIGHT).fit(x_ND, y_N)
    theirs = sklearn_fit(linear_model.LogisticRegression(C=0.5, **TIGHT), x_ND, y_N)
    assert relative_error(f64, theirs) < RTOL
    f32 = LogisticRegression(C=0.5, solver="lbfgs", precision="float32", tol=1e-6, max_iter=3000).fit(x_ND, y_N)
    assert f32.coef_.dtype == np.float32 and relative_error(f32, f64) < 1e-3
