"""Bad input, one row each: the CLI prints one `error:` line naming the input, the problem and the fix,
exits non-zero without a traceback, and leaves the run folder as it was (Hydra's own `.hydra/` record
and `train.log` aside). Also `exit_on_error`'s HYDRA_FULL_ERROR switch (the numerics under abuse:
test_train_course.py).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lr_jax.config import Config
from lr_jax.errors import ConfigError
from tests.conftest import REPO_ROOT
from tests.helpers import write_course_h5

TRAIN, TEST = "train_catvnoncat.h5", "test_catvnoncat.h5"
SIZE = 4  # the tiny data sets below hold 4x4 RGB images


def tiny_data(folder: Path) -> Path:
    """A valid pair of files: 6 train and 4 test images of SIZE x SIZE."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    write_course_h5(folder / TRAIN, "train", rng.integers(0, 256, (6, SIZE, SIZE, 3), np.uint8), [0, 1] * 3)
    write_course_h5(folder / TEST, "test", rng.integers(0, 256, (4, SIZE, SIZE, 3), np.uint8), [0, 1, 1, 0])
    return folder


def images(m, size=SIZE, dtype=np.uint8, fill=None):
    x = np.random.default_rng(1).integers(0, 256, (m, size, size, 3)).astype(dtype)
    if fill is not None:
        x.flat[5] = fill
    return x


def one_cat_drawn_for_validation(m, split_seed=0):
    """Labels with one cat, at the index `split_validation` draws first for validation (data.split_seed)."""
    y = np.zeros(m, int)
    y[np.random.default_rng(split_seed).permutation(m)[0]] = 1
    return y


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    script: str  # "train" or "predict"
    args: Callable[[dict], list[str]]  # paths -> overrides (after preparing the bad input)
    code: int
    says: tuple[str, ...]  # substrings of stderr, formatted with the paths: input, problem, fix
    needs_run: bool = False  # {run} is a copy of the finished 2000-iteration course run (slow)


def data_case(id, mutate, says, extra=()):
    def args(p):
        mutate(p["data"])
        return [
            f"data.dir={p['data']}",
            "data.download=false",
            "data.verify=false",
            f"data.image_size={SIZE}",
            "train.num_iterations=5",
            *extra,
        ]

    return Case(id, "train", args, 2, says)


def config_case(id, overrides, says, code=2, needs_run=False):
    return Case(id, "train", lambda p: list(overrides), code, says, needs_run)


def resume_case(id, overrides, says, needs_run=True):
    return Case(
        id,
        "train",
        lambda p: [f"data.dir={p['real_data']}", "data.download=false", "train.resume=true", *overrides],
        2,
        says,
        needs_run,
    )


def predict_case(id, args, says, needs_run=True):
    return Case(id, "predict", args, 2, says, needs_run)


def png_bytes_truncated(p):
    from PIL import Image

    Image.new("RGB", (40, 30), "red").save(p["tmp"] / "cut.png")
    truncate(p["tmp"] / "cut.png")
    return [f"run={p['run']}", f"images=[{p['tmp'] / 'cut.png'}]"]


def other_size_params(p):
    np.savez(p["run"] / "params.npz", w=np.zeros(100, np.float32), b=np.zeros((), np.float32))
    return [f"run={p['run']}", f"images=[{p['tmp'] / 'x.png'}]"]


