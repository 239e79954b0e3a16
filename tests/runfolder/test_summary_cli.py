"""`scripts/summarize.py`: the table, or one clear error (exit 2) when there is nothing to summarize."""

from __future__ import annotations

import importlib.util
import json

import pytest

from lr_jax import artifacts
from tests.conftest import REPO_ROOT
from tests.runfolder.test_summary import write_job


def test_summarize_script_explains_an_empty_folder(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("summarize_script", REPO_ROOT / "scripts" / "summarize.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as exit_info:
        script.main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert "no run folder with a metrics.json" in capsys.readouterr().err


def run_summarize(folder, capsys) -> tuple[int, str, str]:
    """scripts/summarize.py's main on `folder`, in this process: (exit code, stdout, stderr)."""
    spec = importlib.util.spec_from_file_location("summarize_script", REPO_ROOT / "scripts" / "summarize.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    try:
        script.main([str(folder)])
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_sweep_whose_every_job_failed_is_one_clear_error(tmp_path, capsys):
    """Hydra made the job folders (.hydra/, config.json, train.log) but no job got to write metrics.json."""
    for job in ("0", "1"):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / "config.json").write_text("{}")
        (tmp_path / job / "train.log").write_text("error: training diverged\n")

    code, out, err = run_summarize(tmp_path, capsys)

    assert (code, out) == (2, "")
    assert err.startswith(f"error: {tmp_path}: no run folder with a metrics.json") and err.count("\n") == 1
    assert "Pass the folder of a finished sweep" in err
    assert not (tmp_path / "summary.json").exists()


def test_a_sweep_whose_every_run_diverged_is_summarized_without_a_best_run(tmp_path, capsys):
    for job, lr in enumerate([10.0, 100.0]):
        write_job(tmp_path / str(job), lr, 0, None, None)
        metrics = json.loads((tmp_path / str(job) / "metrics.json").read_text())
        artifacts.save_json(tmp_path / str(job) / "metrics.json", {**metrics, "diverged": True})

    code, out, err = run_summarize(tmp_path, capsys)

    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "best: none (every run diverged)"
    assert [line.split()[0] for line in out.splitlines()[1:3]] == ["0", "1"]  # both rows in the table


def test_summarize_flags_a_run_whose_files_differ_from_its_record(tmp_path, capsys, caplog, snapshot):
    from tests.runfolder.test_summary import record_files

    for job, acc in enumerate([0.6, 0.8]):
        write_job(tmp_path / str(job), 0.01 * (job + 1), 0, acc, 0.5)
        record_files(tmp_path / str(job))
    (tmp_path / "1" / "params.npz").write_bytes(b"replaced")
    before = {job: snapshot(tmp_path / job) for job in ("0", "1")}

    code, out, _ = run_summarize(tmp_path, capsys)

    assert code == 0
    assert out.splitlines()[-1].startswith("best: run 0 ")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"run {tmp_path / '1'}: ['params.npz'] differ(s) from the sha256 its metrics.json records (damaged, "
        "replaced or missing); it is not considered for the best run. Train it again, or copy back its own files."
    ]
    assert {job: snapshot(tmp_path / job) for job in ("0", "1")} == before
