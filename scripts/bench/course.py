"""`course` suite: the course's 2000-step run, lr_jax against the course's NumPy loop, in one process.

    python scripts/benchmark.py --suite course [--repeats 5] [--process-repeats 3]

Measures, on the real data: (1) the 2000-iteration training loop — lr_jax's compiled scan (first call,
compile included, and second call) against the NumPy float64 course loop (the test oracle) and a float32
variant; (2) one gradient step written three ways — two Python for-loops, vectorized NumPy, jitted JAX —
the course's closing point about vectorization; (3) what bounds the loop: bytes of X read per step against
the read bandwidth of a NumPy reduction over the same array, and the FLOP rate; (4) whole processes:
`python scripts/train.py` against `scripts/bench/numpy_course_run.py` doing the same run.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench import median_time  # noqa: E402
from lr_jax import pixels, train  # noqa: E402
from lr_jax.config import Config, DataConfig  # noqa: E402
from lr_jax.pipelines.spec import spec_from_config  # noqa: E402
from lr_jax.pipelines.stages import initial_state, load_inputs  # noqa: E402
from lr_jax.reference import logistic as reference  # noqa: E402

STEPS = 2000


def add_arguments(parser) -> None:
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LR_JAX_DATA_DIR"),
        help="folder with the two HDF5 files (default: $LR_JAX_DATA_DIR)",
    )
    parser.add_argument("--process-repeats", type=int, default=3, help="runs of each whole process")
    parser.add_argument("--loop-steps", type=int, default=1, help="steps of the Python for-loop version")


def for_loop_step(w, b, X, Y, lr):
    """One gradient step with the two explicit for-loops the course starts from (X is (n, m))."""
    n, m = X.shape
    dw, db = np.zeros(n), 0.0
    for i in range(m):
        z = b
        for j in range(n):
            z += w[j] * X[j, i]
        dz = 1 / (1 + math.exp(-z)) - Y[i]
        for j in range(n):
            dw[j] += X[j, i] * dz
        db += dz
    return w - lr * dw / m, b - lr * db / m


def vectorized_step(w, b, X, Y, lr):
    grads, _ = reference.propagate(w, b, X, Y)
    return w - lr * grads["dw"], b - lr * grads["db"]


def run(args) -> None:
    config = Config(data=DataConfig(dir=args.data_dir, download=False))
    spec = spec_from_config(config)
    run_data = load_inputs(spec)  # the run's arrays: uint8 pixels as stored
    splits, x_u8, y = run_data.splits, run_data.xs["train"], run_data.ys["train"]
    x_ND = pixels.for_training(x_u8, jax.numpy.float32)  # what the run trains on (stages.place): converted once
    # The course's layout: X = x.reshape(m, -1).T / 255, an (n, m) Fortran-ordered array.
    X64, Y64 = splits["train"].features(np.float64).T, splits["train"].y[None, :].astype(np.float64)
    m, n = x_ND.shape
    state, hp = initial_state(spec, n)
    loop = lambda: jax.block_until_ready(train.run_steps(state, x_ND, y, hp, num_steps=STEPS))
    loop_u8 = lambda: jax.block_until_ready(train.run_steps(state, x_u8, y, hp, num_steps=STEPS))

    rows = {}
    rows["lr_jax scan, first call (compile + run)"] = median_time(loop, args.repeats, setup=jax.clear_caches)
    loop()
    rows["lr_jax scan, second call"] = median_time(loop, args.repeats)
    loop_u8()
    rows["lr_jax scan on the uint8 pixels (converted inside the program), second call"] = median_time(
        loop_u8, args.repeats
    )
    rows["NumPy float64 course loop (oracle)"] = median_time(lambda: reference.model(X64, Y64, STEPS), args.repeats)
    rows["NumPy float32 course loop"] = median_time(
        lambda: reference.model(X64, Y64, STEPS, dtype=np.float32), args.repeats
    )
    base = rows["NumPy float64 course loop (oracle)"]
    print(f"\n## Training loop, {STEPS} iterations, m={m}, n={n} (median of {args.repeats})\n")
    print("| implementation | time (s) | NumPy f64 time / this |\n| --- | ---: | ---: |")
    for name, t in rows.items():
        print(f"| {name} | {t:.3f} | {base / t:.1f}x |")

    step_rows = per_step_times(args, state, x_ND, y, hp, X64, Y64, rows["lr_jax scan, second call"])
    loop_step = step_rows["two Python for-loops (course's starting point)"]
    print(f"\n## One gradient step, three ways (median; for-loops: {args.loop_steps} step(s))\n")
    print("| implementation | time per step (ms) | for-loop time / this |\n| --- | ---: | ---: |")
    for name, t in step_rows.items():
        print(f"| {name} | {1e3 * t:.3f} | {loop_step / t:,.0f}x |")

    print_bound(x_ND, rows["lr_jax scan, second call"] / STEPS, args.repeats)
    print_processes(args)


def per_step_times(args, state, x_ND, y, hp, X64, Y64, scan_time) -> dict[str, float]:
    w0, b0 = np.zeros((X64.shape[0], 1)), 0.0
    step = jax.jit(train.train_step, static_argnames="optim")
    one = lambda: jax.block_until_ready(step(state, x_ND, y, hp, optim="sgd"))
    one()
    return {
        "two Python for-loops (course's starting point)": median_time(
            lambda: for_loop_step(w0.ravel(), b0, X64, Y64.ravel(), 0.005), args.loop_steps
        ),
        "vectorized NumPy float64 (the course)": median_time(
            lambda: vectorized_step(w0, b0, X64, Y64, 0.005), 20 * args.repeats
        ),
        "jitted JAX step, one call per step (dispatch included)": median_time(one, 20 * args.repeats),
        "jitted JAX step inside lax.scan (2000-step call / 2000)": scan_time / STEPS,
    }


def print_bound(x_ND, step_s, repeats) -> None:
    """Bytes of X read per step (two passes: Xw and Xᵀdz) vs one multi-threaded read of X as float32."""
    x_f32 = np.asarray(x_ND, np.float32)
    v = np.ones(x_f32.shape[1], np.float32)
    read_s = median_time(lambda: x_f32 @ v, 20 * repeats)  # BLAS sgemv: reads X once, all cores
    big = np.ones((2**14, 2**12), np.float32)  # 256 MiB: far beyond the caches
    dram_s = median_time(lambda: big @ v[: big.shape[1]], repeats)
    flops = 4 * x_f32.size  # two multiply-adds per element of X
    print("\n## What bounds the compiled loop\n")
    print(
        f"- The run trains on X as float32 features ({x_f32.nbytes / 2**20:.1f} MiB, converted once from "
        f"{x_f32.size / 2**20:.1f} MiB of uint8; it fits the 32 MiB L3 cache). Each step reads it twice: "
        f"{2 * x_f32.nbytes / step_s / 1e9:.1f} GB/s of it, {flops / step_s / 1e9:.1f} GFLOP/s."
    )
    print(
        f"- One NumPy float32 matrix-vector product reads X (float32) at {x_f32.nbytes / read_s / 1e9:.1f} GB/s "
        f"from the cache; a 256 MiB matrix at {big.nbytes / dram_s / 1e9:.1f} GB/s (main memory)."
    )
    print(
        "- Two multiply-adds per value read: the step is bound by reading X from the cache, not by FLOPs or "
        "main memory; per-step dispatch is gone (one call for all steps)."
    )


def print_processes(args) -> None:
    env = {**os.environ, "LR_JAX_DATA_DIR": str(Path(args.data_dir).resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        runs = itertools.count()  # a fresh run folder each time: a run refuses a folder with checkpoints
        cmds = {
            "python scripts/train.py": lambda: [
                sys.executable,
                str(REPO / "scripts/train.py"),
                f"hydra.run.dir={tmp}/j{next(runs)}",
            ],
            "python scripts/bench/numpy_course_run.py": lambda: [
                sys.executable,
                str(REPO / "scripts/bench/numpy_course_run.py"),
                args.data_dir,
                f"{tmp}/n{next(runs)}",
            ],
        }
        times = {
            name: median_time(
                lambda c=cmd: subprocess.run(c(), env=env, check=True, capture_output=True), args.process_repeats
            )
            for name, cmd in cmds.items()
        }
    numpy_t = times["python scripts/bench/numpy_course_run.py"]
    print(f"\n## Whole process, load + train + write outputs (median of {args.process_repeats})\n")
    print("| process | wall time (s) | NumPy process / this |\n| --- | ---: | ---: |")
    for name, t in times.items():
        print(f"| `{name}` | {t:.2f} | {numpy_t / t:.2f}x |")
