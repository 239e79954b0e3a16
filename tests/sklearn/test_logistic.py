"""lr_jax.sklearn.logistic: scikit-learn's own checks, agreement with scikit-learn's solutions, compile counts.

Agreement is measured on θ = (w, b) in norm, ‖θ - θ_sk‖ / ‖θ_sk‖ < 1e-4, both sides run to a tight tol in
float64: the two L-BFGS implementations take different paths (scikit-learn's also stops on a relative
decrease in its objective), so they agree on the minimizer only to about their stopping accuracy
(measured: 1e-6 to 3e-6 on breast_cancer), never bit for bit; 1e-4 holds on any machine.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest
from scipy import sparse
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from lr_jax.errors import LrJaxError
from lr_jax.runtime import CompileMeter
from lr_jax.sklearn import cv
from lr_jax.sklearn.logistic import LogisticRegression, LogisticRegressionCV

RTOL = 1e-4  # ‖θ - θ_sk‖ / ‖θ_sk‖: see the module docstring
TIGHT = dict(tol=1e-10, max_iter=2000)


@pytest.fixture(scope="module")
def cancer():
    """load_breast_cancer, standardized: 569 x 30, 212 malignant (0) / 357 benign (1)."""
    x_ND, y_N = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(x_ND), y_N


def sklearn_fit(estimator, x_ND, y_N):
    with threadpool_limits(1), warnings.catch_warnings():  # 2 shared cores: BLAS threads oversubscribe
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(x_ND, y_N)


def relative_error(ours, theirs) -> float:
    theta, theta_sk = np.r_[ours.coef_[0], ours.intercept_], np.r_[theirs.coef_[0], theirs.intercept_]
    return float(np.linalg.norm(theta - theta_sk) / np.linalg.norm(theta_sk))


def compiled_names(caplog) -> list[str]:
    return [r.getMessage().split(" with ")[0] for r in caplog.records if r.getMessage().startswith("Compiling")]


@pytest.mark.slow
@parametrize_with_checks([LogisticRegression(), LogisticRegressionCV(Cs=3, cv=3)])
def test_sklearn_estimator_checks(estimator, check):
    """Every check passes, none is expected to fail (about 20 s: 4 compiles for ~120 checks)."""
    check(estimator)


@pytest.mark.parametrize(
    "class_weight, solver",
    [  # a fit each: the fast lane keeps one per solver
        (None, "lbfgs"),
        ("balanced", "newton-cholesky"),
        pytest.param(None, "newton-cholesky", marks=pytest.mark.slow),
        pytest.param("balanced", "lbfgs", marks=pytest.mark.slow),
        *(pytest.param({0: 3.0, 1: 0.5}, s, marks=pytest.mark.slow) for s in ("newton-cholesky", "lbfgs")),
    ],
)
def test_matches_sklearn_on_breast_cancer(cancer, class_weight, solver):
    x_ND, y_N = cancer
    ours = LogisticRegression(C=0.5, class_weight=class_weight, solver=solver, **TIGHT).fit(x_ND, y_N)
    theirs = sklearn_fit(linear_model.LogisticRegression(C=0.5, class_weight=class_weight, **TIGHT), x_ND, y_N)
    assert relative_error(ours, theirs) < RTOL
    np.testing.assert_array_equal(ours.predict(x_ND), theirs.predict(x_ND))
    # predict_proba: σ of logits that agree to ~RTOL·|z|, so the same to a few 1e-5.
    np.testing.assert_allclose(ours.predict_proba(x_ND), theirs.predict_proba(x_ND), atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_matches_sklearn_on_course_data(course_data, class_weight):
    """The course's 209 training images, pixels/255 flattened (12288 features), C = 1."""
    x_ND, y_N = course_data["train"].features(np.float64), course_data["train"].y
    ours = LogisticRegression(C=1.0, class_weight=class_weight, **TIGHT).fit(x_ND, y_N)
    theirs = sklearn_fit(linear_model.LogisticRegression(C=1.0, class_weight=class_weight, **TIGHT), x_ND, y_N)
    assert ours.n_iter_[0] < TIGHT["max_iter"] and relative_error(ours, theirs) < RTOL
    x_test = course_data["test"].features(np.float64)
    np.testing.assert_array_equal(ours.predict(x_test), theirs.predict(x_test))


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_cv_picks_sklearns_C(cancer):
    """Same Cs and StratifiedKFold folds: the same held-out accuracies, hence the same C and refit."""
    x_ND, y_N = cancer
    common = dict(Cs=list(np.logspace(-3, 2, 6)), cv=StratifiedKFold(5), tol=1e-8, max_iter=500)
    theirs = sklearn_fit(
        linear_model.LogisticRegressionCV(**common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=False),
        x_ND,
        y_N,
    )
    ours = LogisticRegressionCV(**common).fit(x_ND, y_N)
    np.testing.assert_array_equal(ours.scores_[1], theirs.scores_[:, 0, :])  # counts of right answers
    assert ours.C_[0] == theirs.C_ and relative_error(ours, theirs) < RTOL
    assert ours.coefs_paths_[1].shape == (5, 6, 31) and ours.n_iter_.shape == (1, 5, 6)


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_cv_without_refit_averages_the_folds(cancer):
    x_ND, y_N = cancer
    common = dict(Cs=[0.01, 0.1, 1.0], cv=4, tol=1e-8, max_iter=500, refit=False)
    theirs = sklearn_fit(
        linear_model.LogisticRegressionCV(**common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=False),
        x_ND,
        y_N,
    )
    ours = LogisticRegressionCV(**common).fit(x_ND, y_N)
    assert ours.C_[0] == pytest.approx(theirs.C_, rel=1e-12) and relative_error(ours, theirs) < RTOL


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_folds_of_different_sizes_compile_once(caplog, rng):
    """GridSearchCV in a Pipeline: 5 folds (train sizes 82 and 83) x 3 Cs = 15 fits, one compiled solver.

    37 features (padded to 40): a width no other test uses, so the compile is this test's own.
    """
    x_ND = rng.normal(size=(103, 37))
    y_N = np.where(x_ND[:, 0] + 0.5 * rng.normal(size=103) > 0, "yes", "no")
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [0.1, 1.0, 10.0]},
        cv=5,
        refit=False,
    )
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        search.fit(x_ND, y_N)
    names = compiled_names(caplog)
    assert names.count("Compiling jit(newton)") == 1, names  # solver="auto" on 82 x 37
    assert names.count("Compiling jit(batched_logit)") <= 1, names  # the held-out folds share a bucket too
    assert search.best_score_ > 0.7


