"""Checkpoints: the whole TrainState (params, optimizer state, iteration, PRNG key) and the costs so far.

A vmapped sweep checkpoints its stacked grid the same way: every leaf (and the costs) with the grid on axis 0.

`<run folder>/checkpoints/step_<N>.npz` holds one array per leaf of the flattened TrainState, named by its
pytree path (`state.params['w']`, ...), the PRNG key as its raw `jax.random.key_data`, the costs of
iterations 0..N-1, the run's config as JSON and its parametrization ("span" or "weights", `lr_jax.span`).
Files are written atomically and only the newest `keep` are kept, so a run killed at any moment leaves
complete checkpoints only. Restoring needs a template state of the same config (`stages.initial_state`,
`stages.parametrize`), which fixes the tree, shapes and dtypes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from lr_jax import artifacts, span
from lr_jax.config import Config
from lr_jax.errors import ConfigError, DataError
from lr_jax.train import TrainState, steps_done

log = logging.getLogger(__name__)
FOLDER = "checkpoints"
_NAME = re.compile(r"step_(\d+)\.npz")
# Keys that may change between a run and its resumption: they do not change the trajectory.
RESUMABLE_CHANGES = frozenset(
    {
        "data.dir",
        "data.download",
        "data.base_url",
        "data.verify",
        "train.num_iterations",
        "train.log_every",
        "train.print_cost",
        "train.checkpoint_every",
        "train.keep_checkpoints",
        "train.resume",
        "train.overwrite",
        "train.compilation_cache_dir",
        "train.parametrization",  # the same iterates; a resumed run keeps its checkpoint's (stages.parametrize)
        "optimized_metric",  # what a sweep selects on, not how the run trains
        "sweep.figures",  # which figures a sweep draws
        "sweep.learning_rates",
        "sweep.seeds",  # the sweep's grid: not this run's
        "logger.csv",  # where the run reports, not how it trains
        "logger.tensorboard",
        "logger.mlflow",
        "logger.tracking_uri",
        "logger.experiment_name",
    }
)


def _named_leaves(state: TrainState) -> dict[str, Any]:
    """{pytree path: leaf} of `state`, with the typed PRNG key replaced by its raw uint32 data."""
    state = state._replace(key=jax.random.key_data(state.key))
    return {"state" + jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}


def save(folder: Path, state: TrainState, costs, config: Mapping[str, Any], keep: int) -> Path:
    """Write `folder/step_<N>.npz` atomically, then delete all but the newest `keep` checkpoints."""
    folder.mkdir(parents=True, exist_ok=True)
    step = steps_done(state)  # a sweep's stacked grid: its states share one step
    path = folder / f"step_{step:08d}.npz"
    arrays = {name: np.asarray(leaf) for name, leaf in jax.device_get(_named_leaves(state)).items()}
    arrays.update(costs=np.asarray(costs), config=np.asarray(json.dumps(dict(config))))
    arrays.update(parametrization=np.asarray(span.SPAN if span.is_span(state) else span.WEIGHTS))
    try:
        with artifacts.atomic_open(path, "wb") as f:
            np.savez(f, checksum=content_checksum(arrays), **arrays)  # type: ignore[arg-type]  # no key is allow_pickle
    except OSError as e:  # the temporary file is already removed: older checkpoints stay as they were
        kept = list_checkpoints(folder)
        then = (
            f"with train.resume=true to continue from {kept[-1].name}, the newest checkpoint kept"
            if kept
            else "again: no checkpoint was kept yet, so it starts over"
        )
        raise DataError(
            f"{path}: writing the checkpoint failed ({e.strerror or e}). Free some space, then run the same "
            f"command {then}."
        ) from e
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink()
    for stale in folder.glob(".step_*.tmp"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)
    return path


def recorded_parametrization(workdir: Path) -> str | None:
    """The parametrization (span.SPAN or span.WEIGHTS) of the newest readable checkpoint of `workdir`, or None.

    Told by its state's leaves where a checkpoint predates the record: a span state holds the anchor.
    """
    for path in reversed(list_checkpoints(workdir / FOLDER)):
        try:
            with np.load(path) as npz:
                if "parametrization" in npz.files:
                    return str(npz["parametrization"])
                return span.SPAN if "state.opt_state.anchor" in npz.files else span.WEIGHTS
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
            continue  # a damaged file: `starting_point` reports it
    return None


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in `folder`, oldest first (leftover temporary files are not listed)."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def content_checksum(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """sha256 over every array's name, dtype, shape and bytes, in name order, as uint8[32]."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return np.frombuffer(digest.digest(), np.uint8)


class CorruptCheckpoint(DataError):
    """A checkpoint file that cannot be read, fails its checksum, or holds non-finite numbers."""


