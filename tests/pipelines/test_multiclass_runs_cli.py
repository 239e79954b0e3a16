"""A K-class multirun through the real CLI: `scripts/train.py -m data=digits` over two learning rates."""

from __future__ import annotations

import pytest

from lr_jax.runfolder import summary


@pytest.mark.slow  # Hydra's multirun of two digits runs
def test_cli_multirun_on_digits_reaches_90_percent(run_cli, tmp_path):
    result = run_cli(
        "train",
        "-m",
        "data=digits",
        "optim.learning_rate=0.5,1.0",
        "train.num_iterations=200",
        "train.progress=false",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert result.code == 0, result.err
    runs = summary.read_runs(tmp_path)
    assert len(runs) == 2
    for name, metrics in runs.items():
        assert metrics["test_accuracy"] > 0.9, (name, metrics["test_accuracy"])
        assert list(metrics["test_per_class"]) == [str(d) for d in range(10)]
        assert (tmp_path / name / "confusion_matrix.png").is_file()
