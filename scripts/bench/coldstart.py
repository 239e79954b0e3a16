"""The estimator's cold start, for `--suite latency`: whole processes that import an estimator and fit once.

Each process (`PROBE`) imports scikit-learn's or lr_jax's estimator, loads a data set and fits it once, and
prints its in-process fit seconds with what JAX did meanwhile: programs traced, compiled (or loaded), and
persistent-cache hits and misses. lr_jax runs with an empty compilation cache (a first process on a
machine) and again with it warm (the next process); scikit-learn's process is the reference, in the same run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATASETS = ("breast_cancer", "course")
ESTIMATORS = ("LogisticRegression", "LogisticRegressionCV")
PROBE = r"""
import collections, json, sys, time
side, estimator, dataset, cache, data_dir = sys.argv[1:6]
counts = collections.Counter()
if side == "lr_jax":
    import jax

    def on_duration(event, seconds, **_):
        name = event.rsplit("/", 1)[-1]
        counts.update({"traces": name == "jaxpr_trace_duration", "compiles": name == "backend_compile_duration"})

    jax.monitoring.register_event_duration_secs_listener(on_duration)
    jax.monitoring.register_event_listener(lambda event, **_: counts.update([event.rsplit("/", 1)[-1]]))
    import lr_jax.sklearn as module

    cls = getattr(module, estimator)  # the estimator's module, imported as `from lr_jax.sklearn import Name` does
    make = lambda: cls(compilation_cache_dir=cache)
else:
    from sklearn import linear_model as module

    cls = getattr(module, estimator)
    extra = {"l1_ratios": (0.0,), "use_legacy_attributes": False} if estimator.endswith("CV") else {}
    make = lambda: cls(**extra)
if dataset == "course":
    import h5py, numpy as np
    with h5py.File(f"{data_dir}/train_catvnoncat.h5") as f:
        x_ND = f["train_set_x"][:].reshape(209, -1) / 255.0
        y_N = f["train_set_y"][:]
else:
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler
    x_ND, y_N = load_breast_cancer(return_X_y=True)
    x_ND = StandardScaler().fit_transform(x_ND)
import warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
make().fit(x_ND, y_N)
fit_s = time.perf_counter() - t0
keys = ("traces", "compiles", "cache_hits", "cache_misses")
print(json.dumps({"fit_s": fit_s, **{k: counts[k] for k in keys}}))
"""


def _process(side: str, estimator: str, dataset: str, cache: str, data_dir: str) -> dict:
    """One whole process: its wall seconds ("process_s") and what it printed."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, side, estimator, dataset, cache, data_dir or "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"process_s": time.perf_counter() - t0, **json.loads(out.stdout.strip().splitlines()[-1])}


def report(repeats: int, data_dir: str | None, datasets=DATASETS) -> None:
    """Per data set and estimator: scikit-learn's process, lr_jax's with an empty and a warm cache (medians)."""
    tmp = Path(tempfile.mkdtemp(prefix="lr_jax-coldstart-"))
    datasets = [d for d in datasets if d != "course" or data_dir]
    print(f"\nestimator cold start: import + one fit in a fresh process, medians of {repeats}")
    print(
        "| data | estimator | scikit-learn process, s | lr_jax empty cache, s | ratio | lr_jax warm cache, s | ratio "
        "| in-process fit, warm, s | traces / compiles / cache hits, warm |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )
    for dataset in datasets:
        for estimator in ESTIMATORS:
            runs = {"sk": [], "cold": [], "warm": []}
            warm = str(tmp / f"warm-{dataset}-{estimator}")
            _process("lr_jax", estimator, dataset, warm, data_dir)  # primes the warm cache (untimed)
            for r in range(repeats):  # interleaved, so that a change of load hits all three alike
                runs["sk"].append(_process("sklearn", estimator, dataset, "-", data_dir))
                runs["cold"].append(_process("lr_jax", estimator, dataset, str(tmp / f"cold-{r}"), data_dir))
                runs["warm"].append(_process("lr_jax", estimator, dataset, warm, data_dir))
            med = {k: statistics.median(run["process_s"] for run in v) for k, v in runs.items()}
            last = runs["warm"][-1]
            counts = f"{last['traces']} / {last['compiles']} / {last['cache_hits']}"
            print(
                f"| {dataset} | {estimator} | {med['sk']:.2f} | {med['cold']:.2f} | {med['cold'] / med['sk']:.2f}x "
                f"| {med['warm']:.2f} | {med['warm'] / med['sk']:.2f}x "
                f"| {statistics.median(run['fit_s'] for run in runs['warm']):.3f} | {counts} |"
            )
