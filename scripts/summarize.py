"""Summarize a finished sweep: `python scripts/summarize.py SWEEP_DIR` (e.g. multirun/2026-11-28/07-00-00).

Writes SWEEP_DIR/summary.csv, summary.json and learning_curves.png (one curve per run) and prints the
table. `SummarizeCallback` does the same at the end of every `scripts/train.py -m` sweep
(hydra.callbacks in conf/config.yaml); `scripts/sweep.py` writes the same files itself.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lr_jax import LrJaxError, summary

log = logging.getLogger(__name__)


class SummarizeCallback(Callback):
    """Hydra callback: summarize the sweep folder when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        try:
            log.info("%s", summary.report(summary.summarize(config.hydra.sweep.dir)))
        except LrJaxError as e:  # e.g. every job failed: say so, and leave the jobs' own errors visible
            log.warning("no sweep summary: %s", e)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("sweep_dir", help="a multirun folder or a scripts/sweep.py run folder")
    args = parser.parse_args(argv)
    try:
        print(summary.report(summary.summarize(args.sweep_dir)))
    except LrJaxError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
