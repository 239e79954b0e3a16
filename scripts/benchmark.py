"""Benchmarks (never timed tests): `python scripts/benchmark.py --suite course [--repeats N]`.

Each suite lives in `scripts/bench/<suite>.py` and exposes `add_arguments(parser)` (optional) and
`run(args) -> None`, printing a table of medians and ratios measured side by side in one process.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # makes `bench` importable from anywhere

SUITES = ("course", "sweep", "solvers", "scale", "latency", "estimator", "mlp", "chunks")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--suite", choices=SUITES, default="course", help="which suite to run")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per measurement")
    known, _ = parser.parse_known_args(argv)
    suite = importlib.import_module(f"bench.{known.suite}")
    if hasattr(suite, "add_arguments"):
        suite.add_arguments(parser)
    suite.run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
