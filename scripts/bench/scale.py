"""`--suite scale`: full-batch steps on synthetic uint8 data of growing m, against NumPy float32.

Every configuration runs in its own subprocess (this file with `--worker`), so each reports its own peak
resident memory. Per m, on the same synthetic data (n = 12288 by default):
  - lr_jax: `train.run_steps` on uint8 pixels held on the device, scaled inside the step: one full-batch
    step, and one minibatch epoch (`--batch-size`, a fresh permutation, all inside one compiled call);
  - numpy: the same gradient step in NumPy on a float32 copy (X / 255), BLAS matrix-vector products;
  - read bandwidth: a NumPy reduction (max) over the uint8 array, and the same in JAX on the device.
"GB/s read" counts the passes each step makes over X at the bytes stored per value: lr_jax makes one
pass over uint8 (1 byte; cost and gradient chunk by chunk), NumPy two over float32 (Xw, then Xᵀdz).
Targets: lr_jax >= 1.0x NumPy throughput, t(100k) <= 2.2 t(50k), peak RSS at 100k < 3 GB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench`, also in the --worker process
from bench import median_time

GB = 1e9


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", default="25000,50000,100000", help="comma-separated m")
    parser.add_argument("--features", type=int, default=12288, help="n, values per example")
    parser.add_argument("--steps", type=int, default=3, help="gradient steps per timed call")
    parser.add_argument("--numpy-max", type=int, default=200_000, help="skip NumPy above this m (memory)")
    parser.add_argument("--batch-size", type=int, default=1024, help="minibatch size of the epoch timing")
    parser.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk (lr_jax.pixels)")
    parser.add_argument("--json-out", default=None, help="also write the figures as JSON to this file")


def run(args) -> None:
    rows = []
    for m in (int(s) for s in args.sizes.split(",")):
        impls = ["lr_jax", "numpy"] if m <= args.numpy_max else ["lr_jax"]
        for impl in impls:
            rows.append(
                _spawn(
                    {
                        "impl": impl,
                        "m": m,
                        "n": args.features,
                        "steps": args.steps,
                        "repeats": args.repeats,
                        "chunk_rows": args.chunk_rows,
                        "batch_size": args.batch_size,
                    }
                )
            )
            print(_format(rows[-1]), flush=True)
    print(f"\n## The full-batch step, n = {args.features}, each size in its own process (median of {args.repeats})\n")
    for line in _table(rows, args.batch_size):
        print(line)
    summary = _targets(rows)
    for line in summary:
        print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rows": rows, "targets": summary}, f, indent=2)


def _spawn(job: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {**job, "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _format(r: dict) -> str:
    head = f"m={r['m']:>9,}  {r['impl']:<7}"
    if "error" in r:
        return f"{head}  error: {r['error']}"
    epoch = (
        f"  | epoch (batch {r['batch_size']}) {r['epoch_s'] * 1e3:8.1f} ms {r['m'] / r['epoch_s']:>10,.0f} ex/s"
        if r.get("epoch_s")
        else ""
    )
    return (
        f"{head}  step {r['step_s'] * 1e3:9.1f} ms  {r['examples_per_s']:>11,.0f} ex/s  "
        f"{r['read_GBps']:6.2f} GB/s read  | {r['bandwidth_name']} {r['bandwidth_GBps']:6.2f} GB/s  "
        f"| peak RSS {r['peak_rss_GB']:.2f} GB  [{r['backend']}]{epoch}"
    )


def _table(rows: list[dict], batch_size: int) -> list[str]:
    """One markdown row per size: lr_jax's step beside NumPy's, their throughput ratio, memory, an epoch."""
    ok = {(r["impl"], r["m"]): r for r in rows if "error" not in r}
    lines = [
        f"| m | lr_jax step | NumPy float32 step | lr_jax / NumPy throughput | lr_jax peak RSS | NumPy peak RSS "
        f"| minibatch epoch (B = {batch_size}) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in sorted({m for _, m in ok}):
        jx, np_ = ok.get(("lr_jax", m)), ok.get(("numpy", m))
        cells = [
            f"{jx['step_s'] * 1e3:.1f} ms" if jx else "-",
            f"{np_['step_s'] * 1e3:.1f} ms" if np_ else "-",
            f"{jx['examples_per_s'] / np_['examples_per_s']:.2f}x" if jx and np_ else "-",
            f"{jx['peak_rss_GB']:.2f} GB" if jx else "-",
            f"{np_['peak_rss_GB']:.2f} GB" if np_ else "-",
            f"{jx['epoch_s'] * 1e3:.0f} ms" if jx and jx.get("epoch_s") else "-",
        ]
        lines.append(f"| {m:,} | {' | '.join(cells)} |")
    return lines


def _targets(rows: list[dict]) -> list[str]:
    ok = {(r["impl"], r["m"]): r for r in rows if "error" not in r}
    lines = ["", "ratios measured in this run:"]
    for (impl, m), r in sorted(ok.items()):
        if impl == "lr_jax" and ("numpy", m) in ok:
            ratio = r["examples_per_s"] / ok["numpy", m]["examples_per_s"]
            lines.append(f"  m={m:,}: lr_jax / numpy float32 throughput = {ratio:.2f}x (target >= 1.0)")
    jax_ms = sorted(m for impl, m in ok if impl == "lr_jax")
    for small, big in zip(jax_ms, jax_ms[1:]):
        growth = ok["lr_jax", big]["step_s"] / ok["lr_jax", small]["step_s"]
        lines.append(
            f"  step time m={big:,} / m={small:,} = {growth:.2f} (m ratio {big / small:.2f}; "
            f"target <= {1.1 * big / small:.2f})"
        )
    if jax_ms:
        r = ok["lr_jax", jax_ms[-1]]
        lines.append(
            f"  peak RSS lr_jax at m={jax_ms[-1]:,} = {r['peak_rss_GB']:.2f} GB "
            f"(uint8 data {r['data_GB']:.2f} GB; target < 3 GB at m=100,000)"
        )
    return lines


# ---- worker: one configuration in a fresh process ----------------------------------------------------


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (compilation, first touch of memory)
    return median_time(fn, repeats)


def _worker(job: dict) -> dict:
    from lr_jax.data import synthetic

    m, n, steps, repeats = job["m"], job["n"], job["steps"], job["repeats"]
    if job["impl"] == "numpy":
        x_u8, y = synthetic.generate(0, m, n, seed=0)
        bw_name, bytes_read, backend = "numpy max", 2 * 4, "numpy"
        bw = m * n / _time(lambda: x_u8.max(), repeats) / GB
        step_s, epoch_s = _numpy_step(x_u8, y, steps, repeats), None
    else:
        bw_name, bytes_read = "jax max", 1
        step_s, bw, backend, epoch_s = _jax_step(
            lambda: synthetic.generate(0, m, n, seed=0), steps, repeats, job["chunk_rows"], job["batch_size"]
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB  # Linux reports KiB
    return {
        **job,
        "step_s": step_s,
        "examples_per_s": m / step_s,
        "backend": backend,
        "read_GBps": m * n * bytes_read / step_s / GB,
        "bandwidth_name": bw_name,
        "bandwidth_GBps": bw,
        "peak_rss_GB": peak,
        "data_GB": m * n / GB,
        "epoch_s": epoch_s,
    }


def _numpy_step(x_u8, y, steps: int, repeats: int) -> float:
    """The course's vectorized step, w -= α Xᵀ(σ(Xw + b) - y)/m, on a float32 copy of X / 255."""
    import numpy as np

    m, n = x_u8.shape
    x = np.empty((m, n), np.float32)
    for i in range(0, m, 4096):  # no float64 temporary of the whole matrix
        np.divide(x_u8[i : i + 4096], np.float32(255), out=x[i : i + 4096], dtype=np.float32)
    yf = y.astype(np.float32)
    w, b = np.zeros(n, np.float32), np.float32(0)

    def run():
        nonlocal w, b
        for _ in range(steps):
            dz = 1 / (1 + np.exp(-(x @ w + b))) - yf
            w, b = w - np.float32(0.005) * (x.T @ dz) / m, b - np.float32(0.005) * dz.mean()

    return _time(run, repeats) / steps