def test_string_labels_feature_names_and_extreme_logits():
    pd = pytest.importorskip("pandas")  # in the test extra; scikit-learn reads names from data frames only
    x_ND = np.array([[-1.0, 0.0], [-2.0, 1.0], [1.0, 0.0], [2.0, 1.0]]) * 1e3  # separable, huge logits
    y_N = np.array(["dog", "dog", "cat", "cat"])
    clf = LogisticRegression(C=np.inf, max_iter=50).fit(pd.DataFrame(x_ND, columns=["a", "b"]), y_N)
    assert list(clf.classes_) == ["cat", "dog"] and list(clf.feature_names_in_) == ["a", "b"]
    assert clf.n_features_in_ == 2 and clf.coef_.shape == (1, 2) and clf.intercept_.shape == (1,)
    np.testing.assert_array_equal(clf.predict(pd.DataFrame(x_ND, columns=["a", "b"])), y_N)
    x_ND = pd.DataFrame(x_ND, columns=["a", "b"])
    log_p = clf.predict_log_proba(x_ND)
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)  # log(predict_proba) would give -inf
    np.testing.assert_allclose(np.exp(log_p), clf.predict_proba(x_ND), rtol=1e-12, atol=1e-300)
    assert clf.score(x_ND, y_N) == 1.0


