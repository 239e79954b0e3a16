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


def suite_flags() -> str:
    """Each suite's own flags, as its parser prints them (imports every suite, JAX included: --help only)."""
    parts = []
    for name in SUITES:
        suite = importlib.import_module(f"bench.{name}")
        sub = argparse.ArgumentParser(prog=f"--suite {name}", add_help=False)
        if hasattr(suite, "add_arguments"):
            suite.add_arguments(sub)
        formatter = sub._get_formatter()
        formatter.add_arguments(sub._actions)
        parts.append(f"--suite {name}:\n{formatter.format_help().rstrip() or '  (no flags of its own)'}")
    return "\n\n".join(parts)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    wants_help = "-h" in argv or "--help" in argv
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
        epilog=suite_flags() if wants_help else None,
    )
    parser.add_argument("--suite", choices=SUITES, default="course", help="which suite to run")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per measurement")
    if wants_help:
        parser.parse_args(["--help"])
    known, _ = parser.parse_known_args(argv)
    suite = importlib.import_module(f"bench.{known.suite}")
    if hasattr(suite, "add_arguments"):
        suite.add_arguments(parser)
    suite.run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
