"""model=mlp through the real CLI: a Hydra multirun over train.seed and the vmapped sweep over the same
seeds train the same networks, each seed from the course's init drawn from RandomState(that seed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lr_jax import artifacts

SEEDS = (0, 1)
COMMON = [  # a tiny MLP on 4x4 RGB synthetic pixels, full-batch SGD, float64 (see the tolerance below)
    "data=synthetic",
    "data.num_examples=64",
    "data.num_test=16",
    "data.num_features=48",
    "++data.image_size=4",
    "model=mlp",
    "model.hidden=[5,3]",
    "model.init=course",
    "optim.learning_rate=0.5",
    "train.num_iterations=20",
    "train.log_every=1",
    "train.checkpoint_every=0",
    "train.print_cost=false",
    "train.progress=false",
    "train.precision=float64",
]


@pytest.mark.slow  # two jobs and a sweep, each compiled
def test_multirun_and_vmapped_sweep_of_mlps_agree_seed_by_seed(run_cli, tmp_path):
    """float64: the sweep's batched products sum in another order than a job's (~1e-16 per step); 20 steps
    keep the gap far below 1e-10. Before each seed had its own course init, the sweep's two members started
    from one network (the same first cost)."""
    seeds = ",".join(map(str, SEEDS))
    code, _, err = run_cli("train", "-m", *COMMON, f"train.seed={seeds}", f"hydra.sweep.dir={tmp_path / 'multirun'}")
    assert code == 0, err
    code, _, err = run_cli(
        "sweep", *COMMON, "sweep.learning_rates=[0.5]", f"sweep.seeds=[{seeds}]", f"hydra.run.dir={tmp_path / 'sweep'}"
    )
    assert code == 0, err
    first_costs = []
    for i, seed in enumerate(SEEDS):
        job, member = (
            json.loads((tmp_path / way / str(i) / "metrics.json").read_text()) for way in ("multirun", "sweep")
        )
        assert job["config"]["train"]["seed"] == member["config"]["train"]["seed"] == seed
        np.testing.assert_allclose(member["costs"], job["costs"], rtol=0, atol=1e-10, err_msg=f"seed {seed}")
        got, want = (artifacts.load_params(tmp_path / way / str(i) / "params.npz") for way in ("sweep", "multirun"))
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10, err_msg=f"seed {seed}: {name}")
        first_costs.append(job["costs"][0])
    assert first_costs[0] != first_costs[1]  # each seed its own initial network
