"""Figures for scripts/gpu_check.sh, without Hydra: `python scripts/gpu_check.py course|sweep [--smoke]`.

course: the course's run (2000 steps) on uint8 pixels, timed after compilation, in one compiled call and in
        chunks of log_every (what the CLI does, for the progress bar).
sweep:  1024 learning rates trained at once: `jax.vmap` over `train.run_steps`'s traced hyperparameters.
pixels: the uint8 step at m = 1,000,000 as a dot product and as a fused sum of products, by chunk size.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from lr_jax import data, optim, pixels, train
from lr_jax.config import Config, DataConfig
from lr_jax.models import logistic as model
from lr_jax.pipelines import stages
from lr_jax.pipelines import sweep as sweep_lib
from lr_jax.pipelines.spec import spec_from_config


def _course_data(smoke: bool):
    folder = os.environ.get("LR_JAX_DATA_DIR")
    if folder and os.path.isdir(folder):
        split = data.load(DataConfig(dir=folder, download=False))["train"]
        return split.x_raw.reshape(len(split.y), -1), split.y.astype(np.int32), "catvnoncat"
    from lr_jax.data import synthetic  # no course files here: the same shape, synthetic

    x, y = synthetic.generate(0, 209, 12288, seed=0)
    return x, y.astype(np.int32), "synthetic 209 x 12288 (LR_JAX_DATA_DIR not set)"


def course(smoke: bool) -> None:
    x_np, y_np, source = _course_data(smoke)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    state, hparams = stages.initial_state(spec_from_config(Config()), x.shape[1])
    for chunk in (None, 100):
        first = train.fit(state, x, y, hparams, num_steps=2000, chunk_size=chunk)  # compiles
        runs = [train.fit(state, x, y, hparams, num_steps=2000, chunk_size=chunk) for _ in range(3)]
        run_s = float(np.median([r.run_s for r in runs]))
        accuracy = float((np.asarray(model.predict(runs[0].state.params, x)) == y_np).mean())
        print(
            f"course [{source}]: 2000 steps in {'one call' if chunk is None else 'chunks of 100'}: "
            f"{run_s * 1e3:.1f} ms after compile (target < 100 ms); compile {first.compile_s:.2f} s; "
            f"final cost {float(runs[0].costs[-1]):.6f}; train accuracy {100 * accuracy:.2f} %"
        )


def sweep(smoke: bool) -> None:
    num_rates, steps = (8, 200) if smoke else (1024, 2000)
    x_np, y_np, source = _course_data(smoke)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    state, _ = stages.initial_state(spec_from_config(Config()), x.shape[1])
    rates = jnp.logspace(-5, -1, num_rates, dtype=jnp.float32)

    grid = sweep_lib.stack([optim.make_hparams(float(lr)) for lr in rates])  # one hparams per rate, stacked

    @jax.jit
    def run_all(grid):
        return jax.vmap(lambda hparams: train.run_steps(state, x, y, hparams, num_steps=steps))(grid)

    t0 = time.perf_counter()
    jax.block_until_ready(run_all(grid))
    compile_and_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    final_state, costs = jax.block_until_ready(run_all(grid))
    run_s = time.perf_counter() - t0
    best = int(jnp.argmin(costs[:, -1]))
    # checked at the course's rate: above ~0.01 the cost oscillates and float32 rounding differences grow
    course = int(jnp.argmin(jnp.abs(rates - 0.005)))
    one = train.run_steps(state, x, y, optim.make_hparams(rates[course]), num_steps=steps)[1]
    print(
        f"sweep [{source}]: {num_rates} learning rates x {steps} steps in one vmapped call: "
        f"{run_s:.3f} s after compile ({compile_and_run:.2f} s with compile), "
        f"{num_rates * steps / run_s:,.0f} steps/s; lowest final cost {float(costs[best, -1]):.6f} at "
        f"lr={float(rates[best]):.3g}; at lr={float(rates[course]):.3g} max |vmapped - single run| cost = "
        f"{float(jnp.max(jnp.abs(costs[course] - one))):.2e}"
    )


def pixels_forms(smoke: bool) -> None:
    """The uint8 weight-space step (logistic regression, 10 steps) as a dot product and as a fused sum of
    products (`pixels.FUSED_REDUCTION_BACKENDS`), at several chunk sizes, against the device's read rate."""
    m, n, steps = (20_000, 3000, 3) if smoke else (1_000_000, 12288, 10)
    k1, k2 = jax.random.split(jax.random.key(0))
    x = jax.random.randint(k1, (m, n), 0, 256, dtype=jnp.int32).astype(jnp.uint8)
    y = jax.random.bernoulli(k2, 0.5, (m,)).astype(jnp.int32)
    read = _median_s(lambda: jax.block_until_ready(jnp.max(x)))
    print(f"pixels: {m:,} x {n:,} uint8 ({m * n / 1e9:.2f} GB); jnp.max reads {m * n / read / 1e9:,.0f} GB/s")
    state, hparams = stages.initial_state(spec_from_config(Config()), n)
    backend, rows_before = jax.default_backend(), dict(pixels.CHUNK_ROWS)
    for fused in (False, True):
        pixels.FUSED_REDUCTION_BACKENDS.clear()
        pixels.FUSED_REDUCTION_BACKENDS.update({backend} if fused else set())
        for rows in (1024, 4096, 32768):
            pixels.CHUNK_ROWS[backend] = rows
            run = jax.jit(lambda s, x, y, h: train.run_steps(s, x, y, h, num_steps=steps))
            out = jax.block_until_ready(run(state, x, y, hparams))  # compiles
            step = _median_s(lambda run=run: jax.block_until_ready(run(state, x, y, hparams))) / steps
            print(
                f"pixels: {'fused sum' if fused else 'dot':9s} chunk {rows:6,d} rows: step {step * 1e3:8.2f} ms, "
                f"{m * n / step / 1e9:7,.0f} GB/s of X per step; final cost {float(out[1][-1]):.6f}"
            )
    pixels.CHUNK_ROWS.clear()
    pixels.CHUNK_ROWS.update(rows_before)
    pixels.FUSED_REDUCTION_BACKENDS.clear()


def _median_s(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("course", "sweep", "pixels"))
    parser.add_argument("--smoke", action="store_true", help="small sizes, for a CPU")
    args = parser.parse_args()
    {"course": course, "sweep": sweep, "pixels": pixels_forms}[args.what](args.smoke)
