"""`--suite latency`: whole processes on the real data, lr_jax beside plain NumPy, against its latency targets.

lr_jax: the course run with a fresh compilation cache (first process on a machine) and again with it warm;
`scripts/train.py --help`; `scripts/sweep.py` with 16 learning rates x 2000 iterations and a Hydra multirun
of 8 learning rates (both with the cache warm, as on a machine that ran the course before). NumPy float64
(`numpy_course_run.py`): the plot-free course process, and the same 16 / 8 runs in one process. Then
(`--only` picks parts) the dependencies' import cost (`bench.importcost`) and the estimator's cold start
against scikit-learn's process (`bench.coldstart`), and the warm workers (`--only workers`): a multirun of 8
learning rates in one process (Hydra's basic launcher) and in two warm worker processes
(`hydra/launcher=parallel`) against NumPy's 8 runs, with what each job paid (metrics.json).
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import coldstart, importcost

REPO = Path(__file__).resolve().parents[2]
NUMPY_RUN = REPO / "scripts" / "bench" / "numpy_course_run.py"
RATES_16 = [round(0.0005 * (k + 1), 4) for k in range(16)]  # 0.0005 ... 0.008: none diverges
RATES_8 = RATES_16[::2]
TARGETS = {  # the project's latency targets, on a 2-core CPU (docs/benchmarks.md)
    "course": 1.2,
    "sweep16": 0.15,
    "multirun8": 0.5,
    "help_s": 0.4,
    "after_training_s": 0.1,
    "loop_speedup": 10.0,
    "multirun8_workers": 0.5,
}


PARTS = ("course", "imports", "coldstart", "workers")  # the course figures; import cost; cold start; multiruns


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("LR_JAX_DATA_DIR"), help="the course's .h5 files")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS} (default: all)")


def _timed(cmd: list[str], env: dict, label: str = "") -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    seconds = time.perf_counter() - t0
    if label:  # each measurement as it comes: a long suite on a loaded machine still leaves numbers behind
        print(f"  ({label}: {seconds:.2f} s)", flush=True)
    return seconds


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


PHASES = {  # a course run's process from outside, cut by what its metrics.json records
    "start: Python, imports, Hydra's config (import_time_s)": "import_time_s",
    "data (data_time_s)": "data_time_s",
    "compile or load from the cache (compile_time_s)": "compile_time_s",
    "train (train_time_s)": "train_time_s",
    "evaluate (evaluate_time_s)": "evaluate_time_s",
    "files (files_time_s)": "files_time_s",
}


def _phases(m: dict, wall_s: float) -> dict[str, float]:
    """The process's wall time cut into `PHASES`; "rest of the run" is the run's time outside them (state,
    hooks, printing), "exit" is from metrics.json to the process's end (Hydra, interpreter shutdown) plus
    the interpreter's own start before the script's first line."""
    cut = {phase: m.get(key) or 0.0 for phase, key in PHASES.items()}
    cut["rest of the run"] = m["run_time_s"] - sum(v for p, v in cut.items() if not p.startswith("start"))
    cut["exit, and Python's start before the script"] = wall_s - m["process_time_s"]
    return cut


def _print_phases(phases: dict[str, list[dict[str, float]]]) -> None:
    names = list(phases)
    print(f"\nwhere the course run's time goes (medians, s)\n\n| phase | {' | '.join(names)} |")
    print("| --- |" + " ---: |" * len(names))
    for phase in phases[names[0]][0]:
        medians = (statistics.median(c[phase] for c in phases[n]) for n in names)
        print(f"| {phase} | " + " | ".join(f"{v:.3f}" for v in medians) + " |")


def run(args) -> None:
    parts = args.only.split(",")
    if unknown := set(parts) - set(PARTS):
        sys.exit(f"error: --only {args.only}: unknown part(s) {sorted(unknown)}; choose from {','.join(PARTS)}")
    if "course" in parts:
        _course_figures(args)
    if "imports" in parts:
        importcost.report(max(args.repeats, 3))
    if "coldstart" in parts:
        coldstart.report(args.repeats, args.data_dir)
    if "workers" in parts:
        _worker_figures(args)


def _folder(name: str) -> str:
    """A figure's name as a folder name that a Hydra override takes as it is (no comma: a sweep; no space)."""
    return name.replace(",", "").replace(" ", "-")


