"""`--suite estimator --case multiclass`: `lr_jax.sklearn.LogisticRegression` against scikit-learn's on K classes.

Both fit the multinomial model with lbfgs in float64 at the same C, tol and max_iter, on `load_digits`
(1,797 x 64, standardized, 10 classes) and a synthetic ten-class problem (--multiclass-rows x
--multiclass-cols, default 100,000 x 1,000: Gaussian features, labels from a noisy linear teacher). Printed
side by side: each side's fit time (lr_jax's first fit, which compiles, and the median of --repeats fits
after it; scikit-learn's median) and the final objective J = mean cross-entropy + ‖W‖²/(2·C·m), computed by
the same NumPy code for both (the lower J is the better minimizer; they should agree to about tol).
"""

from __future__ import annotations

import numpy as np

from bench import median_time


def add_arguments(parser) -> None:
    parser.add_argument("--multiclass-rows", type=int, default=100_000, help="synthetic K-class set: examples")
    parser.add_argument("--multiclass-cols", type=int, default=1_000, help="synthetic K-class set: features")
    parser.add_argument("--classes", type=int, default=10, help="synthetic K-class set: classes")
    parser.add_argument("--C", type=float, default=1.0, help="both sides' C")


def synthetic(rows: int, cols: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features; the class of the largest of a linear teacher's K logits plus Gumbel noise."""
    rng = np.random.default_rng(seed)
    x_ND = rng.normal(size=(rows, cols))
    logits_NK = x_ND @ rng.normal(size=(cols, classes)) / np.sqrt(cols) * 3
    return x_ND, np.argmax(logits_NK + rng.gumbel(size=logits_NK.shape), axis=1)


def objective(clf, x_ND, y_N, C: float) -> float:
    """J of a fitted estimator: the mean cross-entropy of its softmax plus ‖W‖²/(2·C·m) (NumPy, float64)."""
    z_NK = x_ND @ clf.coef_.T.astype(np.float64) + clf.intercept_.astype(np.float64)
    z_NK -= z_NK.max(axis=1, keepdims=True)
    log_p_NK = z_NK - np.log(np.exp(z_NK).sum(axis=1, keepdims=True))
    index_N = np.searchsorted(clf.classes_, y_N)
    penalty = 0.0 if np.isinf(C) else float(np.sum(clf.coef_.astype(np.float64) ** 2)) / (2 * C * len(y_N))
    return float(-log_p_NK[np.arange(len(y_N)), index_N].mean()) + penalty


def _measure(args, x_ND, y_N) -> dict:
    from sklearn import linear_model
    from threadpoolctl import threadpool_limits

    from lr_jax.sklearn import LogisticRegression

    common = dict(C=args.C, tol=args.tol, max_iter=args.max_iter)
    ours = LogisticRegression(solver="lbfgs", **common)
    theirs = linear_model.LogisticRegression(solver="lbfgs", **common)
    row = {"cold_s": median_time(lambda: ours.fit(x_ND, y_N), 1)}
    row["warm_s"] = median_time(lambda: ours.fit(x_ND, y_N), args.repeats)
    with threadpool_limits(args.blas_threads):
        row["sk_s"] = median_time(lambda: theirs.fit(x_ND, y_N), args.repeats)
    row.update(J=objective(ours, x_ND, y_N, args.C), sk_J=objective(theirs, x_ND, y_N, args.C))
    row.update(n_iter=int(ours.n_iter_[0]), sk_n_iter=int(theirs.n_iter_[0]))
    return row


def run(args) -> None:
    import jax
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    x_digits, y_digits = load_digits(return_X_y=True)
    sets = {
        "digits": (StandardScaler().fit_transform(x_digits), y_digits),
        "synthetic": synthetic(args.multiclass_rows, args.multiclass_cols, args.classes),
    }
    print(
        f"LogisticRegression, multinomial, lbfgs, float64: C {args.C:g}, tol {args.tol:g}, max_iter {args.max_iter};"
        f" lr_jax on {jax.default_backend()}; scikit-learn BLAS threads: {args.blas_threads or 'default'};"
        f" medians of {args.repeats}"
    )
    print(
        f"{'data':<10}{'m x n, K':>20}{'sklearn s':>11}{'lr_jax s':>10}{'(first)':>10}{'ratio':>8}"
        f"{'J sklearn':>14}{'J lr_jax':>14}{'iters':>12}"
    )
    for name, (x_ND, y_N) in sets.items():
        row = _measure(args, x_ND, y_N)
        shape = f"{x_ND.shape[0]} x {x_ND.shape[1]}, {len(np.unique(y_N))}"
        print(
            f"{name:<10}{shape:>20}{row['sk_s']:>11.3f}{row['warm_s']:>10.3f}{row['cold_s']:>10.3f}"
            f"{row['warm_s'] / row['sk_s']:>7.2f}x{row['sk_J']:>14.8f}{row['J']:>14.8f}"
            f"{row['sk_n_iter']:>6}/{row['n_iter']:<5}"
        )
