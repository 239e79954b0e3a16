"""scikit-learn's own tests of its logistic regression (`sklearn/linear_model/tests/test_logistic.py`, shipped
with scikit-learn 1.9), adapted to lr_jax's estimators: binary and multinomial, lbfgs (and newton-cholesky,
which lr_jax also has), an L2 or no penalty, dense input.

Each test below carries the name of the test it adapts and checks what that test checks; where scikit-learn
compares its solvers with each other, lr_jax's solvers are compared with scikit-learn's lbfgs. Fixed seeds
stand in for `global_random_seed`. Tolerances are scikit-learn's own unless a test says otherwise.

Run (38 of its 80 tests):
    test_predict_2_classes, test_predict_3_classes (dense part), test_logistic_glmnet, test_check_solver_option
    (lbfgs, newton-cholesky), test_inconsistent_input, test_write_parameters, test_nan, test_consistency_path
    (lbfgs, newton-cholesky part), test_logistic_regression_path_convergence_fail (through the estimator),
    test_logistic_cv (lbfgs for liblinear), test_logistic_cv_refit_false_non_elasticnet,
    test_logistic_cv_mock_scorer, test_multinomial_logistic_regression_string_inputs, test_multinomial_cv_iris
    (lbfgs), test_logistic_cv_folds_with_classes_missing (without metadata routing),
    test_logistic_regression_solvers, test_logistic_regression_solvers_multiclass,
    test_logistic_regression_solvers_multiclass_unpenalized, test_logistic_regressioncv_class_weights,
    test_logistic_regression_sample_weights, test_logistic_regression_solver_class_weights,
    test_logistic_regression_class_weights (dense), test_logreg_intercept_scaling_zero,
    test_logreg_predict_proba_multinomial, test_max_iter (lbfgs, newton-cholesky), test_n_iter, test_warm_start,
    test_warm_start_newton_solver, test_dtype_match (dense), test_LogisticRegressionCV_on_folds,
    test_penalty_none, test_c_inf_no_warning, test_multinomial_identifiability_on_iris,
    test_sample_weight_not_modified, test_zero_max_iter, test_get_default_scorer, test_penalty_deprecated,
    test_logisticregression_warns_with_n_jobs.

Out of scope (42), by reason:
- other penalties (L1, elastic net): test_elasticnet_l1_ratio_err_helpful, test_logreg_l1,
  test_logistic_regression_cv_refit, test_elastic_net_coeffs, test_elastic_net_l1_l2_equivalence,
  test_elastic_net_vs_l1_l2, test_LogisticRegression_elastic_net_objective,
  test_LogisticRegressionCV_GridSearchCV_elastic_net, test_LogisticRegressionCV_no_refit,
  test_LogisticRegressionCV_elasticnet_attribute_shapes, test_l1_ratio_non_elasticnet,
  test_elastic_net_versus_sgd, test_scores_attribute_layout_elasticnet, test_lr_penalty_l1ratio_incompatible,
  test_l1_ratio_None_deprecated;
- other solvers (liblinear, sag, saga, newton-cg): test_liblinear_dual_random_state,
  test_sample_and_class_weight_equivalence_liblinear, test_liblinear_decision_function_zero,
  test_saga_vs_liblinear, test_warm_start_converge_LR (sag), test_logisticregression_liblinear_sample_weight,
  test_liblinear_with_large_values, test_single_feature_newton_cg, test_liblinear_not_stuck,
  test_liblinear_multiclass_raises, test_newton_cholesky_fallback_to_lbfgs (scikit-learn's Newton falling
  back to its lbfgs: lr_jax's Newton has no fallback);
- sparse input (lr_jax refuses scipy.sparse X, docs/estimator.md): test_sparsify, test_logistic_cv_sparse,
  test_large_sparse_matrix;
- scikit-learn's private functions (`_logistic_regression_path`, `_log_reg_scoring_path`):
  test_logistic_regression_path_coefs_multinomial, test_logistic_regression_path_init_coefs,
  test_logistic_cv_multinomial_score;
- metadata routing (lr_jax's estimators pass sample_weight to the scorer unrouted):
  test_lr_cv_scores_differ_when_sample_weight_is_requested, test_lr_cv_scores_without_enabling_metadata_routing,
  test_passing_params_without_enabling_metadata_routing;
- array API inputs (lr_jax computes with JAX): test_logistic_regression_array_api_compliance,
  test_logistic_regression_array_api_warm_start;
- scikit-learn's callback API (experimental in 1.9): test_logistic_regression_callback_support,
  test_logistic_regression_callback_fitted_estimator, test_logistic_regression_callback_support_warning;
- scikit-learn's deprecation transitions lr_jax does not go through (its defaults are already the new ones):
  test_logisticregressioncv_warns_with_use_legacy_attributes, test_lr_scoring_warns.
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_almost_equal, assert_array_equal
from sklearn import linear_model
from sklearn.datasets import load_iris, make_classification, make_low_rank_matrix
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import KFold, LeaveOneGroupOut, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import LabelEncoder, scale
from sklearn.utils.class_weight import compute_class_weight

from lr_jax.sklearn import LogisticRegression, LogisticRegressionCV

pytestmark = pytest.mark.slow  # about 100 s of one core, most of it compiling each test's shapes

SOLVERS = ("lbfgs", "newton-cholesky")
X = [[-1, 0], [0, 1], [1, 1]]
Y1 = [0, 1, 1]
Y2 = [2, 1, 0]
SEED = 42
iris = load_iris()


def check_predictions(clf, X, y):
    """As scikit-learn's: the model fits and predicts the classification data."""
    n_samples, classes = len(y), np.unique(y)
    predicted = clf.fit(X, y).predict(X)
    assert_array_equal(clf.classes_, classes)
    assert predicted.shape == (n_samples,)
    assert_array_equal(predicted, y)
    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (n_samples, len(classes))
    assert_allclose(probabilities.sum(axis=1), np.ones(n_samples))
    assert_array_equal(probabilities.argmax(axis=1), y)


