"""`chunks` suite: what printing costs as the run goes costs the course's loop.

    python scripts/benchmark.py --suite chunks [--repeats 9] [--steps 2000]

Times `train.fit` on the course data, the course's 2000 iterations, as one compiled call (no hooks) and in
the chunks a run uses (`stages.training_hooks`: 500 iterations off a terminal, 100 with the bar), each
chunk followed by the hooks that report progress (cost lines to a logging handler, the divergence guard,
progress lines). The variants are interleaved, repetition by repetition, so that a machine's drift touches
them alike; every call after a first untimed one (compiled). The issue's bound: chunked within 5 % of one
call. Run it on a quiet machine.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

import jax

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from lr_jax import pixels, train  # noqa: E402
from lr_jax.config import Config, DataConfig  # noqa: E402
from lr_jax.pipelines import hooks  # noqa: E402
from lr_jax.pipelines.spec import spec_from_config  # noqa: E402
from lr_jax.pipelines.stages import initial_state, load_inputs  # noqa: E402

CHUNKS = (None, 500, 100)  # one call; off a terminal (checkpoint_every); with the bar (log_every)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LR_JAX_DATA_DIR"),
        help="folder with the two HDF5 files (default: $LR_JAX_DATA_DIR)",
    )
    parser.add_argument("--steps", type=int, default=2000, help="iterations per run (the course: 2000)")


def reporting_hooks(steps: int) -> list:
    """The hooks a run calls after each chunk to report progress."""
    return [hooks.CostPrinter(100), hooks.DivergenceGuard(), hooks.ProgressLog(steps)]


def run(args) -> None:
    with open(os.devnull, "w") as devnull:  # the cost lines formatted and written, as in a run
        handler = logging.StreamHandler(devnull)
        logging.getLogger("lr_jax").addHandler(handler)
        logging.getLogger("lr_jax").setLevel(logging.INFO)
        try:
            measure(args)
        finally:
            logging.getLogger("lr_jax").removeHandler(handler)


def measure(args) -> None:
    config = Config(data=DataConfig(dir=args.data_dir, download=False))
    spec = spec_from_config(config)
    inputs = load_inputs(spec)
    x_ND, y = pixels.for_training(inputs.xs["train"], jax.numpy.float32), inputs.ys["train"]
    state, hparams = initial_state(spec, x_ND.shape[1])

    def fit(chunk):
        on_chunk = reporting_hooks(args.steps) if chunk else []
        return lambda: train.fit(state, x_ND, y, hparams, num_steps=args.steps, chunk_size=chunk, on_chunk=on_chunk)

    runs = {chunk: fit(chunk) for chunk in CHUNKS}
    for call in runs.values():
        call()  # compiled (each chunk length is its own program)
    times = {chunk: [] for chunk in CHUNKS}
    for _ in range(args.repeats):
        for chunk, call in runs.items():
            t0 = time.perf_counter()
            call()
            times[chunk].append(time.perf_counter() - t0)
    whole = statistics.median(times[None])
    print(f"\n## The course loop, {args.steps} iterations, chunked vs one call (median of {args.repeats})\n")
    print("| chunks | time (s) | this / one call |\n| --- | ---: | ---: |")
    for chunk, ts in times.items():
        name = "one call, no hooks" if chunk is None else f"{chunk} iterations + reporting hooks"
        print(f"| {name} | {statistics.median(ts):.4f} | {statistics.median(ts) / whole:.3f} |")
