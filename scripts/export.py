"""Export a trained run: `python scripts/export.py run=<run folder> format=onnx|stablehlo`.

Writes `model.onnx` or `model.stablehlo` into the run folder, with `<file>.json` beside it naming the
input (uint8 images), the output (P(positive class)), the classes and the threshold; prints their paths.
"""

from __future__ import annotations

import hydra_fixes  # first (on sys.path: Python puts a script's folder there): SIGINT/SIGTERM handled from here

# isort: split
import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
def main(cfg: DictConfig) -> None:
    from lr_jax.errors import ConfigError, exit_on_error  # light; JAX is imported only to export

    with exit_on_error():  # `error: <message>` and exit code 2; a traceback only with HYDRA_FULL_ERROR=1
        if OmegaConf.is_missing(cfg, "run"):
            raise ConfigError("run not given. Pass the run folder: python scripts/export.py run=<run folder>.")
        from lr_jax.runtime import freeze_long_lived_objects
        from lr_jax.serving.export import export_run

        freeze_long_lived_objects()  # the process ends with the run: spare the collector its imports
        path = export_run(cfg.run, str(cfg.format))
        print(f"wrote {path} and {path.name}.json")


if __name__ == "__main__":
    with hydra_fixes.SIGNALS:  # SIGINT / SIGTERM at any moment: one `error:` line, exit 130 / 143
        main()
