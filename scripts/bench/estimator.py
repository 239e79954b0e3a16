"""`--suite estimator`: `lr_jax.sklearn.logistic.LogisticRegressionCV` against scikit-learn's, fit time and chosen C.

Both with the same Cs (np.logspace(-4, 4, --cs)), the same StratifiedKFold(--folds) folds, tol, max_iter, lbfgs
and float64 (scikit-learn's defaults: tol 1e-4, max_iter 100), on the course data (209 x 12288, pixels/255)
and a synthetic set (--rows x --cols, default 20000 x 500). lr_jax's fit is timed three ways:

  cold          the first fit in the process: tracing, compiling and writing JAX's persistent cache
  disk cache    after `jax.clear_caches()`: the compiled program read back from the persistent cache
                (the issue's "warm compilation cache": what a second process with the same shapes pays)
  in memory     the next fit: the compiled program already loaded (steady state)

Ratios are lr_jax / scikit-learn (< 1: lr_jax is faster); medians of --repeats runs (cold: one run).
`--case multiclass` times `LogisticRegression` on ten classes instead (`bench/multiclass.py`).
"""

from __future__ import annotations

import tempfile
import warnings

import numpy as np

from bench import median_time, multiclass


def add_arguments(parser) -> None:
    parser.add_argument(
        "--case",
        choices=("cv", "multiclass"),
        default="cv",
        help="cv: LogisticRegressionCV (below); multiclass: LogisticRegression on K classes (bench/multiclass.py)",
    )
    multiclass.add_arguments(parser)
    parser.add_argument("--data-dir", default=None, help="folder of the course files (default: as lr_jax)")
    parser.add_argument("--cs", type=int, default=10, help="number of Cs, np.logspace(-4, 4, cs)")
    parser.add_argument("--folds", type=int, default=5, help="StratifiedKFold splits")
    parser.add_argument("--tol", type=float, default=1e-4, help="both sides' tol")
    parser.add_argument("--max-iter", type=int, default=100, help="both sides' max_iter")
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic set: examples")
    parser.add_argument("--cols", type=int, default=500, help="synthetic set: features")
    parser.add_argument(
        "--blas-threads", type=int, default=None, help="limit scikit-learn's BLAS threads (default: its own choice)"
    )


def synthetic(rows: int, cols: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features, labels from a noisy linear rule (not separable)."""
    rng = np.random.default_rng(seed)
    x_ND = rng.normal(size=(rows, cols))
    z_N = x_ND @ rng.normal(size=cols) / np.sqrt(cols) + 0.5 * rng.normal(size=rows)
    return x_ND, (z_N > 0).astype(np.int64)


def _measure(args, x_ND, y_N) -> dict:
    import jax
    from sklearn import linear_model
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    from lr_jax.sklearn.logistic import LogisticRegressionCV

    common = dict(Cs=args.cs, cv=StratifiedKFold(args.folds), tol=args.tol, max_iter=args.max_iter)
    ours = lambda: LogisticRegressionCV(**common).fit(x_ND, y_N)
    theirs = lambda: linear_model.LogisticRegressionCV(
        **common, scoring="accuracy", l1_ratios=(0.0,), use_legacy_attributes=False
    ).fit(x_ND, y_N)
    row = {"cold_s": median_time(ours, 1)}
    row["disk_s"] = median_time(ours, args.repeats, setup=jax.clear_caches)
    row["memory_s"] = median_time(ours, args.repeats)
    with threadpool_limits(args.blas_threads):
        row["sk_s"] = median_time(theirs, args.repeats)
        row["sk_C"] = theirs().C_
    row["jax_C"] = float(ours().C_[0])
    return row


def run(args) -> None:
    if args.case == "multiclass":
        multiclass.run(args)
        return
    import jax

    from lr_jax import data
    from lr_jax.config import DataConfig
    from lr_jax.runtime import use_compilation_cache

    warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, on both sides
    cache = tempfile.mkdtemp(prefix="lr_jax_bench_cache_")
    use_compilation_cache(cache)  # before the first compilation of the process
    train = data.load(DataConfig(dir=args.data_dir))["train"]
    sets = {"course": (train.features(np.float64), train.y), "synthetic": synthetic(args.rows, args.cols)}
    print(
        f"LogisticRegressionCV, lbfgs, float64: Cs = logspace(-4, 4, {args.cs}), StratifiedKFold({args.folds}),"
        f" tol {args.tol:g}, max_iter {args.max_iter}; lr_jax on {jax.default_backend()}; scikit-learn BLAS "
        f"threads: {args.blas_threads or 'default'}; medians of {args.repeats}; persistent cache in {cache}"
    )
    print(f"\n## LogisticRegressionCV, tol {args.tol:g} (medians of {args.repeats}; (x): lr_jax / scikit-learn)\n")
    print(
        "| data | scikit-learn (s) | lr_jax cold (s) | lr_jax, persistent cache (s) | lr_jax in memory (s) "
        "| C sk / lr_jax |\n| --- | ---: | ---: | ---: | ---: | --- |"
    )
    for name, (x_ND, y_N) in sets.items():
        row = _measure(args, x_ND, y_N)
        cells = [f"{row[k]:.2f} ({row[k] / row['sk_s']:.2f}x)" for k in ("cold_s", "disk_s", "memory_s")]
        print(
            f"| {name}, {x_ND.shape[0]} x {x_ND.shape[1]} | {row['sk_s']:.2f} | {' | '.join(cells)} "
            f"| {row['sk_C']:.4g} / {row['jax_C']:.4g} |",
            flush=True,
        )