CASES = [
    # --- data files ---
    data_case(
        "data-file-missing",
        lambda d: (d / TEST).unlink(),
        ("data.dir={data} does not hold ['test_catvnoncat.h5']", "Fix the path"),
    ),
    data_case(
        "data-file-truncated",
        lambda d: truncate(d / TEST),
        ("{data}/" + TEST, "cannot be read as HDF5", "truncated", "provide the course's file again"),
    ),
    data_case(
        "data-file-not-hdf5",
        lambda d: (d / TRAIN).write_text("not hdf5"),
        ("{data}/" + TRAIN, "cannot be read as HDF5", "provide the course's file again"),
    ),
    data_case(
        "data-key-missing",
        lambda d: write_course_h5(d / TRAIN, "train", images(6), None),
        ("{data}/" + TRAIN, "missing key(s) ['train_set_y']", "use the course's file"),
    ),
    data_case(
        "images-other-size-than-config",
        lambda d: None,
        ("{data}/" + TRAIN, "images are 4x4, but data.image_size=8", "Set data.image_size"),
        extra=["data.image_size=8"],
    ),
    data_case(
        "images-not-rgb",
        lambda d: write_course_h5(d / TRAIN, "train", images(6)[..., 0], [0, 1] * 3),
        ("{data}/" + TRAIN, "'train_set_x' has shape (6, 4, 4)", "expected (m, height, width, 3)"),
    ),
    data_case(
        "labels-outside-0-1",
        lambda d: write_course_h5(d / TRAIN, "train", images(6), [0, 1, 2, 0, 1, 0]),
        ("{data}/" + TRAIN, "labels [2] outside {{0, 1}}", "use 0 or 1"),
    ),
    data_case(
        "labels-wrong-count",
        lambda d: write_course_h5(d / TRAIN, "train", images(6), [0, 1]),
        ("{data}/" + TRAIN, "'train_set_y' has shape (2,) for 6 images", "expected (6,)"),
    ),
    data_case(
        "features-nan",
        lambda d: write_course_h5(d / TRAIN, "train", images(6, dtype=np.float32, fill=np.nan), [0, 1] * 3),
        ("{data}/" + TRAIN, "NaN or infinite", "first index 0", "Repair or drop"),
    ),
    data_case(
        "features-inf",
        lambda d: write_course_h5(d / TEST, "test", images(4, dtype=np.float32, fill=np.inf), [0, 1, 1, 0]),
        ("{data}/" + TEST, "NaN or infinite", "Repair or drop"),
    ),
    data_case(
        "data-set-empty",
        lambda d: write_course_h5(d / TRAIN, "train", images(0), np.zeros(0, int)),
        ("{data}/" + TRAIN, "holds no images", "at least one image"),
    ),
    data_case(
        "train-test-sizes-differ",
        lambda d: write_course_h5(d / TEST, "test", images(4, size=8), [0, 1, 1, 0]),
        ("{data}/" + TRAIN, "4x4", "{data}/" + TEST, "8x8", "must have the same size", "Resize"),
    ),
    data_case(
        "train-one-class",
        lambda d: write_course_h5(d / TRAIN, "train", images(6), [0] * 6),
        ("data.dir={data}: the training set holds no example of class ['cat']", "Add examples of ['cat']"),
    ),
    data_case(
        "train-one-class-after-val-split",
        lambda d: write_course_h5(d / TRAIN, "train", images(6), one_cat_drawn_for_validation(6)),
        ("the training set after data.val_fraction=0.17 holds no example of class ['cat']", "lower data.val_fraction"),
        extra=["data.val_fraction=0.17"],  # one of 6 examples
    ),
    # --- config values ---
    # (optim.learning_rate <= 0: config/test_schema.py's table; the CLI path is the same for every config value)
    config_case(
        "iterations-negative",
        ["train.num_iterations=-1"],
        ("train.num_iterations=-1", "out of range", "an integer >= 0"),
    ),
    config_case(
        "iterations-not-a-number", ["train.num_iterations=many"], ("train.num_iterations='many'", "expected an integer")
    ),
    config_case("batch-size-zero", ["train.batch_size=0"], ("train.batch_size=0", "out of range")),
    Case(
        "batch-size-larger-than-data",
        "train",  # found once the data is read: give real data
        lambda p: [f"data.dir={p['real_data']}", "data.download=false", "train.batch_size=100000"],
        2,
        ("train.batch_size=100000", "209 training examples"),
    ),
    config_case("optimizer-unknown", ["optim.name=adamw"], ("optim.name='adamw'", "out of range", "one of")),
    config_case("data-set-unknown", ["data.name=mnist"], ("data.name='mnist'", "out of range", "one of")),
    config_case("image-size-zero", ["data.image_size=0"], ("data.image_size=0", "an integer >= 1")),
    config_case(
        "checkpoint-every-negative", ["train.checkpoint_every=-5"], ("train.checkpoint_every=-5", "an integer >= 0")
    ),
    config_case("keep-checkpoints-zero", ["train.keep_checkpoints=0"], ("train.keep_checkpoints=0", ">= 1")),
    config_case(
        "key-misspelled",
        ["optim.learning_rat=0.1"],  # Hydra's strict mode, Hydra's exit code
        ("optim.learning_rat", "not in struct", "+optim.learning_rat=0.1"),
        code=1,
    ),
    # --- resuming (the run folder holds a finished run whose files must stay untouched) ---
    resume_case(
        "resume-without-checkpoint",
        ["hydra.run.dir={new_run}"],
        ("train.resume=true", "{new_run}/checkpoints holds no checkpoint", "hydra.run.dir="),
        needs_run=False,
    ),
    resume_case(
        "resume-other-config",
        ["hydra.run.dir={run}", "optim.learning_rate=0.01"],
        (
            "{run}/checkpoints/step_00002000.npz",
            "optim.learning_rate: 0.005 -> 0.01",
            "Resume with the run's own values",
        ),
    ),
    resume_case(
        "resume-past-the-end",
        ["hydra.run.dir={run}", "train.num_iterations=1000"],
        (
            "step_00002000.npz is at iteration 2000, past train.num_iterations=1000",
            "Set train.num_iterations to 2000 or more",
        ),
    ),
    config_case(
        "fresh-run-over-checkpoints",
        ["hydra.run.dir={run}", "data.dir={real_data}"],
        ("{run}/checkpoints already holds checkpoints", "step_00002000.npz", "Pass train.resume=true"),
        needs_run=True,
    ),
    # --- prediction ---
    predict_case(
        "image-missing",
        lambda p: [f"run={p['run']}", f"images=[{p['tmp']}/nope.jpg]"],
        ("{tmp}/nope.jpg", "no such file", "Check the path"),
    ),
    predict_case(
        "image-not-an-image",
        lambda p: [f"run={p['run']}", f"images=[{p['tmp']}/notes.txt]"],
        ("{tmp}/notes.txt", "not an image Pillow can read", "Give a JPEG or PNG"),
    ),
    predict_case("image-truncated", png_bytes_truncated, ("{tmp}/cut.png", "not an image Pillow can read")),
    predict_case(
        "run-without-params",
        lambda p: [f"run={p['tmp']}", f"images=[{p['tmp']}/x.png]"],
        ("{tmp}: no params.npz", "Pass the folder of a finished run"),
        needs_run=False,
    ),
    predict_case(
        "params-of-another-size",
        other_size_params,
        (
            "{run}/params.npz",
            "{{'w': [100], 'b': []}}",
            "do not fit the run's model on 64x64 RGB images",
            "copy the matching params.npz back",
        ),
    ),
    predict_case(
        "predict-without-images",
        lambda p: [f"run={p['tmp']}"],
        ("images not given", "images=[a.jpg,b.png]"),
        needs_run=False,
    ),
    predict_case(
        "predict-without-run",
        lambda p: [f"images=[{p['tmp']}/x.png]"],
        ("run not given", "run=<run folder>"),
        needs_run=False,
    ),
]
# A case about a finished run trains the course's 2000 iterations once per process: the slow lane. The fast lane
# keeps a case from each stage (the config, the data files, their contents, the images, training, predict); each
# case starts Hydra, so the others are slow too.
FAST_CASES = {
    "key-misspelled",
    "iterations-not-a-number",
    "data-file-missing",
    "data-file-not-hdf5",
    "features-nan",
    "train-one-class",
    "images-not-rgb",
    "resume-without-checkpoint",
    "predict-without-run",
}
PARAMS = [
    pytest.param(c, id=c.id, marks=[] if c.id in FAST_CASES and not c.needs_run else [pytest.mark.slow]) for c in CASES
]


