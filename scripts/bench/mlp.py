"""`mlp` suite: the course's 4-layer network (12288 -> 20 -> 7 -> 5 -> 1) on the course data, measured in one run.

    python scripts/benchmark.py --suite mlp [--steps 2500] [--numpy-steps 2500] [--sweep-steps 200] [--repeats 3]

(1) training from the course's init, `--steps` iterations: lr_jax's compiled loop (uint8 pixels scaled in the
    step; XLA hoists that conversion out of the loop, so it is paid once per call and counted; second call,
    warm) in float64 and float32, against the course's NumPy code (`lr_jax.reference.deep`, float64 as in the
    course, and float32; features converted before the clock starts) with OpenBLAS limited to 1 and to 2
    threads (on a shared machine its 2 threads can be much slower than 1), run for `--numpy-steps` iterations
    once each and scaled linearly to `--steps` when fewer (its iterations all cost the same); the issue's
    target: >= 3x the faster NumPy float64 row.
(2) 16 learning rates, `--sweep-steps` iterations each, float32: one vmapped `sweep.train_grid` call against
    16 sequential `train.run_steps` calls of one compiled program (the learning rate is traced).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench import median_time  # noqa: E402
from lr_jax import runtime, train  # noqa: E402
from lr_jax.config import Config  # noqa: E402
from lr_jax.pipelines import stages, sweep  # noqa: E402
from lr_jax.pipelines.spec import spec_from_config  # noqa: E402
from lr_jax.reference import deep as reference_deep  # noqa: E402

LAYERS = [12288, 20, 7, 5, 1]
LEARNING_RATES = tuple(float(a) for a in np.geomspace(1e-3, 3e-2, 16))
TARGET = 3.0


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("LR_JAX_DATA_DIR"), help="the two HDF5 files' folder")
    parser.add_argument("--steps", type=int, default=2500, help="training iterations (the course's 2500)")
    parser.add_argument("--numpy-steps", type=int, default=2500, help="NumPy iterations actually run")
    parser.add_argument("--sweep-steps", type=int, default=200, help="iterations of each of the 16 sweep runs")


def deep_config(data_dir: str, precision: str, steps: int) -> Config:
    return Config.from_dict(
        {
            "data": {"dir": data_dir, "download": False},
            "model": {"name": "mlp", "hidden": LAYERS[1:-1], "init": "course"},
            "optim": {"learning_rate": 0.0075},
            "train": {"num_iterations": steps, "precision": precision, "seed": 1},
        }
    )


def lr_jax_time(data_dir: str, precision: str, steps: int, repeats: int) -> float:
    config = deep_config(data_dir, precision, steps)
    with runtime.precision_scope(precision):
        spec = spec_from_config(config)
        inputs = stages.load_inputs(spec)
        state, hp = stages.initial_state(spec, inputs.n_features)
        model = spec.model
        loop = lambda: jax.block_until_ready(
            train.run_steps(state, inputs.xs["train"], inputs.ys["train"], hp, num_steps=steps, model=model)
        )
        loop()  # compile
        return median_time(loop, repeats)


def numpy_time(data_dir: str, dtype, steps: int, blas_threads: int) -> float:
    from threadpoolctl import threadpool_limits

    config = deep_config(data_dir, "float64", steps)
    split = stages.load_inputs(spec_from_config(config)).splits["train"]
    X, Y = split.features(dtype).T, split.y[None, :].astype(dtype)
    params = reference_deep.course_parameters(LAYERS, seed=1, dtype=dtype)
    with threadpool_limits(blas_threads):
        t0 = time.perf_counter()
        reference_deep.L_layer_model(X, Y, params, learning_rate=dtype(0.0075), num_iterations=steps)
        return time.perf_counter() - t0


def sweep_times(data_dir: str, steps: int, repeats: int) -> tuple[float, float]:
    config = deep_config(data_dir, "float32", steps)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, init="he"))
    config = dataclasses.replace(config, sweep=dataclasses.replace(config.sweep, learning_rates=LEARNING_RATES))
    spec = spec_from_config(config)
    inputs = stages.load_inputs(spec)
    x, y = inputs.xs["train"], inputs.ys["train"]
    configs = sweep.grid_configs(config)
    points = sweep.grid_specs(configs, like=spec)
    grid = lambda: jax.block_until_ready(sweep.train_grid(points, x, y).costs)
    grid()
    states, hparams = sweep.initial_states(points, inputs.n_features)
    model = spec.model
    one = lambda i: train.run_steps(
        sweep.unstack(states, i), x, y, sweep.unstack(hparams, i), num_steps=steps, model=model
    )
    jax.block_until_ready(one(0))  # compile
    sequential = lambda: [jax.block_until_ready(one(i)) for i in range(len(configs))]
    return median_time(grid, repeats), median_time(sequential, repeats)


def run(args) -> None:
    scale = args.steps / args.numpy_steps
    rows = {
        "lr_jax compiled loop, float64": lr_jax_time(args.data_dir, "float64", args.steps, args.repeats),
        "lr_jax compiled loop, float32": lr_jax_time(args.data_dir, "float32", args.steps, args.repeats),
    }
    for dtype in (np.float64, np.float32):
        for threads in (1, 2):
            t = numpy_time(args.data_dir, dtype, args.numpy_steps, threads) * scale
            rows[f"NumPy course code, {dtype.__name__}, {threads} BLAS thread{'s' * (threads > 1)}"] = t
    base = min(rows["NumPy course code, float64, 1 BLAS thread"], rows["NumPy course code, float64, 2 BLAS threads"])
    note = "" if scale == 1 else f" (NumPy: {args.numpy_steps} iterations run, times x {scale:g})"
    print(f"\n## 4-layer network {LAYERS}, {args.steps} iterations{note}\n")
    print("| implementation | time (s) | faster NumPy f64 time / this |\n| --- | ---: | ---: |")
    for name, t in rows.items():
        print(f"| {name} | {t:.2f} | {base / t:.1f}x |")
    best = min(rows["lr_jax compiled loop, float64"], rows["lr_jax compiled loop, float32"])
    verdict = "met" if base / best >= TARGET else "NOT met"
    print(f"\ntarget >= {TARGET:g}x NumPy float64: {verdict} ({base / best:.1f}x)")

    grid_s, sequential_s = sweep_times(args.data_dir, args.sweep_steps, args.repeats)
    print(f"\n## 16 learning rates x {args.sweep_steps} iterations, float32\n")
    print("| implementation | time (s) | sequential / this |\n| --- | ---: | ---: |")
    print(f"| vmapped sweep (one compiled call) | {grid_s:.2f} | {sequential_s / grid_s:.1f}x |")
    print(f"| 16 sequential runs (one compiled program) | {sequential_s:.2f} | 1.0x |")
