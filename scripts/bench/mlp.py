"""`mlp` suite: the course's 4-layer network (12288 -> 20 -> 7 -> 5 -> 1) on the course data, measured in one run.

    python scripts/benchmark.py --suite mlp [--steps 2500] [--numpy-steps 2500] [--chunk 100] [--sweep-steps 200]
        [--repeats 3]

(1) training from the course's init at its learning rate 0.0075, `--steps` iterations, through the stages a
    run calls (`stages.parametrize` with train.parametrization forced, `stages.place`, `stages.fit` in one
    chunk, no hooks; second call, warm): in weights and in the span of the data (W1 = c·W1₀ + XᵀA against
    K = X Xᵀ; `span.fit` builds K in every call, so its time is in the row), float64 and float32. Before
    anything is timed the parametrizations must agree (`check_same_costs`). Against the course's NumPy code
    (`lr_jax.reference.deep`, float64 as in the course, and float32; features converted before the clock
    starts) with OpenBLAS limited to 1 and to 2 threads (on a shared machine its 2 threads can be much slower
    than 1), run for `--numpy-steps` iterations once each and scaled linearly to `--steps` when fewer (its
    iterations all cost the same). The figure: the float32 loop in the parametrization train.parametrization=
    auto picks, against the faster NumPy float64 row; target >= 20x.
(2) where the float32 span loop's time goes: K (once per fit), the loop in one call, the m x m products K·A
    alone (the same products in a scan, nothing else), the fixed cost of a call (an iteration, W1
    materialized, the copies back), and the loop in chunks of `--chunk` iterations (a run's log_every, as
    with a progress bar: each chunk materializes W1 and syncs with the host).
(3) 16 learning rates, `--sweep-steps` iterations each (0: not measured), float32: one vmapped
    `sweep.train_grid` call against 16 sequential `train.run_steps` calls of one compiled program (the
    learning rate is traced).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench import median_time  # noqa: E402
from lr_jax import runtime, span, train  # noqa: E402
from lr_jax.config import Config  # noqa: E402
from lr_jax.pipelines import stages, sweep  # noqa: E402
from lr_jax.pipelines.spec import RunSpec, spec_from_config  # noqa: E402
from lr_jax.reference import deep as reference_deep  # noqa: E402

LAYERS = [12288, 20, 7, 5, 1]
LEARNING_RATES = tuple(float(a) for a in np.geomspace(1e-3, 3e-2, 16))
FIGURE = "4-layer MLP loop (float32) vs NumPy float64 course code"
TARGET = 20.0
PARAMETRIZATIONS = (span.SPAN, span.WEIGHTS)
# float64: the two parametrizations make the same iterates in exact arithmetic and differ in rounding only
# (X·W1 against K·A + c·X·W1₀, summed in other orders: ~1e-16 relative per operation, on a GPU too, where
# TF32 touches float32 products only). The network's dynamics amplify a perturbation: float32's rounding of
# the parameters (6e-8) grows to at most 0.072 on a cost of 0.37 over 2500 iterations (the comment of
# tests/models/test_mlp_course.py), a factor of about 3e6 relative, which takes float64's 1.1e-16 to 4e-10.
# Measured over the 2500 iterations (XLA CPU): at most 2.9e-14.
SAME_COST_RTOL = 1e-9
# float32: the span computes in float64 (lr_jax.span), weights in float32, whose costs leave the float64
# table after iteration 265 (tests/models/test_mlp_course.py); before, both are within 2.2e-7 of it (measured
# between the two over iterations 0-199: 2.4e-7).
FLOAT32_ITERATIONS, FLOAT32_ATOL = 200, 1e-5


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("LR_JAX_DATA_DIR"), help="the two HDF5 files' folder")
    parser.add_argument("--steps", type=int, default=2500, help="training iterations (the course's 2500)")
    parser.add_argument("--numpy-steps", type=int, default=2500, help="NumPy iterations actually run")
    parser.add_argument("--chunk", type=int, default=100, help="iterations per call in the chunked span row")
    parser.add_argument(
        "--sweep-steps", type=int, default=200, help="iterations of each of the 16 sweep runs (0: none)"
    )


def deep_config(data_dir: str, precision: str, steps: int, parametrization: str = "auto") -> Config:
    return Config.from_dict(
        {
            "data": {"dir": data_dir, "download": False},
            "model": {"name": "mlp", "hidden": LAYERS[1:-1], "init": "course"},
            "optim": {"learning_rate": 0.0075},
            "train": {"num_iterations": steps, "precision": precision, "seed": 1, "parametrization": parametrization},
        }
    )


def prepared(data_dir: str, precision: str, steps: int, parametrization: str) -> tuple[RunSpec, stages.Placed, str]:
    """A run's spec, its placed training state and the parametrization it trains in, through the stages a run
    calls (call inside `runtime.precision_scope(precision)`)."""
    spec = spec_from_config(deep_config(data_dir, precision, steps, parametrization))
    inputs = stages.load_inputs(spec)
    state, hparams = stages.initial_state(spec, inputs.n_features)
    state, name = stages.parametrize(spec, inputs, state, hparams)
    return spec, stages.place(spec, inputs, state, hparams), name


def auto_choice(data_dir: str, steps: int) -> str:
    """The parametrization train.parametrization=auto picks for the float32 network."""
    with runtime.precision_scope("float32"):
        return prepared(data_dir, "float32", steps, "auto")[2]


def lr_jax_loop(data_dir: str, precision: str, steps: int, parametrization: str, repeats: int):
    """(median seconds of `stages.fit` in one chunk, the costs of its first call, which compiles)."""
    with runtime.precision_scope(precision):
        spec, placed, _ = prepared(data_dir, precision, steps, parametrization)
        fit = lambda: stages.fit(spec, placed)
        costs = np.asarray(fit().costs)
        return median_time(fit, repeats), costs


def check_same_costs(costs: dict[tuple[str, str], np.ndarray]) -> None:
    """Refuse to time a loop whose costs are not the other parametrization's (see SAME_COST_RTOL)."""
    span64, weights64 = costs["float64", span.SPAN], costs["float64", span.WEIGHTS]
    span32, weights32 = (costs["float32", p][:FLOAT32_ITERATIONS] for p in PARAMETRIZATIONS)
    same_shapes = span64.shape == weights64.shape and span32.shape == weights32.shape
    gap64 = float(np.max(np.abs(span64 - weights64) / np.abs(weights64))) if same_shapes else np.nan
    gap32 = float(np.max(np.abs(span32 - weights32))) if same_shapes else np.nan
    if not (gap64 <= SAME_COST_RTOL and gap32 <= FLOAT32_ATOL):  # NaN too: a cost that is not finite
        raise SystemExit(
            f"mlp suite: the span and the weight-space loops disagree (float64: {len(span64)} and "
            f"{len(weights64)} costs, largest relative gap {gap64:.3g}, allowed {SAME_COST_RTOL:g}; float32, "
            f"iterations 0-{FLOAT32_ITERATIONS - 1}: {gap32:.3g}, allowed {FLOAT32_ATOL:g}). One of them "
            "trains a wrong loop: run tests/test_span.py and tests/models/test_mlp_course.py before timing."
        )
    print(
        f"checked: span and weights agree (float64: largest relative cost gap {gap64:.1e} over {len(span64)} "
        f"iterations; float32: {gap32:.1e} over iterations 0-{min(FLOAT32_ITERATIONS, len(span32)) - 1})",
        flush=True,  # the loops took minutes; the NumPy rows take minutes more
    )


