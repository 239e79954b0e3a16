"""Divergence is a result, not damage: a diverged sweep member or search trial is recorded and marked, and the
rest of the sweep or search goes on (and resumes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.tiny_run import tiny_overrides

# learning_rate·l2 = 5000 >= 2 for the second learning rate: that member diverges; the first never moves much
GRID = ("model.l2=1e6", "sweep.learning_rates=[1e-9,0.005]")


def _member(sweep, i):
    """(metrics, params); a diverged member's non-finite parameters are not written: ({...}, {})."""
    metrics = json.loads((sweep / str(i) / "metrics.json").read_text())
    if not (sweep / str(i) / "params.npz").exists():
        return metrics, {}
    with np.load(sweep / str(i) / "params.npz") as npz:
        return metrics, {k: npz[k] for k in npz.files}


@pytest.mark.slow
def test_a_sweep_with_a_diverged_member_resumes_and_ends_as_an_uninterrupted_one(tiny_data, tmp_path, run_cli):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, whole, *GRID))
    assert code == 0, err
    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, resumed, *GRID, "train.num_iterations=15"))
    assert code == 0, err
    saved = sorted((resumed / "checkpoints").iterdir())[-1]
    with np.load(saved) as npz:
        assert not np.isfinite(npz["costs"][1]).all()  # the checkpoint resumed from holds the diverged member

    code, _, err = run_cli("sweep", *tiny_overrides(tiny_data, resumed, *GRID, "train.resume=true"))

    assert code == 0, err
    for i in (0, 1):
        (m_whole, p_whole), (m_resumed, p_resumed) = _member(whole, i), _member(resumed, i)
        assert m_whole["diverged"] is m_resumed["diverged"] is (i == 1)
        assert p_whole.keys() == p_resumed.keys() and bool(p_whole) is (i == 0)
        for k in p_whole:  # bit-identical: the same program on the same state
            np.testing.assert_array_equal(p_whole[k], p_resumed[k])
        assert m_whole["costs"] == m_resumed["costs"]
    summary = json.loads((resumed / "summary.json").read_text())
    assert summary["best"]["run"] == "0"


def test_a_grid_checkpoint_may_hold_nan_only_when_its_checksum_matches(tmp_path):
    """A single run's checkpoint with NaN is refused; a grid's is accepted when intact, refused when altered."""
    from lr_jax.runfolder import checkpoint

    arrays = {"costs": np.array([[0.5, 0.4], [np.nan, np.nan]]), "config": np.asarray("{}")}
    path = tmp_path / "step_00000002.npz"
    np.savez(path, checksum=checkpoint.content_checksum(arrays), **arrays)
    with pytest.raises(checkpoint.CorruptCheckpoint, match=r"\['costs'\] hold NaN or infinite values"):
        checkpoint.read(path)
    assert np.isnan(checkpoint.read(path, diverged_ok=True)["costs"][1]).all()
    np.savez(path, checksum=np.zeros(32, np.uint8), **arrays)  # altered: no longer what the program wrote
    with pytest.raises(checkpoint.CorruptCheckpoint, match="do not match its checksum"):
        checkpoint.read(path, diverged_ok=True)


@pytest.mark.slow
def test_one_diverged_optuna_trial_does_not_end_the_study(tiny_data, tmp_path, run_cli):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install -e '.[optuna]'")
    import yaml

    sweep = tmp_path / "search"
    overrides = [o for o in tiny_overrides(tiny_data, sweep) if not o.startswith("hydra.run.dir")]
    code, out, err = run_cli(
        "train",
        "-m",
        "hparams_search=optuna",
        "optim.learning_rate=choice(1e-9,0.005)",  # TPE's seed 0 draws 0.005 (diverges), 1e-9, 0.005
        "model.l2=1e6",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweep.dir={sweep}",
        "data.val_fraction=0.34",
        "train.checkpoint_every=0",
        *overrides,
    )

    assert code == 0, err
    diverged = sorted(p.parent.name for p in sweep.glob("*/diverged.json"))
    finished = sorted(p.parent.name for p in sweep.glob("*/metrics.json"))
    assert diverged and finished and sorted(diverged + finished) == ["0", "1", "2"]
    record = json.loads((sweep / diverged[0] / "diverged.json").read_text())
    assert record["diverged"] is True and "the L2 penalty alone diverges" in record["error"]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_params"]["optim.learning_rate"] == 1e-9 and math.isfinite(results["best_value"])
