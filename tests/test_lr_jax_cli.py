"""`lr-jax` (lr_jax/cli.py): one command for every entry point, positionals where they are not configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lr_jax import cli
from lr_jax.serving.predict import predict_images
from tests.conftest import REPO_ROOT
from tests.helpers import random_image

LR_JAX = Path(sys.executable).parent / "lr-jax"  # the console script of `pip install -e .`


def lr_jax(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    if not LR_JAX.exists():
        pytest.fail(f"{LR_JAX} missing: reinstall the package (pip install -e .) to create the console script")
    return subprocess.run([str(LR_JAX), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_help_lists_every_command_without_importing_jax_or_hydra():
    code = (
        "import sys\nfrom lr_jax import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'jax' in sys.modules, 'hydra' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("LOADED False False")
    for name in ("train", "sweep", "study", "predict", "export", "summarize", "benchmark"):
        assert f"\n  {name} " in out, name


@pytest.mark.parametrize("argv", [["frobnicate"], []])
def test_an_unknown_or_missing_command_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2


def test_predict_help_shows_only_its_positionals(capsys):
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "RUN_DIR" in out and "IMAGE" in out
    assert "optim" not in out and "model" not in out and "hydra" not in out.lower()  # no training groups


@pytest.mark.slow  # a Hydra process per script
@pytest.mark.parametrize(("script", "keys"), [("predict", ("run", "images", "top_k")), ("export", ("run", "format"))])
def test_script_help_lists_its_own_keys_not_the_training_groups(script, keys):
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / f"{script}.py"), "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{script}: ") and f"lr-jax {script} RUN_DIR" in out.stdout
    for key in keys:
        assert f"\n  {key} " in out.stdout and f"\n{key}: " in out.stdout, key  # explained, and its default
    for group in ("optim", "model:", "experiment", "hparams_search", "Configuration groups"):
        assert group not in out.stdout, group


@pytest.mark.slow  # imports every benchmark suite
def test_benchmark_help_lists_every_suites_flags():
    out = lr_jax("benchmark", "--help").stdout
    for suite in ("course", "sweep", "solvers", "scale", "latency", "estimator", "mlp", "chunks"):
        assert f"--suite {suite}:" in out, suite
    assert "--num-lrs" in out and "--blas-threads" in out  # the sweep's and the estimator's own flags
    assert "--results FILE" in out  # every suite's tables, written as a results file for the docs


def test_train_help_is_the_scripts_own_help():
    via_cli = lr_jax("train", "--help")
    via_script = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--help"], capture_output=True, text=True
    )
    assert via_cli.returncode == via_script.returncode == 0
    assert via_cli.stdout == via_script.stdout and "optim: adam, lbfgs, sgd" in via_cli.stdout


@pytest.mark.parametrize(
    "value", ["outputs/2026-12-04/07-00-00", "a run, with [brackets]", "it's", "back\\slash", "x=y", "tail\\", "a\\'b"]
)
def test_hydra_quote_gives_back_the_path_through_hydras_parser(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_override(f"run={cli.hydra_quote(value)}")
    assert override.value() == value


def test_a_missing_scripts_folder_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "scripts_dir", lambda: tmp_path)
    with pytest.raises(SystemExit) as e:
        cli.main(["train"])
    assert e.value.code == 2
    assert "pip install -e ." in capsys.readouterr().err


def test_summarize_takes_the_sweep_folder_positionally(tmp_path):
    done = lr_jax("summarize", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "metrics.json" in done.stderr


@pytest.mark.slow  # the finished course run, and a JAX process
def test_predict_expands_a_shell_glob_and_prints_what_the_script_prints(course_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the glob's relative names, as the user typed them
    for name, size, mode in [("a.png", (90, 90), "RGBA"), ("b.png", (50, 70), "L")]:
        random_image(size, mode).save(tmp_path / name)
    env = {**os.environ, "PATH": f"{LR_JAX.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        f"lr-jax predict '{course_run}' *.png", shell=True, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    expected = [
        f"{p.path}: P(cat) = {p.proba:.4f} -> {p.class_name}" for p in predict_images(course_run, ["a.png", "b.png"])
    ]
    assert done.stdout.splitlines() == expected


@pytest.mark.slow  # the finished course run, and a JAX process
def test_export_takes_a_run_folder_whose_name_hydra_would_misread(course_run, tmp_path):
    run = tmp_path / "run, [1]"
    shutil.copytree(course_run, run)
    done = lr_jax("export", str(run), "format=stablehlo")
    assert done.returncode == 0, done.stderr
    assert (run / "model.stablehlo").is_file() and (run / "model.stablehlo.json").is_file()


def test_a_predict_error_is_one_line_and_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["predict", str(tmp_path), "missing.png"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
