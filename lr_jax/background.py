"""Host work beside the compiled calls: the run's one worker thread, and its drawing process.

- The worker thread (`in_background`) overlaps the compiled calls, which release the GIL: compiling the
  evaluation while the model trains goes there (`lr_jax.pipelines.stages`).
- The drawing process (`in_drawing_process`) is a second Python, started once per process
  (`start_drawing`), that imports matplotlib and draws the line plots on another core while this one imports
  JAX, traces and trains: matplotlib's import and drawing hold the GIL, so a thread would only take turns with
  the caller (`lr_jax.runfolder.report`). Calls reach it in order through the worker thread; arguments and
  results are pickled, and what it raises is raised here. Where it cannot start or has died, the call runs in
  the worker thread instead, with the same result.

Light: no JAX, no matplotlib.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

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


DRAWING_ENV = "LR_JAX_DRAWING_PROCESS"  # "0": draw in the worker thread (no second process)
_HEADER = struct.Struct("<Q")  # each message: its length, then the pickle


class Kept(NamedTuple):
    """What a `keep=True` call returned, left in the drawing process: pass it as an argument to a later call,
    which gets the object itself (once). Drawn here instead (no process), the object itself comes back. If
    the process dies in between, the call that takes it runs here with the object made again from `recipe`
    (the call that made it)."""

    key: int
    recipe: tuple[Callable, tuple, dict] | None = None  # this side's only: not sent to the process


class _Drawer:
    """This side of the drawing process: one call at a time, in order."""

    def __init__(self, modules: tuple[str, ...]):
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        if os.environ.get(DRAWING_ENV, "1") != "0" and sys.executable:  # an embedded Python may have none
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-c", "from lr_jax import background; background.serve()", *modules],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,  # its errors come back as replies; matplotlib's chatter stays there
                )
            except OSError as e:
                log.debug("no drawing process (%s): drawing in the worker thread", e)

    def call(self, fn: Callable, args: tuple, kwargs: dict, keep: bool) -> Any:
        with self.lock:
            if self.process is not None:
                try:
                    sent = tuple(Kept(a.key) if isinstance(a, Kept) else a for a in args)
                    _send(self.process.stdin, (fn, sent, kwargs, keep))
                    ok, value = _receive(self.process.stdout)
                except (OSError, EOFError, pickle.UnpicklingError) as e:  # it died (killed, out of memory)
                    log.warning("the drawing process stopped (%s): drawing in this process from now on", e)
                    _end(self.process)  # reaped
                    self.process = None
                else:
                    if ok:
                        return Kept(value.key, (fn, args, kwargs)) if keep else value
                    error, remote_traceback = value
                    raise error from _RemoteTraceback(remote_traceback)
            # Here, in the worker thread: what is kept is the object itself; what the dead process kept is made
            # again from its recipe.
            return fn(*(_made_here(a) for a in args), **kwargs)


def _made_here(arg):
    if not isinstance(arg, Kept):
        return arg
    assert arg.recipe is not None  # every handle this side gives out carries its recipe
    fn, args, kwargs = arg.recipe
    return fn(*(_made_here(a) for a in args), **kwargs)


class _RemoteTraceback(Exception):
    """Where the drawing process raised (its traceback, as text)."""

    def __str__(self) -> str:
        return self.args[0]


_drawer: _Drawer | None = None


def start_drawing(*modules: str) -> None:
    """Start the drawing process now if it is not running: it imports `modules` (matplotlib's, the plots')
    before its first call, while this process goes on. Idempotent; later `modules` are imported on first use."""
    global _drawer
    with _worker_lock:
        if _drawer is None:
            _drawer = _Drawer(modules)
            if _drawer.process is not None:
                atexit.register(_end, _drawer.process)


def _end(process: subprocess.Popen) -> None:
    """At this process's exit: every call was answered (a run waits for its figures), so the drawing process
    is idle or still importing; end it now rather than wait for it."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout):
        with contextlib.suppress(OSError):  # a pipe to a killed process: nothing left to flush
            stream.close()  # type: ignore[union-attr]


def stop_drawing() -> None:
    """Close the drawing process (it exits once its calls are answered); the next call starts a new one, or
    draws in the worker thread if `LR_JAX_DRAWING_PROCESS=0` is set by then."""
    global _drawer
    with _worker_lock:
        drawer, _drawer = _drawer, None
    if drawer is not None and drawer.process is not None:
        with drawer.lock:
            if drawer.process.stdin is not None:
                drawer.process.stdin.close()
            drawer.process.wait()
            _end(drawer.process)  # its pipes closed


def call_in_drawing_process(fn: Callable, *args, keep: bool = False, **kwargs) -> Any:
    """`fn(*args, **kwargs)` in the drawing process (started if need be), here and now; with `keep`, the
    result stays there and a `Kept` handle comes back. `fn` and the arguments must pickle (module-level
    functions, arrays, paths)."""
    start_drawing()
    assert _drawer is not None
    return _drawer.call(fn, args, kwargs, keep)


def in_drawing_process(fn: Callable, *args, keep: bool = False, **kwargs) -> Future:
    """`call_in_drawing_process` from the worker thread, after what was given to it before: returns at once."""
    return in_background(call_in_drawing_process, fn, *args, keep=keep, **kwargs)


def _run(kept: dict[int, Any], fn: Callable, args: tuple, kwargs: dict, keep: bool) -> Any:
    """One call in the drawing process, its `Kept` arguments replaced by their objects; with `keep`, the
    result kept in `kept` and its handle returned."""
    args = tuple(kept.pop(a.key) if isinstance(a, Kept) else a for a in args)
    result = fn(*args, **kwargs)
    if not keep:
        return result
    key = max(kept, default=0) + 1
    kept[key] = result
    return Kept(key)


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other side closed the pipe")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(data)


def serve() -> None:
    """The drawing process: import the modules named on the command line, then answer calls until this
    process's parent closes the pipe (it exited, or was killed). Ctrl-C reaches the parent, which decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the replies
    import importlib

    for name in sys.argv[1:]:
        importlib.import_module(name)
    kept: dict[int, Any] = {}
    while True:
        try:
            fn, args, kwargs, keep = _receive(requests)
        except EOFError:
            return
        try:
            reply = (True, _run(kept, fn, args, kwargs, keep))
        except BaseException as e:  # every error goes back to the caller, who raises it
            try:
                pickle.dumps(e)
            except Exception:  # an error that does not pickle goes back as its text
                e = RuntimeError(f"{type(e).__name__}: {e}")
            reply = (False, (e, traceback.format_exc()))
        _send(replies, reply)