def _worker_figures(args) -> None:
    """8 learning rates: NumPy's 8 runs in one process; a Hydra multirun in one process (basic launcher) and
    in 2 warm worker processes (hydra/launcher=parallel), both with a warm compilation cache; then what the
    jobs of the last repeat paid, from their metrics.json."""
    if not args.data_dir:
        sys.exit("error: pass --data-dir or set LR_JAX_DATA_DIR (the folder with the course's .h5 files)")
    py, tmp = sys.executable, Path(tempfile.mkdtemp(prefix="lr_jax-workers-"))
    env = {**os.environ, "MPLBACKEND": "Agg", "LR_JAX_DATA_DIR": args.data_dir, "HYDRA_FULL_ERROR": "1"}
    multirun = [py, "scripts/train.py", "-m", f"optim.learning_rate={','.join(map(str, RATES_8))}"]
    multirun += [f"train.compilation_cache_dir={tmp / 'xla'}", "train.progress=false"]
    commands = {
        "numpy 8 runs": [py, str(NUMPY_RUN), args.data_dir, "-", "--learning-rates", ",".join(map(str, RATES_8))],
        "multirun 8": multirun,
        "multirun 8, 2 workers": multirun + ["hydra/launcher=parallel"],
    }
    for k, name in enumerate(("multirun 8", "multirun 8, 2 workers")):  # prime the warm cache (untimed)
        _timed(commands[name] + [f"hydra.sweep.dir={tmp / f'prime-{k}'}"], env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for r in range(args.repeats):
        for name, cmd in commands.items():
            out = [f"hydra.sweep.dir={tmp / f'{_folder(name)}-{r}'}"] if name.startswith("multirun") else []
            times[name].append(_timed(cmd + out, env, name))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\nwarm workers, medians of {args.repeats}; {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}")
    for name, cmd in commands.items():
        print(f"  {name:<22} {med[name]:7.2f} s   $ {shlex.join(str(c) for c in cmd)}")
    print("\n| figure | measured | target | met |\n| --- | ---: | ---: | --- |")
    for name in ("multirun 8", "multirun 8, 2 workers"):
        ratio, target = med[name] / med["numpy 8 runs"], TARGETS["multirun8_workers"]
        print(f"| {name} / NumPy's 8 runs | {ratio:.2f} | <= {target} | {'yes' if ratio <= target else 'no'} |")
    keys = ("process_id", "run_in_process", "import_time_s", "compile_time_s", "train_time_s", "files_time_s")
    for name in ("multirun 8", "multirun 8, 2 workers"):
        print(f"\n{name}, the last repeat's jobs: {', '.join(keys)}")
        for job in sorted((tmp / f"{_folder(name)}-{args.repeats - 1}").glob("[0-9]*/metrics.json")):
            m = json.loads(job.read_text())
            print("  " + " ".join(f"{m.get(k) or 0:.3f}" if k.endswith("_s") else str(m.get(k)) for k in keys))


def _course_figures(args) -> None:
    if not args.data_dir:
        sys.exit("error: pass --data-dir or set LR_JAX_DATA_DIR (the folder with the course's .h5 files)")
    py, tmp = sys.executable, Path(tempfile.mkdtemp(prefix="lr_jax-latency-"))
    env = {**os.environ, "MPLBACKEND": "Agg", "LR_JAX_DATA_DIR": args.data_dir, "HYDRA_FULL_ERROR": "1"}
    env.pop("LR_JAX_COMPILATION_CACHE", None)
    warm_cache = f"train.compilation_cache_dir={tmp / 'xla-warm'}"
    train, sweep = [py, "scripts/train.py"], [py, "scripts/sweep.py"]
    commands = {
        "help": train + ["--help"],
        "numpy course": [py, str(NUMPY_RUN), args.data_dir, str(tmp / "np"), "--no-plot"],
        "numpy 16 runs": [py, str(NUMPY_RUN), args.data_dir, "-", "--learning-rates", ",".join(map(str, RATES_16))],
        "numpy 8 runs": [py, str(NUMPY_RUN), args.data_dir, "-", "--learning-rates", ",".join(map(str, RATES_8))],
        "sweep 16": sweep + [f"sweep.learning_rates=[{','.join(map(str, RATES_16))}]", warm_cache],
        "multirun 8": train + ["-m", f"optim.learning_rate={','.join(map(str, RATES_8))}", warm_cache],
    }
    times: dict[str, list[float]] = {name: [] for name in ["course", "course 2nd", *commands]}
    after_training, train_s = [], []
    phases: dict[str, list[dict[str, float]]] = {"course": [], "course 2nd": []}  # where each run's time went
    for name in ("sweep 16", "multirun 8"):  # prime the warm cache (untimed)
        _timed(commands[name] + [f"hydra.run.dir={tmp / 'prime'}", f"hydra.sweep.dir={tmp / 'prime-m'}"], env)
    for r in range(args.repeats):
        cache = f"train.compilation_cache_dir={tmp / f'xla-{r}'}"  # a fresh cache: a first process
        for name, run_dir in (("course", tmp / f"c{r}"), ("course 2nd", tmp / f"c{r}b")):
            times[name].append(_timed(train + [cache, f"hydra.run.dir={run_dir}"], env, name))
            m = _metrics(run_dir)
            train_s.append(m["train_time_s"])
            phases[name].append(_phases(m, times[name][-1]))
            if name == "course 2nd":  # warm: the first run's evaluate_time_s also holds compiling the evaluation
                after_training.append(m["evaluate_time_s"] + m["files_time_s"])
        for name, cmd in commands.items():
            out = [f"hydra.run.dir={tmp / f'{name}-{r}'}", f"hydra.sweep.dir={tmp / f'{name}-{r}'}"]
            times[name].append(_timed(cmd + (out if "sweep" in name or "multirun" in name else []), env, name))
    med = {name: statistics.median(t) for name, t in times.items()}
    loop_repeats = 2 * args.repeats + 1  # the loops are short: more of them tame the noise
    loops = _loops_s(args.data_dir, loop_repeats)
    help_imports_jax = _help_imports_jax()

    print(f"medians of {args.repeats} whole processes; {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}")
    for name, cmd in [("course", train), ("course 2nd", train), *commands.items()]:
        print(f"  {name:<12} {med[name]:7.2f} s   $ {shlex.join(str(c) for c in cmd)}")
    rows = [
        ("course run / NumPy course process", med["course"] / med["numpy course"], TARGETS["course"], "<="),
        ("2nd course run (warm cache) / NumPy", med["course 2nd"] / med["numpy course"], TARGETS["course"], "<="),
        ("sweep.py 16 x 2000 / NumPy's 16 runs", med["sweep 16"] / med["numpy 16 runs"], TARGETS["sweep16"], "<="),
        ("multirun of 8 / NumPy's 8 runs", med["multirun 8"] / med["numpy 8 runs"], TARGETS["multirun8"], "<="),
        ("train.py --help, s", med["help"], TARGETS["help_s"], "<"),
        (
            "after training, warm run (evaluate + files), s",
            statistics.median(after_training),
            TARGETS["after_training_s"],
            "<",
        ),
        (
            "NumPy loop / the course's compiled loop (span, 2000 steps, K included)",
            loops["numpy"] / loops["span"],
            TARGETS["loop_speedup"],
            ">=",
        ),
        ("NumPy loop / the compiled loop in weight space (2000 steps)", loops["numpy"] / loops["lr_jax"], None, ""),
        (
            "NumPy loop / the course run's loop (train_time_s: with its cost lines and checkpoints)",
            loops["numpy"] / statistics.median(train_s),
            TARGETS["loop_speedup"],
            ">=",
        ),
    ]
    print("\n| figure | measured | target | met |\n| --- | ---: | ---: | --- |")
    for what, value, target, op in rows:
        if target is None:  # a reference row: no target of its own
            print(f"| {what} | {value:.2f} | - | - |")
            continue
        met = {"<=": value <= target, "<": value < target, ">=": value >= target}[op]
        print(f"| {what} | {value:.2f} | {op} {target} | {'yes' if met else 'no'} |")
    _print_phases(phases)
    print(
        f"\n--help imports JAX: {help_imports_jax}. The course's 2000 steps in this process, medians of "
        f"{loop_repeats} interleaved: NumPy float64 {loops['numpy']:.3f} s, lr_jax in the span of the data "
        f"{loops['span']:.3f} s, in weight space {loops['lr_jax']:.3f} s, the hand-written two-pass floor of "
        f"weight space {loops['floor']:.3f} s (compiled before timing). The span loop inside the course processes "
        f"above (train_time_s: its cost lines and 4 checkpoints written, beside the worker thread's evaluation "
        f"compile): {statistics.median(train_s):.3f} s."
    )


IDLE_S = 0.5  # seconds between two timed loops: each starts on idle cores


def _floor_loop(x_ND, y_N, learning_rate: float, num_steps: int):
    """The floor for lr_jax's loop: a hand-written two-pass step (z = Xw + b, dz = σ(z) - y,
    w -= α·Xᵀdz/m, b -= α·mean(dz)) with each cost kept; no optimizer state, no stopping test."""
    import jax
    import jax.numpy as jnp
    import optax

    @jax.jit
    def loop(x_ND, y_N):
        y_N = y_N.astype(x_ND.dtype)

        def step(t, carry):
            w_D, b, costs_T = carry
            z_N = x_ND @ w_D + b
            dz_N = jax.nn.sigmoid(z_N) - y_N
            costs_T = costs_T.at[t].set(jnp.mean(optax.sigmoid_binary_cross_entropy(z_N, y_N)))
            return w_D - learning_rate * (dz_N @ x_ND) / x_ND.shape[0], b - learning_rate * jnp.mean(dz_N), costs_T

        init = (jnp.zeros(x_ND.shape[1], x_ND.dtype), jnp.zeros((), x_ND.dtype), jnp.zeros(num_steps, x_ND.dtype))
        return jax.lax.fori_loop(0, num_steps, step, init)[2]

    return lambda: loop(x_ND, y_N)


def _loops_s(data_dir: str, repeats: int = 3) -> dict[str, float]:
    """{"numpy", "span", "lr_jax", "floor"}: seconds for the course's 2000 gradient steps on its data, timed
    in this process, alternately (medians).

    NumPy is the course's own loop (`lr_jax/reference/logistic.py`) on the float64 features; span is the
    loop the course run trains with (`train.parametrization: auto` picks the span of the data for it):
    `span.fit` as `stages.fit` calls it, the Gram matrix's computation included, without hooks; lr_jax is
    the weight-space loop, `train.run_steps` as a run in weight space calls it (on what `stages.place` hands
    it: the pixels as float32 features, converted once); floor is `_floor_loop` on the same arrays. All are
    compiled before timing: the loops alone, without process start, imports, data loading or files.
    """
    import jax

    from lr_jax import Config, span, train
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.spec import spec_from_config

    sys.path.insert(0, str(NUMPY_RUN.parent))
    import numpy_course_run

    x, y = numpy_course_run.load(Path(data_dir) / "train_catvnoncat.h5", "train")
    config = Config.from_dict({"data": {"dir": data_dir}})
    spec = spec_from_config(config)
    with stages.runtime_scope(spec):
        inputs = stages.load_inputs(spec)
        state, hparams = stages.initial_state(spec, inputs.n_features)
        placed = stages.place(spec, inputs, state, hparams)
        run = functools.partial(
            train.run_steps,
            placed.state,
            placed.x,
            placed.y,
            placed.hparams,
            num_steps=config.train.num_iterations,
            optim=spec.optim,
        )
        floor = _floor_loop(placed.x, placed.y, config.optim.learning_rate, config.train.num_iterations)
        in_span, parametrization = stages.parametrize(spec, inputs, state, hparams)
        assert parametrization == span.SPAN, parametrization  # what the course run trains in
        span_placed = stages.place(spec, inputs, in_span, hparams)

        def span_loop():
            result = span.fit(
                span_placed.state,
                span_placed.x,
                span_placed.y,
                span_placed.hparams,
                num_steps=config.train.num_iterations,
                optim=spec.optim,
                model=spec.model,
            )
            return result.state.params, result.costs

        jax.block_until_ready((run(), floor(), span_loop()))  # compiled (or loaded from the cache) before timing
        loops = {
            "numpy": lambda: numpy_course_run.reference.model(x, y),
            "span": span_loop,
            "lr_jax": run,
            "floor": floor,
        }
        times = {name: [] for name in loops}
        for _ in range(repeats):
            for name, loop in loops.items():
                time.sleep(IDLE_S)  # OpenBLAS's threads spin on a core for a while after NumPy's last product
                t0 = time.perf_counter()
                jax.block_until_ready(loop())
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _help_imports_jax() -> bool:
    code = (
        "import runpy, sys; sys.argv = ['scripts/train.py', '--help']; sys.path.insert(0, 'scripts')\n"
        "try:\n    runpy.run_path('scripts/train.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('JAX' if 'jax' in sys.modules else 'none', file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return out.stderr.strip().endswith("JAX")
