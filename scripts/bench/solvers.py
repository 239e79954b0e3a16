"""`--suite solvers`: time for lr_jax's L-BFGS to reach the training cost scikit-learn's lbfgs reaches.

On the course data, for scikit-learn's `LogisticRegression(penalty=None)` and `LogisticRegression(C=1)`
(default tol and max_iter, as a user runs it): scikit-learn's fit time against lr_jax's time to a cost
J <= J_sklearn (λ = 1/(C·m); J of scikit-learn's parameters computed by lr_jax's `loss.cost`, so both
sides are measured on one objective). lr_jax first runs long once to find k, the first iteration count
whose J is at or below the target; the timed runs then make exactly k iterations. Columns:

  in-process, 1st call   `train.run_steps` after `jax.clear_caches()`: tracing and compiling included
  in-process, 2nd call   the same call again: the compiled program only (steady state)
  whole process          `python -c ...` from start to exit: imports, data loading, fit (or k iterations)
  2nd process            the same lr_jax process again with the persistent compilation cache warm

Ratios are lr_jax / scikit-learn (< 1: lr_jax is faster). Each figure is a median of --repeats runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import median_time

SETTINGS = {"none": None, "C=1": 1.0}  # scikit-learn's C (None = penalty=None)


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", default=None, help="folder of the course files (default: as lr_jax)")
    parser.add_argument(
        "--precision",
        choices=("float32", "float64"),
        default="float64",
        help="lr_jax's dtype (scikit-learn always works in float64)",
    )
    parser.add_argument("--max-steps", type=int, default=1000, help="cap on lr_jax's iterations")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process figures")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit scikit-learn's BLAS threads (default: its own choice; on a loaded "
        "machine its threads oversubscribe the cores and it runs many times slower)",
    )


def _sklearn(C):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(penalty=None) if C is None else LogisticRegression(C=C)


def _process_time(code: str, repeats: int, blas_threads: int | None = None) -> float:
    env = dict(os.environ)
    if blas_threads is not None:
        env.update({v: str(blas_threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    return median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env), repeats)


def _process_code(args, C, k: int | None, cache: str | None = None) -> str:
    load = (
        "from lr_jax import data; from lr_jax.config import DataConfig; "
        f"s = data.load(DataConfig(dir={args.data_dir!r}))['train']; "
    )
    if k is None:
        return (
            load + "from sklearn.linear_model import LogisticRegression as L; import warnings; "
            "warnings.simplefilter('ignore'); "
            f"L(**{ ({'penalty': None} if C is None else {'C': C})!r}).fit(s.features(float), s.y)"
        )
    return (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r}); import jax; "
        f"jax.config.update('jax_enable_x64', {args.precision == 'float64'}); "
        + (f"from lr_jax import runtime; runtime.use_compilation_cache({cache!r}); " if cache else "")
        + load
        + f"import bench.solvers as b; b.LrJax(s.features('{args.precision}'), s.y, {C!r}).run({k})"
    )


class LrJax:
    """lr_jax's full-batch L-BFGS on one training set, with λ = 1/(C·m) (0 for C=None)."""

    def __init__(self, x_ND, y_N, C):
        import jax
        import jax.numpy as jnp

        from lr_jax import optim, train
        from lr_jax.models import logistic as model

        self.x_ND, self.y_N = jnp.asarray(x_ND), jnp.asarray(y_N)
        m, dtype = x_ND.shape[0], self.x_ND.dtype
        self.l2 = 0.0 if C is None else 1.0 / (C * m)
        self.hparams = optim.make_hparams(0.0, dtype, l2=self.l2)
        self.state = train.init_state(
            model.init_params(x_ND.shape[1], dtype=dtype), self.hparams, jax.random.key(0), optim="lbfgs"
        )

    def run(self, num_steps: int):
        import jax

        from lr_jax import train

        return jax.block_until_ready(
            train.run_steps(self.state, self.x_ND, self.y_N, self.hparams, num_steps=num_steps, optim="lbfgs")
        )


