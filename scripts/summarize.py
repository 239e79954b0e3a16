"""Summarize a finished sweep: `python scripts/summarize.py SWEEP_DIR` (e.g. multirun/2026-11-28/07-00-00).

Writes SWEEP_DIR/summary.csv, summary.json and learning_curves.png (one curve per run) and prints the
table. A `scripts/train.py -m` sweep does the same when it ends (`lr_jax.runfolder.summary.SummarizeCallback`,
hydra.callbacks in conf/config.yaml), and `scripts/sweep.py` writes the same files itself.
"""

from __future__ import annotations

import argparse
import logging
import sys

from lr_jax import LrJaxError  # neither imports JAX
from lr_jax.errors import no_room_message, report_no_room_as_errors
from lr_jax.runfolder import summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("sweep_dir", help="a multirun folder or a scripts/sweep.py run folder")
    args = parser.parse_args(argv)
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)  # e.g. a run with damaged files
    report_no_room_as_errors()
    try:
        print(summary.report(summary.summarize(args.sweep_dir)))
    except LrJaxError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # a full disk or `ulimit -f` while writing the summary files (each written atomically)
        message = no_room_message(e, f"{args.sweep_dir}: the summary")
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
