"""The lecture's claims measured: `python scripts/study.py experiment=activation_study` or `experiment=scale_study`.

Writes `<kind>_study.csv`, `<kind>_study.png` and `<kind>_study.json` (the summary table with the command, date,
machine and versions: copy it to docs/results/ and run scripts/gen_docs.py to update the docs) into Hydra's run
folder; `study.quick=true` is the CI variant.
"""

from __future__ import annotations

import hydra_fixes  # first (on sys.path: Python puts a script's folder there): SIGINT/SIGTERM handled from here

# isort: split
import shlex
import sys

import command_line  # on sys.path: Python puts a script's folder there
import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from lr_jax import Config  # light; JAX is imported only once the config is valid
    from lr_jax.errors import ConfigError, exit_on_error

    with exit_on_error():
        container = OmegaConf.to_container(cfg, resolve=True)
        if "study" not in container:
            raise ConfigError("no study: section. Pass experiment=activation_study or experiment=scale_study.")
        from lr_jax.pipelines.studies import StudyConfig, run_study
        from lr_jax.runtime import freeze_long_lived_objects

        freeze_long_lived_objects()  # the process ends with the run: spare the collector its imports
        study = StudyConfig.from_dict(container.pop("study"))
        config = Config.from_dict(container)
        command = shlex.join(["lr-jax", "study", *sys.argv[1:]])
        for row in run_study(config, study, HydraConfig.get().runtime.output_dir, command=command):
            print(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    with hydra_fixes.SIGNALS:  # SIGINT / SIGTERM at any moment: one `error:` line, exit 130 / 143
        command_line.check_command_line()  # one line for what Hydra would answer with a traceback
        main()