@pytest.fixture
def paths(request, tmp_path, data_dir, monkeypatch):
    """Where each case works: a tiny data set, a scratch folder as the cwd, and as {run} a copy of the
    finished course run for a case that needs one (an empty folder for the others: no training)."""
    from PIL import Image

    monkeypatch.delenv("LR_JAX_DATA_DIR", raising=False)  # the data must come from data.dir, or not at all
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    if request.node.callspec.params["case"].needs_run:
        shutil.copytree(request.getfixturevalue("course_run"), run)
    else:
        run.mkdir()
    (tmp_path / "scratch").mkdir()
    Image.new("RGB", (64, 64), "gray").save(tmp_path / "scratch" / "x.png")
    (tmp_path / "scratch" / "notes.txt").write_text("a cat, honestly")
    return {
        "data": tiny_data(tmp_path / "data"),
        "run": run,
        "tmp": tmp_path / "scratch",
        "real_data": data_dir,
        "new_run": tmp_path / "new_run",
    }


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input_gives_one_message_and_writes_nothing(case, paths, run_cli, snapshot):
    overrides = [o.format(**paths) for o in case.args(paths)]
    if case.script == "train" and not any(o.startswith("hydra.run.dir=") for o in overrides):
        overrides.append(f"hydra.run.dir={paths['new_run']}")
    before = {name: snapshot(paths[name]) for name in ("run", "tmp", "data")}

    code, out, err = run_cli(case.script, *overrides)

    assert code == case.code, err
    for text in case.says:
        assert text.format(**paths) in err, f"{text!r} not in {err!r}"
    assert "Traceback" not in err + out
    if code == 2:
        assert err.count("error:") == 1 and err.startswith("error: ")
    assert {name: snapshot(paths[name]) for name in before} == before
    new_run = paths["new_run"]
    assert not new_run.exists() or snapshot(new_run) == {}, "the run folder got files besides Hydra's own"


@pytest.mark.slow
@pytest.mark.parametrize("full_error", [False, True])
def test_cli_exit_code_and_traceback_only_with_hydra_full_error(full_error, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "train.py"),
            "optim.learning_rate=-1",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    with pytest.raises(ConfigError) as refused:  # the rule is config/test_schema.py's; here: how the CLI reports it
        Config.from_dict({"optim": {"learning_rate": -1}})
    message = str(refused.value)
    assert message in proc.stderr
    if full_error:
        assert proc.returncode != 0 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr
    else:
        assert proc.returncode == 2 and proc.stderr == f"error: {message}\n"
