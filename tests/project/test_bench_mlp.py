"""scripts/bench/mlp.py (`lr-jax benchmark --suite mlp`) without timing: it refuses loops that disagree, and it
runs end to end at tiny step counts."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from lr_jax.runfolder import results
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))  # `benchmark` and its suites (`bench.mlp`)
import benchmark  # noqa: I001 (after the path it is found on)
from bench import mlp

COSTS = np.linspace(0.77, 0.09, 300)


def costs_with(gap64: float = 0.0, gap32: float = 0.0, at32: int = 0, length64: int = 300) -> dict:
    """Both parametrizations' costs, the float64 span's off by `gap64` (relative), the float32 span's by `gap32`
    at iteration `at32`, the float64 weights' run `length64` iterations long."""
    span32 = COSTS.astype(np.float32).copy()
    span32[at32] += gap32
    return {
        ("float64", "span"): COSTS * (1 + gap64),
        ("float64", "weights"): COSTS[:length64],
        ("float32", "span"): span32,
        ("float32", "weights"): COSTS.astype(np.float32),
    }


@pytest.mark.parametrize(
    "costs, agree",
    [
        (costs_with(), True),
        (costs_with(gap64=1e-12), True),
        (costs_with(gap64=1e-8), False),  # the float64 loops differ beyond rounding
        (costs_with(length64=299), False),  # one stopped early
        (costs_with(gap32=1e-4, at32=150), False),  # float32, before the dynamics amplify rounding
        (costs_with(gap32=1e-1, at32=250), True),  # float32, after: chaotic, not compared
        (costs_with(gap64=np.nan), False),
    ],
)
def test_the_suite_times_only_parametrizations_that_agree(costs, agree, capsys):
    if agree:
        mlp.check_same_costs(costs)
        assert capsys.readouterr().out.startswith("checked: span and weights agree")
    else:
        with pytest.raises(SystemExit, match="the span and the weight-space loops disagree"):
            mlp.check_same_costs(costs)


@pytest.mark.slow  # compiles the 12288-wide network's loops: both parametrizations, two precisions
def test_the_suite_runs_at_tiny_step_counts_and_writes_its_tables(data_dir, tmp_path, capsys):
    out = tmp_path / "mlp.json"
    # 6 iterations: the fewest at which auto picks the span (`span.choose`); calls of 1 compile one program less
    args = ["--suite", "mlp", "--repeats", "1", "--steps", "6", "--numpy-steps", "3", "--chunk", "1"]
    benchmark.main([*args, "--sweep-steps", "0", "--data-dir", str(data_dir), "--results", str(out)])
    printed = capsys.readouterr().out
    assert "checked: span and weights agree" in printed and f"{mlp.FIGURE} (span): " in printed
    loops, parts = results.read(out)["tables"]  # --sweep-steps 0: no sweep table
    assert [row[0] for row in loops["rows"][:4]] == [
        "lr_jax, span (auto's choice), K = X Xᵀ included, float64",
        "lr_jax, weights, float64",
        "lr_jax, span (auto's choice), K = X Xᵀ included, float32",
        "lr_jax, weights, float32",
    ]
    assert len(loops["rows"]) == 8 and loops["title"].endswith("6 iterations (NumPy: 3 iterations run, times x 2)")
    assert len(parts["rows"]) == 5 and parts["title"] == "Where the float32 span loop's 6 iterations go"
