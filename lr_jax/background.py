"""The run's one worker thread: host work that overlaps the compiled calls, which release the GIL.

matplotlib's import and the empty line plots, and compiling the evaluation while the model trains, go here
(`lr_jax.pipelines.stages`, `lr_jax.runfolder.report`). Light: no JAX, no matplotlib.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _worker_thread() -> ThreadPoolExecutor:
    """The run's one worker thread: what it is given runs there in order, beside the caller's JAX calls."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lr_jax-worker")
        return _worker


def in_background(fn: Callable, *args, **kwargs) -> Future:
    """Run `fn(*args, **kwargs)` in the worker thread, after what was given to it before; `.result()` waits
    for it (and raises its error). For host work that can overlap a compiled call, which releases the GIL
    (matplotlib's import and line plots, compiling the evaluation while the model trains: see `stages`)."""
    return _worker_thread().submit(fn, *args, **kwargs)
