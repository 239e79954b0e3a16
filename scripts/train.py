"""Train the course's cat classifier: `python scripts/train.py [key=value ...]` (Hydra overrides)."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lr_jax import Config, LrJaxError, train_and_evaluate


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Returns the test accuracy (what a Hydra sweeper would optimize)."""
    try:
        config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
        metrics = train_and_evaluate(config, HydraConfig.get().runtime.output_dir)
    except LrJaxError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    return metrics["test_accuracy"]


if __name__ == "__main__":
    main()
