"""The process a run lives in: numeric precision, the compilation cache, other processes, the devices.

Everything here is process-wide JAX state, set once by an entry point before the run's first array or
compilation exists; the stages below it only read it.
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib.metadata as metadata
import logging
import os
import platform
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import jax
import jax.numpy as jnp

from lr_jax.config import ParallelConfig
from lr_jax.errors import ConfigError

log = logging.getLogger(__name__)


@functools.cache
def freeze_long_lived_objects() -> None:
    """Leave the objects alive now (the imported modules: JAX, optax, Hydra, ...) out of the garbage
    collector's passes for the rest of the process, and every object out of the collection Python makes as
    it exits (`gc.freeze`).

    For the scripts, whose process ends with their run: the imports live until then, so no collection
    could free them, yet each full collection (tracing makes many) and the one at exit would scan them all
    again. The library never calls it: a notebook or a test process
    lives on after a run, and cyclic garbage frozen there would stay.
    """
    gc.freeze()
    freeze_at_exit()


@functools.cache
def freeze_at_exit() -> None:
    """Leave every object alive as the process exits out of the collections Python makes while it shuts down
    (`gc.freeze` at exit): for a process that imported JAX, scikit-learn and their stack, those full passes
    over the imported modules take longer than a small fit, for no gain (the process is ending; a `__del__`
    of an object in a reference cycle, which Python does not promise to run at exit, is skipped)."""
    atexit.register(gc.freeze)


def precision_scope(precision: str):
    """A context in which JAX's 64-bit mode is on exactly when `precision == "float64"`."""
    enable_x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64  # type: ignore[attr-defined]  # JAX < 0.6
    return enable_x64(precision == "float64")


def run_dtype(precision: str):
    """The floating dtype of parameters, costs and features for `train.precision`."""
    return jnp.float64 if precision == "float64" else jnp.float32


CACHE_AUTO = "auto"  # train.compilation_cache_dir's default: the user cache, see `compilation_cache_path`
CACHE_ENV = "LR_JAX_COMPILATION_CACHE"  # where "auto" points instead (the test suite sets it to a tmp folder)


def compilation_cache_path(setting: str | None) -> Path | None:
    """The folder for `train.compilation_cache_dir`: None (off), "auto" or a path.

    "auto" is $LR_JAX_COMPILATION_CACHE if set, else `$XDG_CACHE_HOME/lr_jax/xla` (`~/.cache/lr_jax/xla`).
    """
    if setting is None:
        return None
    if setting != CACHE_AUTO:
        return Path(setting).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "lr_jax" / "xla"


def use_compilation_cache(setting: str | None) -> None:
    """Store and reuse compiled programs in `compilation_cache_path(setting)` (None leaves JAX's setting).

    Process-wide; it takes effect only before the process's first compilation (as in the CLI), so that the
    next process with the same shapes loads the program instead of compiling it. A new folder is created
    0700: JAX runs what it finds there. A folder that cannot be created or written is warned about once
    and left out: the run compiles as without a cache.
    """
    path = compilation_cache_path(setting)
    if path is None or not _usable_cache(path, setting):
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # cache even fast compiles
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_UNUSABLE_CACHES: set[Path] = set()  # warned about once per process


