"""Imported by every script before Hydra starts: the ConfigStore singleton shared by Hydra's copies.

Hydra 1.3 deep-copies its config repository, with the process-wide `ConfigStore` and every config stored
in it (its own, and the launchers' and sweepers' when their plugins are installed), each time it lists a
config group's options: about 100 times for `--help` (two listings, one per group), and once or twice per
job of a run or multirun. The copies are never written to; Hydra's own fix (facebookresearch/hydra#2928,
after 1.3.2) reads the singleton instead of storing it in the repository. Here a deep copy of the store is
the store itself, so the copies are the shallow part only: `--help` prints the same text without copying
every stored config each time (`scripts/benchmark.py --suite latency` times `--help`).
"""

from __future__ import annotations

import warnings

from hydra.core.config_store import ConfigStore


def share_config_store() -> None:
    """Deep copies of the ConfigStore singleton return it (unless Hydra defines its own copy)."""
    if "__deepcopy__" not in vars(ConfigStore):
        ConfigStore.__deepcopy__ = lambda self, memo: self


def quiet_hydra_internal_warnings() -> None:
    """Hydra 1.3.2 calls OmegaConf.register_new_resolver, which newer omegaconf releases deprecate with a
    UserWarning at every start: the user can do nothing about it, and it would stand before the run's own
    lines (and its one `error:` line) on stderr."""
    warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)


share_config_store()
quiet_hydra_internal_warnings()
