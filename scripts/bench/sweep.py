"""`sweep` suite: one grid of learning rates trained four ways on the course data, measured in one run.

    python scripts/benchmark.py --suite sweep [--num-lrs 64] [--steps 2000] [--repeats 3]
                                [--hydra-jobs 4] [--numpy-runs 2]

(a) the vmapped sweep: `sweep.train_grid`, the whole grid in one compiled call (warm; the first call,
    compilation included, is shown too);
(b) `train.fit` once per learning rate, sequentially in one process (compiled once: the learning rate
    is a traced argument), every run measured;
(c) `python scripts/train.py -m optim.learning_rate=...` with Hydra's basic launcher: one multirun of 1
    job and one of `--hydra-jobs` jobs are measured; all `--num-lrs` jobs are EXTRAPOLATED from them
    (process start-up + jobs x time per job);
(d) the course's NumPy loop (lr_jax/reference/logistic.py, float64 as in the course): `--numpy-runs` runs
    measured, EXTRAPOLATED linearly to `--num-lrs` runs.
What bounds (a): its FLOP rate against NumPy matrix products of the same shapes, measured in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench import median_time  # noqa: E402
from lr_jax import train  # noqa: E402
from lr_jax.config import Config  # noqa: E402
from lr_jax.pipelines import stages, sweep  # noqa: E402
from lr_jax.pipelines.spec import spec_from_config  # noqa: E402
from lr_jax.reference import logistic as reference  # noqa: E402

TARGETS = {"(b)": 3.0, "(c)": 20.0}  # the targets for (a) on a 2-core CPU: at least this much faster


def add_arguments(parser) -> None:
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LR_JAX_DATA_DIR"),
        help="folder with the two HDF5 files (default: $LR_JAX_DATA_DIR)",
    )
    parser.add_argument("--num-lrs", type=int, default=64, help="learning rates in the grid")
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps per learning rate")
    parser.add_argument("--hydra-jobs", type=int, default=4, help="jobs of the measured multirun (c)")
    parser.add_argument("--numpy-runs", type=int, default=2, help="measured runs of the NumPy loop (d)")


def learning_rates(n: int) -> list[float]:
    """`n` learning rates spread log-uniformly over the course's range, 1e-4 to 1e-2."""
    return [float(f"{lr:.6g}") for lr in np.geomspace(1e-4, 1e-2, n)]


def run(args) -> None:
    lrs = learning_rates(args.num_lrs)
    base = Config.from_dict(
        {
            "data": {"dir": args.data_dir, "download": False},
            "train": {"num_iterations": args.steps, "print_cost": False},
            "sweep": {"learning_rates": lrs},
        }
    )
    run_data = stages.load_inputs(spec_from_config(base))
    xs, ys = run_data.xs, run_data.ys
    x_ND, y_N = xs["train"], ys["train"]
    points = sweep.grid_specs(sweep.grid_configs(base))
    n, steps = len(points), args.steps
    numpy_s = numpy_products_time(args, np.asarray(x_ND), n)

    t0 = time.perf_counter()
    jax.block_until_ready(sweep.train_grid(points, x_ND, y_N).costs)
    first = time.perf_counter() - t0
    rows = {
        "(a) vmapped sweep, one compiled call": (
            median_time(lambda: jax.block_until_ready(sweep.train_grid(points, x_ND, y_N).costs), args.repeats),
            f"median of {args.repeats}",
        )
    }
    rows["(a) the same, first call (compilation included)"] = (first, "1 call")
    b_name = f"(b) {n} sequential train.fit runs, one process"
    rows[b_name] = (sequential(points, x_ND, y_N), "all runs, once")
    rows[f"(c) Hydra multirun, basic launcher, {n} jobs"] = hydra_multirun(args, lrs)
    rows[f"(d) NumPy course loop (float64), {n} runs"] = numpy_loop(args, lrs)
    print_table(args, rows, x_ND.shape)
    print_bound(rows["(a) vmapped sweep, one compiled call"][0], rows[b_name][0], np.asarray(x_ND), n, steps, numpy_s)


def sequential(points, x_ND, y_N) -> float:
    """Seconds for one `train.fit` per grid point, one after another (warmed up on the first)."""

    def one(c):
        state, hparams = stages.initial_state(c, x_ND.shape[1])
        return train.fit(state, x_ND, y_N, hparams, num_steps=c.train.num_iterations).costs

    jax.block_until_ready(one(points[0]))
    t0 = time.perf_counter()
    for c in points:
        jax.block_until_ready(one(c))
    return time.perf_counter() - t0


