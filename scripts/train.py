"""Train the course's cat classifier: `python scripts/train.py [key=value ...]` (Hydra overrides)."""

from __future__ import annotations

import os
import sys
import time

PROCESS_STARTED = time.perf_counter()  # before the imports: metrics.json's import_time_s counts from here
PROCESS_ID = os.getpid()  # the process that ran the script (a launcher's workers are others)

import hydra_fixes  # noqa: E402  first (on sys.path: Python puts a script's folder there): SIGINT/SIGTERM handled

# isort: split
import command_line  # noqa: E402  (on sys.path: Python puts a script's folder there)
import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Returns the run's `optimized_metric` (what a Hydra sweeper such as Optuna optimizes)."""
    # import_time_s counts from the script's start in the process that ran it, from here in a launcher's worker
    # process (which received this function, PROCESS_STARTED and PROCESS_ID from the parent), and not at all
    # for a multirun's later jobs in a process that already imported lr_jax's pipeline.
    entered = time.perf_counter()
    warm = "lr_jax.pipelines.experiment" in sys.modules
    process_started = None if warm else (PROCESS_STARTED if os.getpid() == PROCESS_ID else entered)
    from lr_jax import Config  # light; JAX is imported only once the config is valid
    from lr_jax.errors import DivergenceError, exit_on_error

    hydra_config = HydraConfig.get()
    with exit_on_error():  # `error: <message>` and exit code 2; a traceback only with HYDRA_FULL_ERROR=1
        config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
        from lr_jax.runfolder.plots import start_plotting

        start_plotting()  # matplotlib imported by the drawing process, on another core, while JAX is imported here
        from lr_jax.pipelines.experiment import record_divergence, train_and_evaluate
        from lr_jax.runtime import freeze_long_lived_objects

        freeze_long_lived_objects()  # the process ends with the run: spare the collector its imports
        # In a multirun every job runs; train.strict fails the sweep at its end (`SummarizeCallback`).
        strict = False if hydra_config.mode == RunMode.MULTIRUN else None
        try:
            metrics = train_and_evaluate(
                config, hydra_config.runtime.output_dir, process_started=process_started, strict=strict
            )
        except DivergenceError as e:
            if hydra_config.mode != RunMode.MULTIRUN:
                raise
            # One job of a sweep or search diverged: its result, recorded; the worst value of its metric lets
            # Optuna rank the trial last and go on (a plain multirun ignores the value).
            return record_divergence(config, hydra_config.runtime.output_dir, e)
    return metrics["optimized_metric"]["value"]


if __name__ == "__main__":
    with hydra_fixes.SIGNALS:  # SIGINT / SIGTERM at any moment: one `error:` line, exit 130 / 143
        command_line.check_command_line()  # one line for what Hydra would answer with a traceback
        main()