def span_profile(data_dir: str, steps: int, chunk: int, repeats: int) -> dict[str, float]:
    """Seconds of the float32 span run's parts (see the module docstring, (2))."""
    with runtime.precision_scope("float32"):
        spec, placed, _ = prepared(data_dir, "float32", steps, span.SPAN)
        x, state = placed.x, placed.state
        build = lambda: jax.block_until_ready(span.gram(x, state.opt_state.anchor, spec.dtype))
        k = build()
        call = functools.partial(span.run_steps, state, x, placed.y, placed.hparams, gram=k, optim=spec.optim)
        one = lambda: jax.block_until_ready(call(num_steps=1, model=spec.model))
        chunked = lambda: stages.fit(spec, placed, chunk_size=chunk)
        products = products_alone(k.k_MM, state.opt_state.coef["a"], steps)
        for fn in (one, chunked, products):
            fn()  # compile
        return {
            "K": median_time(build, repeats),
            "products": median_time(products, repeats),
            "call": median_time(one, repeats),
            "chunked": median_time(chunked, repeats),
        }


def products_alone(k_MM, a_MH, steps: int):
    """A function running `steps` products K·A of the span loop's shapes and precision, nothing else: each of
    the previous result over K's largest eigenvalue (a power iteration: finite, and no subnormal values)."""
    scale = 1 / float(np.linalg.eigvalsh(np.asarray(k_MM))[-1])

    @jax.jit
    def products(k_MM, a_MH):
        def product(a_MH, _):
            return jnp.tensordot(k_MM, a_MH, axes=(1, 0), precision=span.HIGHEST) * scale, None

        return jax.lax.scan(product, a_MH, None, length=steps)[0]

    def run():
        with runtime.precision_scope("float64"):
            return jax.block_until_ready(products(k_MM, jnp.ones_like(a_MH)))

    return run


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


