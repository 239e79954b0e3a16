"""Import cost of the dependencies, from `python -X importtime`: for `--suite latency` and test_import_cost.py.

`-X importtime` prints one line per module imported, with its own (self) and cumulative microseconds, nested
by indentation. Shares within one process (which module takes how much of an import) hold on a loaded
machine far better than seconds do; the suite prints seconds too, for a quiet machine.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys

# The core dependencies (pyproject's `dependencies`, with ml_dtypes and scipy that `import jax` pulls in), and
# what the estimator and the CLI import.
MODULES = (
    "numpy",
    "ml_dtypes",
    "scipy",
    "jax",
    "optax",
    "hydra",
    "h5py",
    "pooch",
    "matplotlib.pyplot",
    "PIL.Image",
    "tqdm",
    "lr_jax",
    "lr_jax.train",
    "sklearn.linear_model",
    "lr_jax.sklearn.LogisticRegression",
    "lr_jax.sklearn.LogisticRegressionCV",
)
# Names read from a package that imports them on first use: `import lr_jax.sklearn` alone loads neither estimator.
STATEMENTS = {
    "lr_jax.sklearn.LogisticRegression": "from lr_jax.sklearn import LogisticRegression",
    "lr_jax.sklearn.LogisticRegressionCV": "from lr_jax.sklearn import LogisticRegressionCV",
}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) of each `-X importtime` line, in the order printed."""
    rows = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            rows.append((match[4], int(match[1]), int(match[2]), (len(match[3]) - 1) // 2))
    return rows


def total_us(rows) -> int:
    """The whole import: the cumulative times of the top-level imports."""
    return sum(cumulative for _, _, cumulative, depth in rows if depth == 0)


def self_shares(rows) -> dict[str, float]:
    """Each module's own time as a share of the whole import."""
    total = total_us(rows) or 1
    return {module: own / total for module, own, _, _ in rows}


def importtime(code: str, python: str = sys.executable) -> list[tuple[str, int, int, int]]:
    """`parse` of a fresh interpreter running `code` under `-X importtime`."""
    run = subprocess.run([python, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    return parse(run.stderr)


def median_shares(rows_per_run) -> dict[str, float]:
    """Each module's median self share over runs of fresh processes (a module dominates in most of them, or
    not at all: a process descheduled during one import inflates that one import in that one run)."""
    shares = [self_shares(rows) for rows in rows_per_run]
    modules = set().union(*shares)
    return {m: statistics.median(s.get(m, 0.0) for s in shares) for m in modules}


def report(runs: int = 3) -> None:
    """A table: each module's median whole-import ms and the module taking the largest share of it."""
    print(
        "\nimport cost, fresh processes (`python -X importtime -c 'import M'`; for lr_jax.sklearn.Name, "
        f"`from lr_jax.sklearn import Name`), medians of {runs}:"
    )
    print("| module | import, ms | largest own share |\n| --- | ---: | --- |")
    for module in MODULES:
        rows = [importtime(STATEMENTS.get(module, f"import {module}")) for _ in range(runs)]
        ms = statistics.median(total_us(r) for r in rows) / 1e3
        shares = median_shares(rows)
        top = max(shares, key=shares.get)
        print(f"| {module} | {ms:.0f} | {top} {shares[top]:.0%} |")