def hydra_multirun(args, lrs) -> tuple[float, str]:
    """(extrapolated seconds for all jobs, how): start-up + len(lrs) x per-job time, from 1 and k jobs."""

    def multirun(k: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                str(REPO / "scripts" / "train.py"),
                "-m",
                "optim.learning_rate=" + ",".join(map(str, lrs[:k])),
                f"train.num_iterations={args.steps}",
                "train.print_cost=false",
                f"data.dir={Path(args.data_dir).resolve()}",
                f"hydra.sweep.dir={tmp}",
            ]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "MPLBACKEND": "Agg"})
            return time.perf_counter() - t0

    k = min(args.hydra_jobs, len(lrs))
    t1, tk = multirun(1), multirun(k)
    per_job = (tk - t1) / (k - 1) if k > 1 and tk > t1 else tk / k  # noise can make tk <= t1: then tk / k
    startup = max(t1 - per_job, 0.0)
    how = (
        f"EXTRAPOLATED: 1 job {t1:.1f} s, {k} jobs {tk:.1f} s -> start-up {startup:.1f} s "
        f"+ {len(lrs)} x {per_job:.2f} s"
    )
    return startup + len(lrs) * per_job, how


def numpy_loop(args, lrs) -> tuple[float, str]:
    """(extrapolated seconds for all runs, how): the course's float64 loop, `--numpy-runs` of them timed."""
    from lr_jax import data
    from lr_jax.config import DataConfig

    split = data.load(DataConfig(dir=args.data_dir, download=False))["train"]
    X, Y = split.features(np.float64).T, split.y[None, :].astype(np.float64)  # the course's (n, m) layout
    k = min(args.numpy_runs, len(lrs))
    t0 = time.perf_counter()
    for lr in lrs[:k]:
        reference.model(X, Y, args.steps, learning_rate=lr)
    tk = time.perf_counter() - t0
    return tk * len(lrs) / k, f"EXTRAPOLATED: {k} runs {tk:.1f} s, x {len(lrs)}/{k}"


def print_table(args, rows, shape) -> None:
    a = rows["(a) vmapped sweep, one compiled call"][0]
    print(
        f"\n## {args.num_lrs} learning rates x {args.steps} iterations, m={shape[0]}, n={shape[1]}, "
        f"{jax.default_backend()} ({os.cpu_count()} cores)\n"
    )
    print("| way | time (s) | this / (a) | measured how |\n| --- | ---: | ---: | --- |")
    for name, (t, how) in rows.items():
        print(f"| {name} | {t:.2f} | {t / a:.1f}x | {how} |")
    for key, target in TARGETS.items():
        t = next(t for name, (t, _) in rows.items() if name.startswith(key))
        verdict = "met" if t / a >= target else "NOT met"
        print(f"\n- (a) is {t / a:.1f}x faster than {key}; target >= {target:.0f}x: {verdict}.", end="")
    print()


def numpy_products_time(args, x_ND: np.ndarray, n: int) -> float:
    """Median time of NumPy's two products of one vmapped step, X Wᵀ and dZᵀ X, for n configs."""
    x_ND = x_ND.astype(np.float32)  # the run holds uint8 pixels; NumPy's BLAS needs floats
    w_CD = np.full((n, x_ND.shape[1]), 1e-3, np.float32)
    dz_NC = np.full((x_ND.shape[0], n), 1e-3, np.float32)
    pair = lambda: (x_ND @ w_CD.T, dz_NC.T @ x_ND)
    pair()
    return median_time(pair, 5 * args.repeats)


def print_bound(a_s: float, b_s: float, x_ND: np.ndarray, n: int, steps: int, numpy_s: float) -> None:
    """(a)'s FLOP rate against NumPy's products of its shapes, X Wᵀ (m x c) and dZᵀ X (c x n) per step."""
    flops_step = 4 * x_ND.size * n  # two products, a multiply and an add per element of X per config
    a_rate, np_rate = flops_step * steps / a_s / 1e9, flops_step / numpy_s / 1e9
    x_reads = 2 * x_ND.nbytes * steps / a_s / 1e9
    print("\n## What bounds (a)\n")
    print(
        f"- (a) runs {a_rate:.1f} GFLOP/s ({flops_step / 1e6:.0f} MFLOP per step for {n} configs); "
        f"NumPy's two products of the same shapes ({x_ND.shape} x {(x_ND.shape[1], n)}, "
        f"{(n, x_ND.shape[0])} x {x_ND.shape}) run {np_rate:.1f} GFLOP/s here: "
        f"(a) reaches {100 * a_rate / np_rate:.0f} % of it."
    )
    b_rate, b_reads = flops_step * steps / b_s / 1e9, 2 * x_ND.nbytes * n * steps / b_s / 1e9
    verdict = (
        "at half NumPy's rate for the same products or more: (a) is bound by those products' arithmetic"
        if a_rate >= 0.5 * np_rate
        else "under half NumPy's rate for the same products: "
        "the rest of the step (elementwise work, loop overhead) weighs at this grid size"
    )
    print(
        f"- Per step (a) reads X twice for all {n} configs ({x_reads:.1f} GB/s, "
        f"{flops_step / (2 * x_ND.nbytes):.1f} FLOP per byte of X), {verdict}. "
        f"(b) reads X twice per config ({b_reads:.1f} GB/s, 0.5 FLOP per byte) at {b_rate:.1f} GFLOP/s: "
        "matrix-vector products, bound by memory bandwidth."
    )
