"""A crafted journal (issue 20, family 4): `.commit.json` is untrusted input. No path it names may leave the
run folder or touch lr_jax's own files; a read-only command (predict) ignores it and writes nothing; a
training run refuses it with one line. Each case: the exit code, the `error:` line, every file as it was."""

from __future__ import annotations

import json

import pytest

from lr_jax.runfolder import journal
from tests.helpers import random_image
from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides

CRAFTED = {
    "parent": {"files": ["../x"]},
    "absolute": {"files": ["/tmp/lr_jax-crafted-x"]},
    "lock": {"files": [".lock"]},
    "deep": {"files": ["a/b/x"]},
    "not-a-list": {"files": "x"},
    "no-files": {"paths": ["x"]},
}
FAST_KINDS = ("parent", "not-a-list", "not-json")  # the fast lane keeps these (each a CLI run)


def craft(run, journal_text: str) -> None:
    """The crafted journal, and a file `x` in the run folder (and in its stage) it would move out."""
    (run / journal.JOURNAL).write_text(journal_text)
    (run / "x").write_text("mine\n")
    (run / journal.STAGE_DIR).mkdir(exist_ok=True)
    (run / journal.STAGE_DIR / "x").write_text("staged\n")


def tree(folder, hydra=False) -> dict[str, bytes]:
    """Every file under `folder` (the run folder's parent: a file moved out of the run shows too); without
    `hydra`, Hydra's own record and log left out (a training run writes them before lr_jax runs)."""
    own = lambda p: not hydra and (".hydra" in p.parts or p.name == "train.log")
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not own(p)}


@pytest.mark.parametrize(
    "kind", [k if k in FAST_KINDS else pytest.param(k, marks=pytest.mark.slow) for k in [*CRAFTED, "not-json"]]
)
def test_predict_ignores_a_crafted_journal_and_writes_nothing(kind, finished_run, tmp_path, run_cli, monkeypatch):
    craft(finished_run, "{not json" if kind == "not-json" else json.dumps(CRAFTED[kind]))
    image = tmp_path / "img" / "cat.png"
    image.parent.mkdir()
    random_image((8, 8), "RGB").save(image)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # predict writes no file of its own either
    before = tree(tmp_path, hydra=True)

    code, out, err = run_cli("predict", f"run={finished_run}", f"images=[{image}]")

    assert code == 0, err
    assert out.startswith(f"{image}: P(cat) = ")
    assert tree(tmp_path, hydra=True) == before  # x not moved, nothing written anywhere


@pytest.mark.parametrize(  # a CLI run each: the fast lane keeps a path outside, a wrong type and broken JSON
    "kind", [k if k in FAST_KINDS else pytest.param(k, marks=pytest.mark.slow) for k in [*CRAFTED, "not-json"]]
)
def test_training_refuses_a_crafted_journal_and_moves_nothing(kind, finished_run, tiny_data, tmp_path, run_cli):
    craft(finished_run, "{not json" if kind == "not-json" else json.dumps(CRAFTED[kind]))
    before = tree(tmp_path)

    code, _, err = run_cli(
        "train", *tiny_overrides(tiny_data, finished_run, "train.resume=true", "train.num_iterations=25")
    )

    assert_one_error(code, err)
    assert f"{finished_run / journal.JOURNAL}: not a commit journal lr_jax wrote" in err and "Delete it" in err
    assert tree(tmp_path) == before


def test_a_member_folder_linked_outside_is_not_followed(finished_run, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (finished_run / "0").symlink_to(outside, target_is_directory=True)
    (finished_run / journal.JOURNAL).write_text(json.dumps({"files": ["0/x"]}))
    (finished_run / journal.STAGE_DIR / "0").mkdir(parents=True)
    (finished_run / journal.STAGE_DIR / "0" / "x").write_text("staged\n")

    with pytest.raises(journal.DataError, match="'0/x', not a file inside the run folder"):
        journal.recover(finished_run)
    assert list(outside.iterdir()) == []
    assert journal.committed_path(finished_run, "0/x") == finished_run / "0/x"  # the view ignores it too


@pytest.mark.parametrize(
    "name, safe",
    [("params.npz", True), ("0/metrics.json", True), ("../x", False), ("/x", False), (".lock", False),
     ("0/.hydra", False), ("a/b/c", False), ("", False), ("a\\..\\x", False), (3, False)],
)  # fmt: skip
def test_journal_names(name, safe):
    assert journal.is_safe_name(name) is safe