def _measure(args, x_ND, y_N, C, x_jax) -> dict:
    import jax
    import jax.numpy as jnp
    from threadpoolctl import threadpool_limits

    from lr_jax import loss

    with threadpool_limits(args.blas_threads):
        clf = _sklearn(C).fit(x_ND, y_N)
        sk_s = median_time(lambda: _sklearn(C).fit(x_ND, y_N), args.repeats)
    lr = LrJax(x_jax, y_N, C)
    dtype = lr.x_ND.dtype
    sk_params = {"w": jnp.asarray(clf.coef_[0], dtype), "b": jnp.asarray(clf.intercept_[0], dtype)}
    target = float(loss.cost(sk_params, lr.x_ND, lr.y_N, None, lr.l2))
    _, costs_T = lr.run(args.max_steps)
    reached = np.flatnonzero(np.asarray(costs_T) <= target)
    if reached.size == 0:
        return {"C": C, "target": target, "best": float(np.nanmin(costs_T)), "sk_iter": int(clf.n_iter_[0])}
    k = int(reached[0])  # costs_T[k] is J after k iterations
    first = []
    for _ in range(args.repeats):
        jax.clear_caches()
        first.append(median_time(lambda: lr.run(k), 1))
    row = {
        "C": C,
        "target": target,
        "k": k,
        "sk_iter": int(clf.n_iter_[0]),
        "sk_s": sk_s,
        "first_s": statistics.median(first),
        "second_s": median_time(lambda: lr.run(k), args.repeats),
    }
    if not args.no_process:
        row["sk_proc_s"] = _process_time(_process_code(args, C, None), args.repeats, args.blas_threads)
        row["jax_proc_s"] = _process_time(_process_code(args, C, k), args.repeats)
        cached = _process_code(args, C, k, cache=tempfile.mkdtemp(prefix="lr_jax-solvers-xla-"))
        _process_time(cached, 1)  # the first process fills the persistent compilation cache
        row["jax_proc2_s"] = _process_time(cached, args.repeats)
    return row


def run(args) -> None:
    import warnings

    import jax

    from lr_jax import data
    from lr_jax.config import DataConfig

    warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter (penalty=None)
    jax.config.update("jax_enable_x64", args.precision == "float64")
    split = data.load(DataConfig(dir=args.data_dir))["train"]
    x_ND, x_jax = split.features(np.float64), split.features(getattr(np, args.precision))
    print(
        f"course data: {x_ND.shape[0]} x {x_ND.shape[1]}; lr_jax {args.precision} on "
        f"{jax.default_backend()};"
        f" scikit-learn BLAS threads: {args.blas_threads or 'default'}; medians of {args.repeats}"
    )
    print("\n## lr_jax's L-BFGS to scikit-learn's training cost (ratio = lr_jax time / scikit-learn time)\n")
    print(
        "| setting | J reached | iterations sk / lr_jax | timing | scikit-learn (s) | lr_jax (s) | ratio |\n"
        "| --- | --- | --- | --- | ---: | ---: | ---: |"
    )
    for name, C in SETTINGS.items():
        row = _measure(args, x_ND, split.y, C, x_jax)
        if "k" not in row:
            print(
                f"| {name} | {row['target']:.6f} | - / not reached in {args.max_steps} (best {row['best']:.6f}) "
                "| | | | |"
            )
            continue
        lines = [("in-process, 1st call (compile)", row["sk_s"], row["first_s"])]
        lines.append(("in-process, 2nd call", row["sk_s"], row["second_s"]))
        if "sk_proc_s" in row:
            lines.append(("whole process", row["sk_proc_s"], row["jax_proc_s"]))
            lines.append(("2nd whole process (warm cache)", row["sk_proc_s"], row["jax_proc2_s"]))
        for i, (what, sk, lj) in enumerate(lines):
            lead = f"| {name} | {row['target']:.6f} | {row['sk_iter']} / {row['k']} " if i == 0 else "| | | "
            print(f"{lead}| {what} | {sk:.3f} | {lj:.3f} | {lj / sk:.2f}x |", flush=True)
