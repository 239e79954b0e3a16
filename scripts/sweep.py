"""Train a grid of learning rates x seeds in one jitted, vmapped call: `python scripts/sweep.py [key=value ...]`.

The grid is `sweep.learning_rates` x `sweep.seeds` (conf/sweep/grid.yaml), e.g.
`python scripts/sweep.py experiment=lr_compare` or `python scripts/sweep.py 'sweep.learning_rates=[0.01,0.005]'`.
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from lr_jax import Config, LrJaxError
from lr_jax.sweep import sweep_and_evaluate


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Returns the best config's test accuracy."""
    try:
        config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
        result = sweep_and_evaluate(config, HydraConfig.get().runtime.output_dir)
    except LrJaxError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    return result["best"]["test_accuracy"]


if __name__ == "__main__":
    main()
