"""Benchmarks (never timed tests): `python scripts/benchmark.py --suite course [--repeats N] [--results FILE]`.

Each suite lives in `scripts/bench/<suite>.py` and exposes `add_arguments(parser)` (optional) and
`run(args) -> None`, printing markdown tables of medians and ratios measured side by side in one process.
`--results FILE` also writes what the suite printed as a results file (lr_jax.runfolder.results: its tables,
the command, date, machine and versions); the docs' benchmark tables are rendered from such files in
docs/results/ by `python scripts/gen_docs.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import shlex
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
    parser.add_argument(
        "--results",
        metavar="FILE",
        help="also write the printed tables, command, date, machine and versions to FILE (JSON); "
        "docs/results/<suite>.json is what the docs render",
    )
    if wants_help:
        parser.parse_args(["--help"])
    known, _ = parser.parse_known_args(argv)
    suite = importlib.import_module(f"bench.{known.suite}")
    if hasattr(suite, "add_arguments"):
        suite.add_arguments(parser)
    args = parser.parse_args(argv)
    if not args.results:
        suite.run(args)
        return
    printed = Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        suite.run(args)
    write_results(args.results, known.suite, printed.getvalue(), argv)


class Tee(io.StringIO):
    """Keeps what is printed and passes it on as it comes (a long suite shows its progress)."""

    def __init__(self, out) -> None:
        super().__init__()
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text)
        return super().write(text)

    def flush(self) -> None:
        self.out.flush()


def write_results(path: str, suite: str, printed: str, argv: list[str]) -> None:
    """The suite's printed tables and lines as a results file, with how they were made."""
    from lr_jax.runfolder import results

    tables, text = results.parse_output(printed)
    command = shlex.join(["lr-jax", "benchmark", *argv])
    results.write(path, results.results(f"benchmark {suite}", tables, text=text, **results.provenance(command=command)))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
