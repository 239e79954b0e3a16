"""Benchmark suites for `scripts/benchmark.py`; `median_time` is the one timer they share."""

import statistics
import time


def median_time(fn, repeats: int, setup=lambda: None) -> float:
    """Median wall time of `fn()` over `repeats` calls, `setup()` untimed before each."""
    times = []
    for _ in range(repeats):
        setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