def _usable_cache(path: Path, setting: str | None) -> bool:
    """Whether `path` is (made) a folder this process can write: a probe file created and removed."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
        return _trusted_cache(path, setting)
    except OSError as e:
        if path not in _UNUSABLE_CACHES:
            _UNUSABLE_CACHES.add(path)
            log.warning(
                "train.compilation_cache_dir=%s: %s cannot be used (%s); running without the compilation "
                "cache. Point train.compilation_cache_dir at a writable folder, or set it to null.",
                setting,
                path,
                e.strerror or e,
            )
        return False


def _trusted_cache(path: Path, setting: str | None) -> bool:
    """Whether only this user can put programs into `path`: JAX runs what it finds there, so a folder that
    another user owns or every user may write is warned about and left out (the run compiles as without a
    cache, with the same results; refusing the run would stop it over what only saves time)."""
    st = path.stat()
    if st.st_mode & 0o002:
        why, fix = "is writable by every user", f"`chmod o-w {path}`"
    elif hasattr(os, "getuid") and st.st_uid != os.getuid():
        why, fix = f"belongs to another user (uid {st.st_uid})", "point it at a folder of your own"
    else:
        return True
    if path not in _UNUSABLE_CACHES:
        _UNUSABLE_CACHES.add(path)
        log.warning(
            "train.compilation_cache_dir=%s: %s %s, and JAX runs the compiled programs it finds there; running "
            "without the compilation cache. %s, or set train.compilation_cache_dir to a folder only you can write.",
            setting,
            path,
            why,
            fix[0].upper() + fix[1:],
        )
    return False


_COMPILE_EVENTS = (  # JAX's duration events of a compilation: trace, lower, compile (or load from the cache)
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_meters = threading.local()


def _on_duration(event: str, duration_secs: float, **_: str | int) -> None:
    for meter in getattr(_meters, "active", ()):
        if event in _COMPILE_EVENTS:
            meter.seconds += duration_secs
            meter.traces += event == _COMPILE_EVENTS[0]
            meter.compiles += event == _COMPILE_EVENTS[-1]


class CompileMeter:
    """Seconds JAX spent compiling (tracing, lowering, compiling or loading) in this thread inside `with`, and
    how many programs it traced and compiled (or loaded from the persistent cache)."""

    _listening = False

    def __init__(self):
        self.seconds, self.traces, self.compiles = 0.0, 0, 0

    def __enter__(self) -> CompileMeter:
        if not CompileMeter._listening:  # one listener for the process; meters are per thread
            jax.monitoring.register_event_duration_secs_listener(_on_duration)
            CompileMeter._listening = True
        _meters.active = (*getattr(_meters, "active", ()), self)
        return self

    def __exit__(self, *exc) -> None:
        _meters.active = tuple(m for m in _meters.active if m is not self)


def initialize_distributed(cfg: ParallelConfig) -> None:
    """Join the processes of a multi-process run (before any JAX array exists); no-op unless distributed."""
    if not cfg.distributed or getattr(jax.distributed, "is_initialized", lambda: False)():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes
    try:
        jax.distributed.initialize(
            coordinator_address=cfg.coordinator_address,
            num_processes=cfg.num_processes or None,
            process_id=None if cfg.process_id < 0 else cfg.process_id,
        )
    except (ValueError, RuntimeError) as e:
        raise ConfigError(
            f"parallel.distributed=true: jax.distributed.initialize failed ({e}). Set "
            "parallel.coordinator_address=HOST:PORT, parallel.num_processes and parallel.process_id, "
            "or run under SLURM (srun / the submitit launcher), where they are detected."
        ) from e


def describe_devices() -> dict:
    """Backend, process and devices of this run, for the log and metrics.json."""
    return {
        "backend": jax.default_backend(),
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "devices": [str(d) for d in jax.devices()],
        "local_device_count": jax.local_device_count(),
    }


def is_writer() -> bool:
    """Whether this process writes the run's files (process 0 of a multi-process run; always alone)."""
    return jax.process_index() == 0


def environment() -> dict:
    """What reproduces a run beyond its config: the code's git commit and dirty flag (None outside git),
    the command line, Python, the platform and the versions of the libraries the numbers depend on."""
    versions: dict[str, str | None] = {}
    for name in ("lr_jax", "jax", "jaxlib", "optax", "numpy", "hydra-core"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "git": _git_state(),
        "argv": list(sys.argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


@functools.cache  # once per process: a sweep's points share it
def _git_state() -> dict | None:
    """{"commit", "dirty"} of the git work tree holding lr_jax's source; None outside git (or without git)."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=source,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}