def loop_name(precision: str, parametrization: str, auto: str) -> str:
    picked = " (auto's choice)" if parametrization == auto else ""
    included = ", K = X Xᵀ included" if parametrization == span.SPAN else ""
    return f"lr_jax, {parametrization}{picked}{included}, {precision}"


def run(args) -> None:
    auto = auto_choice(args.data_dir, args.steps)
    loops = {
        (precision, p): lr_jax_loop(args.data_dir, precision, args.steps, p, args.repeats)
        for precision in ("float64", "float32")
        for p in PARAMETRIZATIONS
    }
    check_same_costs({key: costs for key, (_, costs) in loops.items()})
    rows = {loop_name(*key, auto): seconds for key, (seconds, _) in loops.items()}
    scale = args.steps / args.numpy_steps
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
    figure = base / loops["float32", auto][0]
    verdict = "met" if figure >= TARGET else f"NOT met (missed by {TARGET / figure:.1f}x)"
    print(f"\n{FIGURE} ({auto}): {figure:.1f}x, target >= {TARGET:g}x: {verdict}", flush=True)

    parts = span_profile(args.data_dir, args.steps, args.chunk, args.repeats)
    whole = loops["float32", span.SPAN][0]
    print(f"\n## Where the float32 span loop's {args.steps} iterations go\n")
    print("| part | time (s) | / the loop in one call |\n| --- | ---: | ---: |")
    for name, t in (
        ("the loop in one call, K included (above)", whole),
        ("K = X Xᵀ and Z₀ = X W1₀, float64 (once per fit)", parts["K"]),
        (f"{args.steps} products K·A alone (209 x 209 by 209 x 20, float64)", parts["products"]),
        ("a call of 1 iteration (W1 = c·W1₀ + XᵀA materialized, copies back)", parts["call"]),
        (f"the loop in calls of {args.chunk} iterations, no hooks", parts["chunked"]),
    ):
        print(f"| {name} | {t:.3f} | {t / whole:.2f} |")

    if args.sweep_steps == 0:
        return
    grid_s, sequential_s = sweep_times(args.data_dir, args.sweep_steps, args.repeats)
    print(f"\n## 16 learning rates x {args.sweep_steps} iterations, float32\n")
    print("| implementation | time (s) | sequential / this |\n| --- | ---: | ---: |")
    print(f"| vmapped sweep (one compiled call) | {grid_s:.2f} | {sequential_s / grid_s:.1f}x |")
    print(f"| 16 sequential runs (one compiled program) | {sequential_s:.2f} | 1.0x |")
