"""Every file lr_jax reads may be corrupt: checkpoints (checksummed: an older good one is used), params.npz
and config.json (one `error:` line naming the file, exit 2, nothing changed)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from lr_jax.runfolder import checkpoint
from lr_jax.runfolder import transaction as rundir
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides


def flip_byte(path, offset_from_end=200):
    raw = bytearray(path.read_bytes())
    raw[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(raw))


def rewrite(path, **changes):
    """The checkpoint with some arrays replaced and its old checksum kept: a valid zip, wrong contents."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def costs_plus_one(path):
    with np.load(path) as npz:
        costs = npz["costs"].copy()
    costs[0] += 1
    rewrite(path, costs=costs)


def nan_params(path):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    w = arrays["state.params['w']"].copy()
    w[0] = np.nan
    arrays["state.params['w']"] = w
    arrays.pop("checksum")
    with open(path, "wb") as f:  # a consistent checksum: only the finiteness check can refuse it
        np.savez(f, checksum=checkpoint.content_checksum(arrays), **arrays)


DAMAGE = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "bit-flipped": flip_byte,
    "contents-altered": costs_plus_one,
    "nan": nan_params,
}


# The fast lane keeps a short file, a checksum mismatch and a NaN; an empty file and a flipped bit are slow.
@pytest.mark.parametrize(
    "damage", [pytest.param(d, marks=pytest.mark.slow) if d in ("empty", "bit-flipped") else d for d in DAMAGE]
)
def test_damaged_newest_checkpoint_resumes_from_the_older(damage, finished_run, tiny_data, run_cli, caplog):
    newest = finished_run / "checkpoints" / "step_00000020.npz"
    DAMAGE[damage](newest)
    caplog.set_level(logging.WARNING)

    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert code == 0, err
    assert f"{newest}: " in caplog.text and "trying the checkpoint before it" in caplog.text
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["n_iter"] == 25 and metrics["files_sha256"] == rundir.file_hashes(finished_run)


@pytest.mark.parametrize("damage", ["truncated", "contents-altered", "nan"])
def test_no_good_checkpoint_is_one_error_naming_the_files(damage, finished_run, tiny_data, run_cli, snapshot):
    for p in checkpoint.list_checkpoints(finished_run / "checkpoints"):
        DAMAGE[damage](p)
    before = snapshot(finished_run)

    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err)
    folder = finished_run / "checkpoints"
    assert f"error: no usable checkpoint in {folder}: {folder}/step_00000020.npz" in err
    assert f"{folder}/step_00000015.npz" in err and "Delete the damaged files" in err
    assert snapshot(finished_run) == before


def test_divergence_never_names_a_nan_checkpoint_as_finite(tmp_path):
    from lr_jax.pipelines import hooks

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "step_00000005.npz").write_bytes(b"not a checkpoint")
    guard = hooks.DivergenceGuard(folder)
    state = type("S", (), {"params": {"w": np.array([np.nan])}, "step": np.array(5)})()
    with pytest.raises(hooks.DivergenceError, match="no finite checkpoint is kept"):
        guard(state, np.array([np.nan]))


def params_with_nan(p):
    with np.load(p) as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    arrays["w"][0] = np.nan
    np.savez(p, **arrays)


def params_of_another_run(p):
    with np.load(p) as npz:
        arrays = {k: npz[k] + 1 for k in npz.files}
    np.savez(p, **arrays)


PREDICT_DAMAGE = [
    ("params.npz", "empty", lambda p: p.write_bytes(b""), "cannot be read"),
    ("params.npz", "truncated", DAMAGE["truncated"], "cannot be read"),
    ("params.npz", "bit-flipped", lambda p: flip_byte(p, 100), "sha256 differs): it was damaged"),
    ("params.npz", "bit-flipped-data", lambda p: flip_byte(p, p.stat().st_size // 2), "cannot be read"),
    ("params.npz", "nan", params_with_nan, "hold NaN or infinite values"),
    ("params.npz", "another-run", params_of_another_run, "not the file its run's metrics.json describes"),
    ("config.json", "empty", lambda p: p.write_bytes(b""), "cannot read the run's config"),
    ("config.json", "truncated", DAMAGE["truncated"], "cannot read the run's config"),
]


@pytest.mark.parametrize("name, damage, fn, says", PREDICT_DAMAGE, ids=[f"{n}-{d}" for n, d, _, _ in PREDICT_DAMAGE])
def test_predict_refuses_a_damaged_run_file(name, damage, fn, says, finished_run, tmp_path, run_cli, snapshot):
    from PIL import Image

    Image.new("RGB", (8, 8), "gray").save(tmp_path / "x.png")
    fn(finished_run / name)
    before = snapshot(finished_run)

    code, out, err = run_cli("predict", f"run={finished_run}", f"images=[{tmp_path / 'x.png'}]")

    assert_one_error(code, err)
    assert err.startswith(f"error: {finished_run / name}: ") and says in err, err
    assert out == ""
    assert snapshot(finished_run) == before


def test_predict_works_without_a_readable_metrics_json(finished_run, tmp_path, run_cli, snapshot):
    """metrics.json is not needed to predict: truncated, it only takes away the params.npz hash to compare."""
    from PIL import Image

    Image.new("RGB", (8, 8), "gray").save(tmp_path / "x.png")
    DAMAGE["truncated"](finished_run / "metrics.json")
    before = snapshot(finished_run)

    code, out, err = run_cli("predict", f"run={finished_run}", f"images=[{tmp_path / 'x.png'}]")

    assert code == 0, err
    assert out.startswith(f"{tmp_path / 'x.png'}: P(cat) = ")
    assert snapshot(finished_run) == before
