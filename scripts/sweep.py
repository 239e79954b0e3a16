"""Train a grid of learning rates x seeds in one jitted, vmapped call: `python scripts/sweep.py [key=value ...]`.

The grid is `sweep.learning_rates` x `sweep.seeds` (conf/sweep/grid.yaml), e.g.
`python scripts/sweep.py experiment=lr_compare` or `python scripts/sweep.py 'sweep.learning_rates=[0.01,0.005]'`.
"""

from __future__ import annotations

import hydra_fixes  # first (on sys.path: Python puts a script's folder there): SIGINT/SIGTERM handled from here

# isort: split
import command_line  # on sys.path: Python puts a script's folder there
import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Returns the best config's `optimized_metric` (NaN when every config diverged)."""
    from lr_jax import Config  # light; JAX is imported only once the config is valid
    from lr_jax.errors import exit_on_error

    with exit_on_error():  # `error: <message>` and exit code 2; a traceback only with HYDRA_FULL_ERROR=1
        config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
        from lr_jax.runfolder.plots import start_plotting

        start_plotting()  # matplotlib imported by the drawing process, on another core, while JAX is imported here
        from lr_jax.pipelines.sweep import sweep_and_evaluate
        from lr_jax.runtime import freeze_long_lived_objects

        freeze_long_lived_objects()  # the process ends with the run: spare the collector its imports
        result = sweep_and_evaluate(config, HydraConfig.get().runtime.output_dir)
    best, by = result["best"], result["selected_by"]["name"]
    return float("nan") if best is None else best[by]


if __name__ == "__main__":
    with hydra_fixes.SIGNALS:  # SIGINT / SIGTERM at any moment: one `error:` line, exit 130 / 143
        command_line.check_command_line()  # one line for what Hydra would answer with a traceback
        main()
