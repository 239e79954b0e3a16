"""Imported by every script before Hydra starts: what the scripts need around Hydra itself.

1. SIGINT and SIGTERM at any moment, Hydra's start-up included, end the command with one `error:` line and
   exit 130 / 143 (`lr_jax.errors.exit_on_signals`): each script runs `with hydra_fixes.SIGNALS: main()`.
2. The run folder is checked before Hydra writes into it (its `.hydra/` record, its log file): an empty
   `hydra.run.dir=` (which would put the run's files into the working directory), a folder that cannot be
   created or written (read-only, under /proc, a file) and a log file Hydra cannot open are each one
   `error:` line and exit 2, nothing run. Scripts that write no run folder (predict, export: no `.hydra/`
   record) are checked for the empty value only.
3. The ConfigStore singleton shared by Hydra's copies. Hydra 1.3 deep-copies its config repository, with the
   process-wide `ConfigStore` and every config stored in it (its own, and the launchers' and sweepers' when
   their plugins are installed), each time it lists a config group's options: about 100 times for `--help`
   (two listings, one per group), and once or twice per job of a run or multirun. The copies are never
   written to; Hydra's own fix (facebookresearch/hydra#2928, after 1.3.2) reads the singleton instead of
   storing it in the repository. Here a deep copy of the store is the store itself, so the copies are the
   shallow part only: `--help` prints the same text without copying every stored config each time
   (`scripts/benchmark.py --suite latency` times `--help`).
4. Hydra's own deprecation warning (`register_new_resolver`, newer omegaconf) silenced.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import warnings
from pathlib import Path

from lr_jax.errors import exit_on_signals  # light: no JAX

SIGNALS = exit_on_signals()  # installed now, before Hydra's imports

import hydra._internal.core_plugins.basic_launcher as basic_launcher  # noqa: E402
import hydra._internal.hydra as hydra_internal  # noqa: E402
import hydra.core.utils as hydra_utils  # noqa: E402
from hydra.core.config_store import ConfigStore  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

EXIT_CODE = 2  # lr_jax.errors.EXIT_CODE, without importing more than needed


def share_config_store() -> None:
    """Deep copies of the ConfigStore singleton return it (unless Hydra defines its own copy)."""
    if "__deepcopy__" not in vars(ConfigStore):
        ConfigStore.__deepcopy__ = lambda self, memo: self


def fail(message: str) -> None:
    """The scripts' way out: `error: <message>` on stderr, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_CODE)


def run_dir_problem(key: str, folder: str, writes: bool) -> str | None:
    """Why the job's output folder `folder` (the value of `key`) cannot be used, or None."""
    if not folder.strip():
        return (
            f"{key} is empty: the run's files would be written into the working directory. Pass a folder "
            f"({key}=outputs/my_run), or leave {key} out for a new dated folder; nothing was run."
        )
    if not writes:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return (
            f"{folder}: the run folder cannot be written ({e.strerror or e}). Fix its permissions or choose "
            f"another folder ({key}=<folder>); nothing was trained."
        )
    return None


def checked_run_job(run_job):
    """Hydra's `run_job`, after `run_dir_problem` found nothing wrong with the job's folder."""

    @functools.wraps(run_job)
    def run_checked(*args, **kwargs):
        config, key, subkey = kwargs["config"], kwargs["job_dir_key"], kwargs.get("job_subdir_key")
        folder = str(OmegaConf.select(config, key) or "")
        if subkey is not None and folder.strip():
            folder = os.path.join(folder, str(OmegaConf.select(config, subkey)))
        problem = run_dir_problem(key, folder, writes=config.hydra.output_subdir is not None)
        if problem:
            fail(problem)
        return run_job(*args, **kwargs)

    return run_checked


def checked_configure_log(configure_log):
    """Hydra's `configure_log`, its failure to open the log file one `error:` line."""

    @functools.wraps(configure_log)
    def configure_checked(*args, **kwargs):
        try:
            return configure_log(*args, **kwargs)
        except (OSError, ValueError) as e:
            cause = e.__cause__ if isinstance(e.__cause__, OSError) else e
            where = getattr(cause, "filename", None) or "the run folder"
            fail(
                f"{where}: Hydra cannot open the run's log file there ({getattr(cause, 'strerror', None) or cause}). "
                "Fix the run folder's permissions or choose another folder (hydra.run.dir=<folder>); nothing was run."
            )

    return configure_checked


def check_run_folders() -> None:
    """Every `run_job` Hydra calls (a run's, a multirun's jobs) checks its folder first (`checked_run_job`)."""
    if not hasattr(hydra_utils.run_job, "__wrapped__"):
        hydra_utils.run_job = checked_run_job(hydra_utils.run_job)
        hydra_utils.configure_log = checked_configure_log(hydra_utils.configure_log)
    hydra_internal.run_job = basic_launcher.run_job = hydra_utils.run_job


def quiet_hydra_internal_warnings() -> None:
    """Hydra 1.3.2 calls OmegaConf.register_new_resolver, which newer omegaconf releases deprecate with a
    UserWarning at every start: the user can do nothing about it, and it would stand before the run's own
    lines (and its one `error:` line) on stderr."""
    warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)


share_config_store()
quiet_hydra_internal_warnings()
check_run_folders()
