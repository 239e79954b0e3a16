"""`scripts/train.py` on the synthetic data set, in a subprocess: it trains and records the devices."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_cli_trains_on_synthetic_data_and_records_the_devices(tmp_path):
    import json
    import subprocess
    import sys

    import jax

    from tests.conftest import REPO_ROOT

    cmd = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "train.py"),
        "data=synthetic",
        "data.num_examples=3000",
        "data.num_features=64",
        "train.num_iterations=300",
        "optim.learning_rate=1.0",
        "train.print_cost=false",
        f"hydra.run.dir={tmp_path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9  # separable data, a few hundred steps
    # The subprocess picks its backend as this process did (same JAX, same environment): cpu, gpu or tpu.
    assert metrics["backend"] == jax.default_backend() and metrics["devices"] and metrics["process_count"] == 1
    assert f"backend {metrics['backend']}, {len(metrics['devices'])} device(s)" in out.stderr + out.stdout