def sk_lbfgs(**params):
    """scikit-learn's own estimator, lbfgs."""
    return linear_model.LogisticRegression(solver="lbfgs", **params)


def test_predict_2_and_3_classes():
    check_predictions(LogisticRegression(), X, Y1)
    check_predictions(LogisticRegression(C=100), X, Y1)
    check_predictions(LogisticRegression(fit_intercept=False), X, Y1)
    check_predictions(LogisticRegression(C=10), X, Y2)


@pytest.mark.parametrize("solver", SOLVERS)
def test_logistic_glmnet(solver):
    """glmnet's L2 solutions, binary and multinomial (scikit-learn's reference values)."""
    X = np.array([[-4, -3, -2, -1, 0, 1, 2, 3, 4], [0, 0, 1, 0, 1, 1, 1, 0, 0]]).T
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        glm = LogisticRegression(C=1 / 1 / y.shape[0], tol=1e-8, max_iter=300, solver=solver).fit(X, y)
        assert_allclose(glm.intercept_, 0.89230405539, rtol=1e-5)
        assert_allclose(glm.coef_, [[0.44464569182, 0.01457563448]], rtol=1e-5)
        glm.fit(X, np.array([0, 0, 0, 1, 1, 1, 2, 2, 2]))
    assert_allclose(glm.intercept_, [-0.12004759652, 2.251747383e-01, -0.1051271418], rtol=1e-5)
    expected = [[-0.38023389305, -0.01226499932], [-8.164030176e-05, 4.734548012e-02], [0.3803155334, -0.0350804808]]
    assert_allclose(glm.coef_, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("LR", [LogisticRegression, LogisticRegressionCV])
def test_check_solver_option(LR):
    X, y = iris.data, iris.target
    for solver in ["lbfgs", "newton-cholesky"] if LR is LogisticRegression else ["lbfgs"]:
        lr = LR(solver=solver, l1_ratio=1) if LR is LogisticRegression else LR(solver=solver, l1_ratios=(1,))
        with pytest.raises(ValueError, match=f"Solver {solver} supports only 'l2' or None penalties,"):
            lr.fit(X, y)
        with pytest.raises(ValueError, match=f"Solver {solver} supports only dual=False, got dual=True"):
            LR(solver=solver, dual=True).fit(X, y)


def test_inconsistent_input():
    rng = np.random.RandomState(0)
    X_, y_ = rng.random_sample((5, 10)), np.ones(5)
    y_[0] = 0
    clf = LogisticRegression(random_state=0)
    with pytest.raises(ValueError, match="Found input variables with inconsistent number"):
        clf.fit(X, y_[:-1])
    with pytest.raises(ValueError, match="X has 12 features, but"):
        clf.fit(X_, y_).predict(rng.random_sample((3, 12)))


def test_write_parameters():
    clf = LogisticRegression().fit(X, Y1)
    clf.coef_[:] = 0
    clf.intercept_[:] = 0
    assert_array_almost_equal(clf.decision_function(X), 0)


def test_nan():
    Xnan = np.array(X, dtype=np.float64)
    Xnan[0, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN."):
        LogisticRegression().fit(Xnan, Y1)


@pytest.mark.parametrize("solver", SOLVERS)
def test_consistency_path(solver):
    """The fit_intercept=True part: the solution at C = 1e3 as scikit-learn's lbfgs path gives it."""
    rng = np.random.RandomState(SEED)
    X = np.concatenate((rng.randn(100, 2) + [1, 1], rng.randn(100, 2)))
    y = [1] * 100 + [-1] * 100
    ref = sk_lbfgs(C=1e3, tol=1e-6, intercept_scaling=10000.0).fit(X, y)
    lr = LogisticRegression(C=1e3, tol=1e-6, intercept_scaling=10000.0, solver=solver).fit(X, y)
    assert_array_almost_equal(np.r_[lr.coef_.ravel(), lr.intercept_], np.r_[ref.coef_.ravel(), ref.intercept_], 4)


def test_logistic_regression_path_convergence_fail():
    """The convergence warning's wording, as scikit-learn's lbfgs words it."""
    rng = np.random.RandomState(0)
    X = np.concatenate((rng.randn(100, 2) + [1, 1], rng.randn(100, 2)))
    y = [1] * 100 + [-1] * 100
    with pytest.warns(ConvergenceWarning) as record:
        LogisticRegression(C=1e3, solver="lbfgs", tol=0.0, max_iter=1).fit(X, y)
    assert len(record) == 1
    warn_msg = record[0].message.args[0]
    assert "lbfgs failed to converge after 1 iteration(s)" in warn_msg
    assert "Increase the number of iterations" in warn_msg
    assert "scale the data" in warn_msg
    assert "linear_model.html#logistic-regression" in warn_msg


@pytest.mark.parametrize("use_legacy_attributes", [True, False])
def test_logistic_cv(use_legacy_attributes):
    n_samples, n_features, n_cv = 50, 5, 3
    rng = np.random.RandomState(SEED)
    X_ref = rng.randn(n_samples, n_features)
    y = np.sign(X_ref.dot(5 * rng.randn(n_features)))
    X_ref -= X_ref.mean()
    X_ref /= X_ref.std()
    common = dict(fit_intercept=False, tol=1e-8, max_iter=1000)
    lr_cv = LogisticRegressionCV(
        Cs=[1.0],
        l1_ratios=(0.0,),
        cv=n_cv,
        scoring="neg_log_loss",
        use_legacy_attributes=use_legacy_attributes,
        **common,
    ).fit(X_ref, y)
    lr = LogisticRegression(C=1.0, **common).fit(X_ref, y)
    assert_array_almost_equal(lr.coef_, lr_cv.coef_)
    assert lr_cv.coef_.shape == (1, n_features)
    assert_array_equal(lr_cv.classes_, [-1, 1])
    assert lr_cv.Cs_.shape == (1,) and lr_cv.l1_ratios_.shape == (1,)
    if use_legacy_attributes:
        assert np.asarray(list(lr_cv.coefs_paths_.values())).shape == (1, n_cv, 1, 1, n_features)
        assert np.asarray(list(lr_cv.scores_.values())).shape == (1, n_cv, 1, 1)
    else:
        assert lr_cv.coefs_paths_.shape == (n_cv, 1, 1, 1, n_features)
        assert isinstance(lr_cv.C_, float) and isinstance(lr_cv.l1_ratio_, float)
        assert lr_cv.scores_.shape == (n_cv, 1, 1)


def test_logistic_cv_refit_false_non_elasticnet():
    X, y = make_classification(random_state=SEED)
    lr_cv = LogisticRegressionCV(l1_ratios=[0.0], refit=False, use_legacy_attributes=False).fit(X, y)
    assert lr_cv.l1_ratio_ == 0.0


def test_logistic_cv_mock_scorer():
    """LogisticRegressionCV calls the scorer, in fit and in score."""

    class MockScorer:
        def __init__(self):
            self.calls = 0
            self.scores = [0.1, 0.4, 0.8, 0.5]

        def __call__(self, model, X, y, sample_weight=None):
            score = self.scores[self.calls % len(self.scores)]
            self.calls += 1
            return score

    mock_scorer, Cs, cv = MockScorer(), [1, 2, 3, 4], 2
    lr = LogisticRegressionCV(Cs=Cs, scoring=mock_scorer, cv=cv, use_legacy_attributes=False)
    X, y = make_classification(random_state=0)
    lr.fit(X, y)
    assert Cs[2] == lr.C_
    assert mock_scorer.calls == cv * len(Cs)
    mock_scorer.calls = 0
    assert lr.score(X, lr.predict(X)) == mock_scorer.scores[0]
    assert mock_scorer.calls == 1


def test_multinomial_logistic_regression_string_inputs():
    X_ref, y = make_classification(n_samples=50, n_features=5, n_classes=3, n_informative=3, random_state=0)
    y_str = LabelEncoder().fit(["bar", "baz", "foo"]).inverse_transform(y)
    y = np.array(y) - 1
    cv = dict(Cs=3, use_legacy_attributes=False, scoring="neg_log_loss")
    lr, lr_str = LogisticRegression().fit(X_ref, y), LogisticRegression().fit(X_ref, y_str)
    lr_cv, lr_cv_str = LogisticRegressionCV(**cv).fit(X_ref, y), LogisticRegressionCV(**cv).fit(X_ref, y_str)
    assert_allclose(lr.coef_, lr_str.coef_)
    assert_allclose(lr.predict_proba(X_ref), lr_str.predict_proba(X_ref))
    assert_allclose(lr_cv.coef_, lr_cv_str.coef_)
    assert_allclose(lr_cv.predict_proba(X_ref), lr_cv_str.predict_proba(X_ref))
    assert sorted(lr_str.classes_) == sorted(lr_cv_str.classes_) == ["bar", "baz", "foo"]
    assert sorted(np.unique(lr_str.predict(X_ref))) == ["bar", "baz", "foo"]
    lr_cv_str = LogisticRegressionCV(Cs=[1, 2, 10], use_legacy_attributes=False, scoring="neg_log_loss")
    assert sorted(np.unique(lr_cv_str.fit(X_ref, y_str).predict(X_ref))) == ["bar", "baz", "foo"]
    weighted = LogisticRegression(class_weight={"bar": 1, "baz": 2, "foo": 0}).fit(X_ref, y_str)
    assert sorted(np.unique(weighted.predict(X_ref))) == ["bar", "baz"]


@pytest.mark.parametrize("use_legacy_attributes", [True, False])
def test_multinomial_cv_iris(use_legacy_attributes):
    """The lbfgs part (scikit-learn's OvR baseline fitted with its own newton-cholesky), then folds that miss
    a class."""
    X, y = scale(iris.data), iris.target
    n_cv, n_features = 2, X.shape[1]
    ovr = OneVsRestClassifier(linear_model.LogisticRegression(solver="newton-cholesky")).fit(X, y)
    clf = LogisticRegressionCV(
        max_iter=30, tol=1e-2, cv=n_cv, scoring="neg_log_loss", use_legacy_attributes=use_legacy_attributes
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter 30, as scikit-learn's test
        clf.fit(X, y)
    assert clf.score(X, y) > -log_loss(y, ovr.predict_proba(X))  # neg_log_loss: multinomial beats one-vs-rest
    assert clf.coef_.shape == (3, n_features)
    assert_array_equal(clf.classes_, [0, 1, 2])
    if use_legacy_attributes:
        assert np.asarray(list(clf.coefs_paths_.values())).shape == (3, n_cv, 10, n_features + 1)
        assert np.asarray(list(clf.scores_.values())).shape == (3, n_cv, 10)
        paths = np.stack([clf.coefs_paths_[c][..., :-1] for c in clf.classes_], axis=2)  # (folds, Cs, K, n)
    else:
        assert clf.coefs_paths_.shape == (n_cv, 1, 10, 3, n_features + 1)
        assert isinstance(clf.C_, float) and clf.scores_.shape == (n_cv, 1, 10)
        paths = clf.coefs_paths_[:, 0, :, :, :-1]
    assert np.all(np.diff(np.sum(paths**2, axis=(-2, -1)), axis=1) >= 0)  # ‖W‖ grows with C on every fold
    cv = KFold(n_splits=3)  # each held-out fold is one class, missing from its training folds
    clf = LogisticRegressionCV(cv=cv, use_legacy_attributes=False, scoring="accuracy").fit(X, y)
    assert np.all(clf.scores_ == 0.0)
    clf = LogisticRegressionCV(
        cv=cv, scoring="neg_brier_score", Cs=np.logspace(-6, 3, 10), use_legacy_attributes=False
    ).fit(X, y)
    assert clf.C_ == 1e-6
    assert np.all(-clf.scores_ > 0.7 * 2) and np.min(-clf.scores_) < 0.8 * 2


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_cv_folds_with_classes_missing(n_classes):
    y = np.array(["a", "a", "b", "b", "c", "c"])[: 2 * n_classes]
    X = np.arange(2 * n_classes)[:, None]
    cv = KFold(n_splits=n_classes)
    clf = LogisticRegressionCV(
        cv=cv, scoring="neg_brier_score", Cs=np.logspace(-6, 6, 5), l1_ratios=(0,), use_legacy_attributes=False
    ).fit(X, y)
    assert clf.C_ == 1e-6
    for i, (_, test) in enumerate(cv.split(X, y)):
        clf2 = LogisticRegression(C=clf.C_).fit(X, y)
        clf2.coef_ = clf.coefs_paths_[i, 0, 0, :, :-1]
        clf2.intercept_ = clf.coefs_paths_[i, 0, 0, :, -1]
        labels = ["a", "b"] if n_classes <= 2 else ["a", "b", "c"]
        extra = {"pos_label": "b"} if n_classes <= 2 else {}
        bs = brier_score_loss(y[test], clf2.predict_proba(X[test]), labels=labels, **extra)
        assert_allclose(-clf.scores_[i, 0, 0], bs)


def test_logistic_regression_solvers():
    X, y = make_classification(n_samples=200, n_features=10, n_informative=5, random_state=SEED)
    params = dict(C=0.1, fit_intercept=False)
    fitted = {s: LogisticRegression(solver=s, **params).fit(X, y) for s in SOLVERS}
    fitted["sklearn"] = sk_lbfgs(**params).fit(X, y)
    for a, b in itertools.combinations(fitted, r=2):
        assert_allclose(fitted[a].coef_, fitted[b].coef_, atol=1e-3, rtol=1e-4, err_msg=f"{a} vs {b}")


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_logistic_regression_solvers_multiclass(fit_intercept):
    X, y = make_classification(n_samples=20, n_features=20, n_informative=10, n_classes=3, random_state=0)
    params = dict(fit_intercept=fit_intercept, tol=1e-8)
    fitted = {s: LogisticRegression(solver=s, max_iter=200, **params).fit(X, y) for s in SOLVERS}
    fitted["sklearn"] = sk_lbfgs(max_iter=200, **params).fit(X, y)
    for clf in fitted.values():
        assert clf.coef_.shape == (3, 20)
    for a, b in itertools.combinations(fitted, r=2):
        assert_allclose(fitted[a].coef_, fitted[b].coef_, rtol=1e-3, err_msg=f"{a} vs {b}")
        if fit_intercept:
            assert_allclose(fitted[a].intercept_, fitted[b].intercept_, rtol=1e-3, err_msg=f"{a} vs {b}")
    cv = LogisticRegressionCV(Cs=[1.0], max_iter=200, use_legacy_attributes=False, scoring="neg_log_loss", **params)
    cv.fit(X, y)
    assert_allclose(cv.coef_, fitted["lbfgs"].coef_, rtol=1e-2)
    if fit_intercept:
        assert_allclose(cv.intercept_, fitted["lbfgs"].intercept_, rtol=1e-2)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_logistic_regression_solvers_multiclass_unpenalized(fit_intercept):
    n_samples, n_features, n_classes = 100, 4, 3
    rng = np.random.RandomState(SEED)
    X = make_low_rank_matrix(
        n_samples=n_samples,
        n_features=n_features + fit_intercept,
        effective_rank=n_features + fit_intercept,
        tail_strength=0.1,
        random_state=rng,
    )
    if fit_intercept:
        X[:, -1] = 1
        X = X[:, :-1]
    coef = rng.uniform(low=1, high=3, size=(n_classes, n_features))
    intercept = rng.uniform(low=-1, high=1, size=n_classes) * fit_intercept
    logits = X @ coef.T + intercept
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    y = np.array([np.argmax(rng.multinomial(n=1, pvals=p)) for p in proba], dtype=float)
    params = dict(C=np.inf, fit_intercept=fit_intercept, tol=1e-9)
    fitted = {
        s: LogisticRegression(solver=s, max_iter=200 if s == "lbfgs" else 100, **params).fit(X, y) for s in SOLVERS
    }
    fitted["sklearn"] = sk_lbfgs(max_iter=200, **params).fit(X, y)
    for name, clf in fitted.items():
        assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-10, err_msg=name)
    for a, b in itertools.combinations(fitted, r=2):
        assert_allclose(fitted[a].coef_, fitted[b].coef_, rtol=2e-3, err_msg=f"{a} vs {b}")
        if fit_intercept:
            assert_allclose(fitted[a].intercept_, fitted[b].intercept_, rtol=1e-3, err_msg=f"{a} vs {b}")


@pytest.mark.parametrize("weight", [{0: 0.1, 1: 0.2}, {0: 0.1, 1: 0.2, 2: 0.5}])
@pytest.mark.parametrize("class_weight", ["weight", "balanced"])
def test_logistic_regressioncv_class_weights(weight, class_weight):
    """lr_jax's LogisticRegressionCV against scikit-learn's (lbfgs): the same coefficients."""
    class_weight = weight if class_weight == "weight" else class_weight
    X, y = make_classification(
        n_samples=30, n_features=3, n_repeated=0, n_informative=3, n_redundant=0, n_classes=len(weight), random_state=0
    )
    params = dict(Cs=1, fit_intercept=False, class_weight=class_weight, tol=1e-8, use_legacy_attributes=False)
    ours = LogisticRegressionCV(scoring="neg_log_loss", **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = linear_model.LogisticRegressionCV(scoring="neg_log_loss", l1_ratios=(0.0,), **params).fit(X, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-3)


@pytest.mark.parametrize("problem", ["single", "cv"])
def test_logistic_regression_sample_weights(problem):
    """Integer sample weights are repeated rows (also in the folds' scores)."""
    n_group, n_groups = 200, 3
    X, y = make_classification(
        n_samples=n_group * n_groups, n_features=5, n_informative=3, n_classes=2, n_redundant=0, random_state=0
    )
    rng = np.random.RandomState(0)
    sw = np.ones(y.shape[0])
    sw[:n_group] = rng.randint(0, 5, size=n_group)
    X_repeated, y_repeated = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int), axis=0)
    kw_weighted, kw_repeated = (
        dict(fit_intercept=False, max_iter=1000, tol=1e-8),
        dict(fit_intercept=False, max_iter=1000, tol=1e-8),
    )
    LR = LogisticRegression
    if problem == "cv":
        LR = LogisticRegressionCV
        groups = np.repeat(np.arange(n_groups), n_group)
        kw_weighted.update(Cs=10, cv=list(LeaveOneGroupOut().split(X, groups=groups)))
        groups_repeated = np.repeat(groups, sw.astype(int), axis=0)
        kw_repeated.update(Cs=10, cv=list(LeaveOneGroupOut().split(X_repeated, groups=groups_repeated)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = LR(**kw_weighted).fit(X, y, sample_weight=sw)
        repeated = LR(**kw_repeated).fit(X_repeated, y_repeated)
    if problem == "cv":
        assert_allclose(weighted.scores_[1], repeated.scores_[1])
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_logistic_regression_solver_class_weights(solver):
    X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_classes=2, random_state=0)
    kw = dict(fit_intercept=False, max_iter=100_000, tol=1e-8, solver=solver)
    by_class = LogisticRegression(class_weight={0: 1, 1: 2}, **kw).fit(X, y)
    by_sample = LogisticRegression(**kw).fit(X, y, sample_weight=y + 1)
    assert_allclose(by_class.coef_, by_sample.coef_, atol=1e-6)


def test_logistic_regression_class_weights():
    X_iris = scale(iris.data)
    X, y = X_iris[45:, :], iris.target[45:]
    class_weight = dict(zip(np.unique(y), compute_class_weight("balanced", classes=np.unique(y), y=y), strict=True))
    params = dict(solver="lbfgs", max_iter=2000)
    clf1 = LogisticRegression(class_weight="balanced", **params).fit(X, y)
    clf2 = LogisticRegression(class_weight=class_weight, **params).fit(X, y)
    assert len(clf1.classes_) == 3
    assert_allclose(clf1.coef_, clf2.coef_, rtol=1e-4)
    sw = np.array([class_weight[c] for c in y])
    clf3 = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    assert_allclose(clf3.coef_, clf2.coef_, rtol=1e-4)
    X, y = X_iris[45:100, :], iris.target[45:100]
    class_weight = dict(zip(np.unique(y), compute_class_weight("balanced", classes=np.unique(y), y=y), strict=True))
    for solver in SOLVERS:
        clf1 = LogisticRegression(class_weight="balanced", solver=solver, max_iter=1000).fit(X, y)
        clf2 = LogisticRegression(class_weight=class_weight, solver=solver, max_iter=1000).fit(X, y)
        assert_array_almost_equal(clf1.coef_, clf2.coef_, decimal=6)


def test_logreg_intercept_scaling_zero():
    clf = LogisticRegression(fit_intercept=False).fit(X, Y1)
    assert clf.intercept_ == 0.0


def test_logreg_predict_proba_multinomial():
    """The multinomial fit has a lower log-loss than one-vs-rest, and than its own OvR-normalized scores."""
    X, y = make_classification(n_samples=10, n_features=20, random_state=SEED, n_classes=3, n_informative=10)
    clf_multi = LogisticRegression().fit(X, y)
    multi_loss = log_loss(y, clf_multi.predict_proba(X))
    ovr_loss = log_loss(y, OneVsRestClassifier(LogisticRegression()).fit(X, y).predict_proba(X))
    assert ovr_loss > multi_loss
    ovr_normalized = 1 / (1 + np.exp(-clf_multi.decision_function(X)))  # scikit-learn's _predict_proba_lr
    ovr_normalized /= ovr_normalized.sum(axis=1, keepdims=True)
    assert log_loss(y, ovr_normalized) > multi_loss


@pytest.mark.parametrize("max_iter", np.arange(1, 5))
@pytest.mark.parametrize(
    "solver, message",
    [("lbfgs", "lbfgs failed to converge"), ("newton-cholesky", "newton-cholesky failed to converge")],
)
def test_max_iter(max_iter, solver, message):
    """scikit-learn words its Newton solver's warning "Newton solver did not converge"; lr_jax's uses the
    lbfgs wording for both solvers, naming the solver."""
    X, y_bin = iris.data, iris.target.copy()
    y_bin[y_bin == 2] = 0
    if solver == "newton-cholesky" and max_iter > 1:
        pytest.skip("solver newton-cholesky might converge very fast")
    lr = LogisticRegression(max_iter=max_iter, tol=1e-15, solver=solver)
    with pytest.warns(ConvergenceWarning, match=message):
        lr.fit(X, y_bin)
    assert lr.n_iter_[0] == max_iter


@pytest.mark.parametrize("use_legacy_attributes", [True, False])
def test_n_iter(use_legacy_attributes):
    X, y = scale(iris.data), iris.target
    y_bin = y.copy()
    y_bin[y_bin == 2] = 0
    n_Cs, n_cv_fold = 4, 2
    clf = LogisticRegression(tol=1e-2, C=1.0, solver="lbfgs")
    cv = LogisticRegressionCV(
        tol=1e-2,
        Cs=n_Cs,
        l1_ratios=(0.0,),
        cv=n_cv_fold,
        use_legacy_attributes=use_legacy_attributes,
        scoring="neg_log_loss",
    )
    expected = (1, n_cv_fold, n_Cs, 1) if use_legacy_attributes else (n_cv_fold, 1, n_Cs)
    for target in (y_bin, y):
        assert clf.fit(X, target).n_iter_.shape == (1,)
        assert cv.fit(X, target).n_iter_.shape == expected


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("warm_start", (True, False))
@pytest.mark.parametrize("fit_intercept", (True, False))
def test_warm_start(solver, warm_start, fit_intercept):
    X, y = iris.data, iris.target
    clf = LogisticRegression(tol=1e-4, warm_start=warm_start, solver=solver, fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        coef_1 = clf.fit(X, y).coef_
        clf.max_iter = 1
        clf.fit(X, y)
    cum_diff = np.sum(np.abs(coef_1 - clf.coef_))
    assert (cum_diff < 2.0) if warm_start else (cum_diff > 2.0)


@pytest.mark.parametrize("fit_intercept", (True, False))
@pytest.mark.parametrize("C", (1, np.inf))
def test_warm_start_newton_solver(fit_intercept, C):
    """Two Newton steps at once are two single steps with warm start."""
    X, y = iris.data, iris.target
    common = dict(solver="newton-cholesky", fit_intercept=fit_intercept, C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf1 = LogisticRegression(max_iter=2, **common).fit(X, y)
        clf2 = LogisticRegression(max_iter=1, warm_start=True, **common)
        clf2.fit(X, y)
        clf2.fit(X, y)
    assert_allclose(clf2.coef_, clf1.coef_)
    if fit_intercept:
        assert_allclose(clf2.intercept_, clf1.intercept_)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_dtype_match(solver, fit_intercept):
    """float32 X keeps float32 coefficients; float64 keeps float64; both agree within tol's bound."""
    X_32, X_64 = np.array(X, np.float32), np.array(X, np.float64)
    template = dict(solver=solver, tol=5e-4, fit_intercept=fit_intercept)
    lr_32 = LogisticRegression(**template).fit(X_32, np.array(Y1, np.float32))
    lr_64 = LogisticRegression(**template).fit(X_64, np.array(Y1, np.float64))
    assert lr_32.coef_.dtype == np.float32 and lr_64.coef_.dtype == np.float64
    # scikit-learn's bound: tol times ‖H⁻¹‖ (1.72 for this X), times 2 for the ball's diameter
    assert_allclose(lr_32.coef_, lr_64.coef_.astype(np.float32), atol=2 * 1.72 * 5e-4)


def test_LogisticRegressionCV_on_folds():
    """A fold's path point is that fold's own fit at that C. scikit-learn's rtol 1e-5, plus atol 1e-5: on
    unscaled iris lr_jax's L-BFGS path (scikit-learn's test: its Newton) stops on J's relative decrease (64ε,
    scikit-learn's ftol), within √(2·64ε·J/μ) of the minimizer, μ >= 1/(C·S): up to 1e-5 at C = 46 (measured:
    2e-7 on an intercept of 5e-3), whatever the summation order."""
    X, y = iris.data, iris.target
    lrcv = LogisticRegressionCV(tol=1e-8, max_iter=1000, use_legacy_attributes=True, scoring="neg_log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # unscaled iris at C = 1e4: slow to converge
        lrcv.fit(X, y)
    folds = list(StratifiedKFold(5).split(X, y))
    for idx_fold, idx_C in [[0, 0], [0, 1], [3, 6]]:
        train = folds[idx_fold][0]
        lr = LogisticRegression(C=lrcv.Cs_[idx_C], solver="newton-cholesky", tol=1e-8).fit(X[train], y[train])
        for cl in np.unique(y):
            assert_allclose(lrcv.coefs_paths_[cl][idx_fold, idx_C, :-1], lr.coef_[cl], rtol=1e-5, atol=1e-5)
            assert_allclose(lrcv.coefs_paths_[cl][idx_fold, idx_C, -1], lr.intercept_[cl], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_penalty_none(solver):
    X, y = make_classification(n_samples=1000, n_redundant=0, random_state=SEED)
    with pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        LogisticRegression(penalty=None, solver=solver, C=4).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pred_none = LogisticRegression(penalty=None, solver=solver, max_iter=300).fit(X, y).predict(X)
        pred_l2 = LogisticRegression(penalty="l2", C=np.inf, solver=solver, max_iter=300).fit(X, y).predict(X)
    assert_array_equal(pred_none, pred_l2)


@pytest.mark.parametrize("solver", SOLVERS)
def test_c_inf_no_warning(solver):
    X, y = make_classification(n_samples=100, n_redundant=0, random_state=42)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*weights_unbounded")  # lr_jax's outcome check: no minimum
        LogisticRegression(C=np.inf, solver=solver).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_multinomial_identifiability_on_iris(solver, fit_intercept):
    """The L2-penalized maximum satisfies Σₖ coef_k = 0 (and Σₖ intercept_k = 0)."""
    target = iris.target_names[iris.target]
    clf = LogisticRegression(C=len(iris.data), solver=solver, fit_intercept=fit_intercept)
    clf.fit(scale(iris.data), target)
    assert_allclose(clf.coef_.sum(axis=0), 0, atol=1e-10)
    if fit_intercept:
        assert clf.intercept_.sum(axis=0) == pytest.approx(0, abs=1e-11)


@pytest.mark.parametrize("class_weight", [{0: 1.0, 1: 10.0, 2: 1.0}, "balanced"])
def test_sample_weight_not_modified(class_weight):
    X, y = load_iris(return_X_y=True)
    W = np.ones(len(X))
    W[: len(X) // 2] = 2
    expected = W.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # unscaled iris
        LogisticRegression(class_weight=class_weight, max_iter=200, solver="lbfgs").fit(X, y, sample_weight=W)
    assert_allclose(expected, W)


@pytest.mark.parametrize("solver", SOLVERS)
def test_zero_max_iter(solver):
    """max_iter=0: the start (zeros), n_iter_ 0."""
    X, y = load_iris(return_X_y=True)
    y = y == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(solver=solver, max_iter=0).fit(X, y)
    assert clf.n_iter_ == 0
    assert_allclose(clf.coef_, np.zeros_like(clf.coef_))
    assert_allclose(clf.decision_function(X), np.full(shape=X.shape[0], fill_value=clf.intercept_))
    assert_allclose(clf.predict_proba(X), np.full(shape=(X.shape[0], 2), fill_value=0.5))
    assert clf.score(X, y) < 0.7


def test_get_default_scorer():
    assert LogisticRegressionCV()._get_scorer()._score_func.__name__ == "accuracy_score"


@pytest.mark.parametrize("est", [LogisticRegression, LogisticRegressionCV])
def test_penalty_deprecated(est):
    X, y = make_classification(n_classes=2, n_samples=20, n_informative=6)
    with pytest.warns(FutureWarning, match=re.escape("'penalty' was deprecated")):
        est(penalty="l2").fit(X, y)


def test_logisticregression_warns_with_n_jobs():
    X, y = make_classification(n_classes=3, n_samples=50, n_informative=6)
    with pytest.warns(FutureWarning, match="'n_jobs' has no effect"):
        LogisticRegression(n_jobs=1).fit(X, y)