def read(path: Path, *, diverged_ok: bool = False) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint, checked: readable, checksum matching (when it has one), all finite.

    With `diverged_ok` (a sweep's grid, where a diverged member's NaN is its own result, not damage)
    non-finite values are accepted in a checkpoint whose checksum matches: the program wrote them so.
    """
    try:
        with np.load(path) as npz:
            stored = {k: npz[k] for k in npz.files}
        json.loads(str(stored.get("config", "{}")))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise CorruptCheckpoint(f"{path}: cannot be read as a checkpoint ({type(e).__name__}: {e})") from e
    saved = stored.pop("checksum", None)  # checkpoints of older versions have none
    if saved is not None and not np.array_equal(saved, content_checksum(stored)):
        raise CorruptCheckpoint(f"{path}: its contents do not match its checksum (the file was altered)")
    bad = sorted(k for k, v in stored.items() if v.dtype.kind in "fc" and not np.isfinite(v).all())
    if bad and not (diverged_ok and saved is not None):
        raise CorruptCheckpoint(f"{path}: {bad} hold NaN or infinite values")
    return stored


def restore(
    path: Path, template: TrainState, config: Mapping[str, Any], *, diverged_ok: bool = False
) -> tuple[TrainState, np.ndarray]:
    """(state, costs so far) from a checkpoint, checked against `template` and the current config."""
    stored = read(path, diverged_ok=diverged_ok)
    _check_config(path, json.loads(str(stored.get("config", "{}"))), config)
    expected = _named_leaves(template)
    leaves = [_checked_leaf(path, name, stored.get(name), leaf) for name, leaf in expected.items()]
    treedef = jax.tree_util.tree_structure(template._replace(key=jax.random.key_data(template.key)))
    state = jax.tree_util.tree_unflatten(treedef, leaves)
    key = jax.random.wrap_key_data(state.key, impl=jax.random.key_impl(template.key))
    return state._replace(key=key), stored["costs"]


def starting_point(
    workdir: Path,
    template: TrainState,
    config: Mapping[str, Any],
    *,
    resume: bool,
    num_steps: int,
    overwrite: bool = False,
    diverged_ok: bool = False,
) -> tuple[TrainState, np.ndarray]:
    """(state, costs so far): the newest checkpoint of `workdir` if `resume`, else `template` and no costs.

    `diverged_ok`: a grid's checkpoint may hold diverged members (see `read`).

    A fresh run refuses a folder that already holds checkpoints, rather than mixing its own with them,
    unless `overwrite` (`rundir.claim` then removes them before the run writes any).
    """
    found = list_checkpoints(workdir / FOLDER)
    if not resume:
        if found and not overwrite:
            raise ConfigError(
                f"{workdir / FOLDER} already holds checkpoints of an earlier run (newest: "
                f"{found[-1].name}). Pass train.resume=true to continue that run, train.overwrite=true "
                "to replace it, or choose a new run folder."
            )
        return template, np.zeros(np.shape(template.step) + (0,), jax.tree.leaves(template.params)[0].dtype)
    if not found:
        raise ConfigError(
            f"train.resume=true, but {workdir / FOLDER} holds no checkpoint. Pass the folder "
            "of the run to continue (hydra.run.dir=<run folder>), or drop train.resume=true."
        )
    path, (state, costs) = _newest_good(found, template, config, diverged_ok)
    step = steps_done(state)
    if step > num_steps:
        raise ConfigError(
            f"{path} is at iteration {step}, past train.num_iterations="
            f"{num_steps}. Set train.num_iterations to {step} or more."
        )
    return state, costs


def _newest_good(
    found: list[Path], template, config, diverged_ok: bool = False
) -> tuple[Path, tuple[TrainState, np.ndarray]]:
    """The newest checkpoint of `found` that passes `read`, logging each corrupt one skipped."""
    problems = []
    for path in reversed(found):
        try:
            return path, restore(path, template, config, diverged_ok=diverged_ok)
        except CorruptCheckpoint as e:
            log.warning("%s; trying the checkpoint before it", e)
            problems.append(str(e))
    raise DataError(
        f"no usable checkpoint in {found[0].parent}: {'; '.join(problems)}. Delete the damaged files and "
        "start a new run folder (or pass train.overwrite=true to start this run again)."
    )


def newest_finite(folder: Path) -> Path | None:
    """The newest checkpoint in `folder` that is readable, intact and finite, or None."""
    for path in reversed(list_checkpoints(folder)):
        try:
            read(path)
            return path
        except CorruptCheckpoint:
            continue
    return None


def _checked_leaf(path, name, value, like) -> np.ndarray:
    like = np.asarray(like)
    if value is None or value.shape != like.shape or value.dtype != like.dtype:
        found = "nothing" if value is None else f"{value.dtype}{list(value.shape)}"
        raise DataError(
            f"{path}: {name} holds {found}, this run needs {like.dtype}{list(like.shape)}. "
            "The checkpoint belongs to another kind of run: resume it with its own config, "
            "or start a new run folder."
        )
    return value


def _check_config(path, saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    # A key absent on either side held its default (a checkpoint's lr_jax may not have known it yet).
    defaults = _flatten(Config().to_dict())
    flat_saved, flat_now = {**defaults, **_flatten(saved)}, {**defaults, **_flatten(current)}
    differ = sorted(
        k
        for k in flat_saved.keys() | flat_now.keys()
        if k not in RESUMABLE_CHANGES and flat_saved.get(k) != flat_now.get(k)
    )
    if differ:
        changes = ", ".join(f"{k}: {flat_saved.get(k)!r} -> {flat_now.get(k)!r}" for k in differ)
        raise ConfigError(
            f"{path} was written with another config ({changes}). Resume with the run's "
            "own values for these keys, or start a new run folder."
        )


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, Mapping) else {f"{prefix}{k}": v})
    return out