@pytest.mark.parametrize("solver, learning_rate", [("sgd", 0.5), pytest.param("adam", 0.05, marks=pytest.mark.slow)])
def test_first_order_solvers_reach_lbfgs_solution(cancer, solver, learning_rate):
    """Full-batch SGD and Adam, 3000 iterations: the L-BFGS minimizer within 1e-2 (they converge linearly)."""
    x_ND, y_N = cancer
    lbfgs = LogisticRegression(C=0.1, **TIGHT).fit(x_ND, y_N)
    other = LogisticRegression(C=0.1, solver=solver, learning_rate=learning_rate, tol=1e-6, max_iter=3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other.fit(x_ND, y_N)
    assert relative_error(other, lbfgs) < 1e-2


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_float32_agrees_with_float64(cancer):
    x_ND, y_N = cancer
    f64 = LogisticRegression(C=0.5, **TIGHT).fit(x_ND, y_N)
    f32 = LogisticRegression(C=0.5, precision="float32", tol=1e-6, max_iter=2000).fit(x_ND, y_N)
    assert f32.coef_.dtype == np.float32 and f64.coef_.dtype == np.float64
    # Measured 3e-5 here: stopped at ‖∇J‖ < 1e-6, with float32 sums (ε = 6e-8) in each gradient; the
    # bound leaves room for another summation order stopping an iteration earlier or later.
    assert relative_error(f32, f64) < 5e-4
    assert np.mean(f32.predict(x_ND) == f64.predict(x_ND)) > 0.99


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_warm_start_continues_and_verbose_changes_nothing(cancer):
    """Warm start from the solution; verbose (a progress bar: sgd and adam run in 20 chunks) changes nothing."""
    x_ND, y_N = cancer
    clf = LogisticRegression(C=0.5, warm_start=True, **TIGHT).fit(x_ND, y_N)
    first = clf.coef_.copy()
    clf.fit(x_ND, y_N)  # starts at the solution: at most one more iteration
    assert clf.n_iter_[0] <= 1
    np.testing.assert_allclose(clf.coef_, first, rtol=1e-6)
    sgd = dict(C=0.5, solver="sgd", learning_rate=0.5, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        chunked = LogisticRegression(verbose=1, **sgd).fit(x_ND, y_N)  # chunks of 10 iterations
        plain = LogisticRegression(**sgd).fit(x_ND, y_N)
    np.testing.assert_array_equal(chunked.coef_, plain.coef_)  # the same loop, cut into pieces


@pytest.mark.parametrize(
    "make, fit_args, error, match",
    [
        (lambda: LogisticRegression(), (np.eye(3), [1, 1, 1]), ValueError, "contains only one class"),
        (lambda: LogisticRegression(solver="sgd"), (np.eye(3), [0, 1, 2]), ValueError, "sgd and adam fit two"),
        (lambda: LogisticRegression(), (sparse.csr_matrix(np.eye(2)), [0, 1]), LrJaxError, r"Pass X\.toarray\(\)"),
        (lambda: LogisticRegressionCV(), (sparse.csc_matrix(np.eye(2)), [0, 1]), TypeError, "scipy.sparse CSC"),
        (lambda: LogisticRegression(solver="newton"), (np.eye(2), [0, 1]), InvalidParameterError, "solver"),
        (lambda: LogisticRegression(C=0.0), (np.eye(2), [0, 1]), InvalidParameterError, "'C'"),
        (lambda: LogisticRegressionCV(cv=2), (np.eye(4), [0, 1, 0, 1], [0.0, 1.0, 0.0, 0.0]), ValueError, "sum to 0"),
    ],
)
def test_errors_name_the_input(make, fit_args, error, match):
    with pytest.raises(error, match=match):
        make().fit(*fit_args)


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_warm_start_of_another_width_is_refused():
    clf = LogisticRegression(warm_start=True).fit(np.eye(2), [0, 1])
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(np.eye(3), [0, 1, 1])


@pytest.mark.slow  # the benchmark's setting: 10 Cs x 5 folds at scikit-learn's default tol (> 5 s on 2 cores)
@pytest.mark.parametrize("dataset", ["breast_cancer", "course"])
def test_cv_default_settings_pick_sklearns_C(dataset, cancer, course_data):
    """Default Cs, tol 1e-4 (each side stops at its own loose point on the path) still pick the same C."""
    if dataset == "course":  # wider than tall: the L-BFGS paths run in the basis of X's rows
        x_ND, y_N = course_data["train"].features(np.float64), course_data["train"].y
    else:
        x_ND, y_N = cancer
    common = dict(Cs=10, cv=StratifiedKFold(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter 100 is reached at some Cs, on both sides
        theirs = sklearn_fit(
            linear_model.LogisticRegressionCV(
                **common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=False
            ),
            x_ND,
            y_N,
        )
        ours = LogisticRegressionCV(**common).fit(x_ND, y_N)
    assert ours.C_[0] == theirs.C_


@pytest.mark.slow  # several float64 L-BFGS fits (> 2 s on 2 cores)
def test_cv_on_wide_data_matches_sklearn(rng):
    """60 x 200 (in the basis of X's rows): the same solutions as scikit-learn, to RTOL."""
    x_ND = rng.normal(size=(60, 200))
    y_N = (x_ND[:, :5].sum(axis=1) + rng.normal(size=60) > 0).astype(int)
    common = dict(Cs=[0.01, 0.1, 1.0], cv=StratifiedKFold(3), **TIGHT)
    theirs = sklearn_fit(
        linear_model.LogisticRegressionCV(**common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=False),
        x_ND,
        y_N,
    )
    ours = LogisticRegressionCV(**common).fit(x_ND, y_N)
    assert ours.C_[0] == theirs.C_ and relative_error(ours, theirs) < RTOL


@pytest.mark.slow  # six LogisticRegressionCV fits (> 2 s on 2 cores)
@pytest.mark.parametrize(
    "shape, other_rows, shared_max, programs",
    [((60, 180), 62, None, 1), ((300, 44), 296, None, 1), ((300, 44), 296, 0, 2)],
    ids=["wide", "tall-small", "tall-large"],
)
def test_cv_compiles_once_per_bucket(caplog, monkeypatch, rng, shape, other_rows, shared_max, programs):
    """Two sizes in one bucket: wide X, or tall X of at most `SHARED_PROGRAM_MAX_ENTRIES`, the folds and the
    refit in one program; larger tall X (the bound lowered to 0 here), one each.

    Widths no other test uses (180 -> 192 columns, 44 -> 48), so the compiles are this test's own.
    """
    if shared_max is not None:
        monkeypatch.setattr(cv, "SHARED_PROGRAM_MAX_ENTRIES", shared_max)
    caplog.set_level(logging.WARNING)
    with jax.log_compiles():
        for m in (shape[0], other_rows):
            x_ND = rng.normal(size=(m, shape[1]))
            LogisticRegressionCV(Cs=3, cv=3).fit(x_ND, x_ND[:, 0] + rng.normal(size=m) > 0)
    assert compiled_names(caplog).count("Compiling jit(lbfgs_paths)") == programs, compiled_names(caplog)


@pytest.mark.slow  # each solver's program compiled once (seconds on 2 cores)
@pytest.mark.parametrize(
    "solver, changes",
    [
        ("newton-cholesky", [{"max_iter": 7}, {"tol": 1e-3}, {"C": 0.01}]),
        ("lbfgs", [{"max_iter": 7}, {"tol": 1e-3}, {"C": 0.01}]),
        ("sgd", [{"max_iter": 7}, {"tol": 1e-3}, {"C": 0.01}, {"learning_rate": 0.05}, {"verbose": 1}]),
    ],
)
def test_new_max_iter_tol_C_or_learning_rate_compile_nothing(rng, solver, changes):
    """max_iter, tol, C and the learning rate are runtime values of one compiled program per solver and shape."""
    x_ND = rng.normal(size=(40, 5))
    y_N = x_ND[:, 0] + rng.normal(size=40) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter 5 and 7
        LogisticRegression(solver=solver, max_iter=5).fit(x_ND, y_N)  # compiles (or loads) the solver's program
        with CompileMeter() as meter:
            for change in changes:
                LogisticRegression(solver=solver, **{"max_iter": 5, **change}).fit(x_ND, y_N)
    assert (meter.traces, meter.compiles) == (0, 0)


@pytest.mark.parametrize(
    "shape, C, solver",
    [((569, 30), 1.0, "newton-cholesky"), ((209, 12288), 1.0, "newton-cholesky"), ((569, 30), np.inf, "lbfgs")]
    + [((5000, 2000), 1.0, "lbfgs"), ((1000, 1000), 1.0, "newton-cholesky"), ((1100, 1100), 1.0, "lbfgs")],
)
def test_auto_solver_is_newton_for_small_penalized_problems(shape, C, solver):
    """Newton while the smaller of the padded rows and columns is at most 1024 (1000 pads to 1024, 1100 to
    1152) and C is finite."""
    assert LogisticRegression(C=C).solver_for(*shape) == solver


@pytest.mark.slow  # the course data, and scikit-learn's lbfgs run to convergence (seconds)
def test_defaults_converge_on_course_data_to_sklearns_solution(course_data):
    """At the defaults (solver auto: Newton in the basis of X's rows), no ConvergenceWarning, and within RTOL of
    scikit-learn's lbfgs solution (run to tol 1e-10; its own defaults stop 3 % away from it, measured)."""
    x_ND, y_N = course_data["train"].features(np.float64), course_data["train"].y
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = LogisticRegression().fit(x_ND, y_N)
    theirs = sklearn_fit(linear_model.LogisticRegression(**TIGHT), x_ND, y_N)
    assert ours.n_iter_[0] < ours.max_iter and relative_error(ours, theirs) < RTOL


CACHE_PROBE = """
import collections, sys, jax, numpy as np
events = collections.Counter()
jax.monitoring.register_event_listener(lambda event, **_: events.update([event.rsplit("/", 1)[-1]]))
from lr_jax.sklearn import LogisticRegression
x_ND = np.random.default_rng(0).normal(size=(30, 3))
LogisticRegression(compilation_cache_dir=None if sys.argv[1] == "-" else sys.argv[1]).fit(x_ND, x_ND[:, 0] > 0)
print(jax.config.jax_compilation_cache_dir, events["cache_hits"], events["cache_misses"])
"""


@pytest.mark.slow  # three fresh interpreters importing JAX and scikit-learn
def test_a_second_process_loads_the_fit_from_the_persistent_cache(tmp_path):
    """compilation_cache_dir=None leaves JAX without a cache; a folder is used, and a second process with the
    same shapes loads every program of its fit from it (the cache's key is stable across processes)."""
    probe = lambda arg: subprocess.run(
        [sys.executable, "-c", CACHE_PROBE, arg], capture_output=True, text=True, check=True
    ).stdout.split()
    assert probe("-") == ["None", "0", "0"]
    folder, first_hits, first_misses = probe(str(tmp_path))
    assert folder == str(tmp_path) and first_hits == "0" and int(first_misses) >= 1
    assert probe(str(tmp_path))[1:] == [first_misses, "0"]  # every program loaded, none compiled


@pytest.mark.parametrize(
    "ran, span, filled",
    [(0, 100, 0), (1, 5000, 1), (100, 100, 100), (512, 512, 512)]
    + [
        (1000, 1000, 512),  # iterations 0, 2, 4, ...: slot t·512 // 1000 takes its first iteration
        (500, 1000, 256),
    ],
)
def test_cost_slots_hold_every_iteration_then_a_sample(ran, span, filled):
    from lr_jax.sklearn.base import COST_SLOTS, slots_filled

    assert COST_SLOTS == 512 and slots_filled(ran, span) == filled


@pytest.mark.slow  # sgd's program compiled (seconds on 2 cores)
@pytest.mark.parametrize("max_iter, verbose, kept", [(100, 0, 100), (100, 1, 100), (2000, 0, 512)])
def test_sgd_records_its_costs_from_the_start(cancer, max_iter, verbose, kept):
    """What the outcome checks read: J before each iteration from J(0) = log 2, falling (a small step on a
    convex J), every iteration's up to 512 (also in verbose's chunks), then 512 of them."""
    x_ND, y_N = cancer
    clf = LogisticRegression(solver="sgd", learning_rate=0.5, max_iter=max_iter, tol=0, verbose=verbose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        *_, costs_KT = clf._fit_stack(
            x_ND, y_N.astype(float), np.ones((1, len(y_N))), np.array([1e-3]), with_costs=True
        )
    assert costs_KT.shape == (1, kept) and costs_KT[0, 0] == pytest.approx(np.log(2), rel=1e-12)
    assert np.all(np.diff(costs_KT[0]) <= 0)


@pytest.mark.slow  # lbfgs, float32 Newton and a CV program compiled (seconds on 2 cores)
def test_what_scikit_learns_tests_found(cancer):
    """max_iter=0 gives the start and n_iter_ 0; float32 X gives float32 coef_; coef_ and intercept_ are
    writable and decision_function follows them; the convergence warning speaks scikit-learn's words;
    LogisticRegressionCV.score uses `scoring`."""
    x_ND, y_N = cancer
    with pytest.warns(ConvergenceWarning, match=r"^lbfgs failed to converge after 0 iteration\(s\)"):
        start = LogisticRegression(solver="lbfgs", max_iter=0).fit(x_ND, y_N)
    assert start.n_iter_[0] == 0 and not start.coef_.any() and start.intercept_[0] == 0
    clf = LogisticRegression().fit(x_ND.astype(np.float32), y_N)
    assert clf.coef_.dtype == clf.intercept_.dtype == np.float32
    clf.coef_[:] = 0.0
    clf.intercept_[:] = 2.0
    np.testing.assert_array_equal(clf.decision_function(x_ND[:5]), np.full(5, 2.0, np.float32))
    cv = LogisticRegressionCV(Cs=2, cv=2, scoring="neg_log_loss").fit(x_ND, y_N)
    assert cv.score(x_ND, y_N) == pytest.approx(-log_loss(y_N, cv.predict_proba(x_ND)), rel=1e-12)