def _jax_step(make_data, steps: int, repeats: int, chunk_rows: int | None, batch_size: int):
    import jax
    import jax.numpy as jnp

    from lr_jax import pixels, train
    from lr_jax.config import Config
    from lr_jax.pipelines.spec import spec_from_config
    from lr_jax.pipelines.stages import initial_state

    if chunk_rows:
        pixels.CHUNK_ROWS[jax.default_backend()] = chunk_rows
    x_u8, y = make_data()
    x, yd = jax.device_put(x_u8), jax.device_put(y.astype("int32"))
    del x_u8  # the only host reference: from here the device (on CPU, this RAM) holds X
    state, hparams = initial_state(spec_from_config(Config()), x.shape[1])
    compiled = train.run_steps.lower(state, x, yd, hparams, num_steps=steps).compile()
    step_s = _time(lambda: jax.block_until_ready(compiled(state, x, yd, hparams)), repeats) / steps
    epoch = train.run_steps.lower(state, x, yd, hparams, num_steps=1, batch_size=batch_size).compile()
    epoch_s = _time(lambda: jax.block_until_ready(epoch(state, x, yd, hparams)), repeats)
    reduce = jax.jit(jnp.max)
    bw = x.size / _time(lambda: jax.block_until_ready(reduce(x)), repeats) / GB
    return step_s, bw, jax.default_backend(), epoch_s


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    print(json.dumps(_worker(json.loads(sys.argv[2]))))
