"""Cheap entry points (`import lr_jax`, `--help` and a sweep summary answer without importing JAX); the import
contracts cover every module, and the import graph has no cycle."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

HEAVY = ("jax", "optax", "matplotlib", "h5py")


def modules_after(code: str) -> set[str]:
    """The heavy modules that a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_lr_jax_loads_no_heavy_library():
    assert modules_after("import lr_jax, lr_jax.config, lr_jax.errors, lr_jax.runfolder.summary") == set()


@pytest.mark.slow  # a fresh Python process
def test_train_and_evaluate_is_imported_on_first_use():
    assert "jax" in modules_after("import lr_jax; lr_jax.train_and_evaluate")


@pytest.mark.slow  # a fresh Python process
@pytest.mark.parametrize("script", ["train", "sweep", "predict", "export"])
def test_help_does_not_import_jax(script):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['{script}.py', '--help']; sys.path.insert(0, 'scripts')\n"
        "try:\n"
        f"    runpy.run_path('scripts/{script}.py', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass"
    )
    assert "jax" not in modules_after(code)


@pytest.mark.slow  # a fresh Python process
def test_summarize_runs_without_jax(tmp_path):
    for i, lr in enumerate([0.01, 0.001]):
        (tmp_path / str(i)).mkdir()
        metrics = {
            "config": {"optim": {"learning_rate": lr}},
            "train_accuracy": 0.9,
            "test_accuracy": 0.7 + i / 10,
            "train_cost": 0.2,
            "test_cost": 0.5,
            "cost_iterations": [0, 100],
            "costs": [0.69, 0.3],
        }
        (tmp_path / str(i) / "metrics.json").write_text(json.dumps(metrics))
    code = (
        f"import sys; sys.argv = ['summarize.py', {str(tmp_path)!r}]; sys.path.insert(0, 'scripts')\nimport runpy\n"
        "runpy.run_path('scripts/summarize.py', run_name='__main__')"
    )
    assert "jax" not in modules_after(code)
    assert json.loads((tmp_path / "summary.json").read_text())["best"]["run"] == "1"


def test_every_module_is_in_a_layer_of_the_import_contract():
    """A module left out of pyproject.toml's contracts would escape lint-imports' check: each top-level
    module and wing is a layer of the package's contract, and each module inside a wing is named by that
    wing's own contract."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    contracts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    named = set()
    for contract in contracts:
        prefix = f"{contract['containers'][0]}." if contract.get("containers") else ""
        for layer in contract.get("layers", contract.get("modules", [])):
            named |= {prefix + name.strip() for name in layer.split("|")}
    package = REPO_ROOT / "lr_jax"
    modules = {
        "lr_jax." + ".".join(p.relative_to(package).with_suffix("").parts)
        for p in package.rglob("*.py")
        if p.name != "__init__.py"
    }
    wings = {"lr_jax." + p.parent.name for p in package.glob("*/__init__.py")}
    assert modules - named == set()
    assert wings - named == set()


@pytest.mark.slow  # a fresh Python process
def test_scripts_share_hydra_config_store_and_help_is_unchanged():
    # scripts/hydra_fixes.py: Hydra's deep copies of its config repository share the ConfigStore singleton
    # (the copies are never written to) -- and `--help` prints exactly what Hydra prints without it.
    def help_text(fix: bool) -> str:
        code = (
            "import copy, runpy, sys\n"
            "sys.argv = ['train.py', '--help']; sys.path.insert(0, 'scripts')\n"
            f"if {fix}:\n"
            "    import hydra_fixes\n"
            "    from hydra.core.config_store import ConfigStore\n"
            "    assert copy.deepcopy(ConfigStore.instance()) is ConfigStore.instance()\n"
            "else:\n"
            "    import contextlib\n"
            "    sys.modules['hydra_fixes'] = type(sys)('hydra_fixes')  # the import in train.py does nothing\n"
            "    sys.modules['hydra_fixes'].SIGNALS = contextlib.nullcontext()\n"
            "try:\n"
            "    runpy.run_path('scripts/train.py', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
        )
        run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        return run.stdout

    fixed = help_text(True)
    assert fixed == help_text(False)
    assert "== Configuration groups ==" in fixed and "optim: adam, lbfgs, sgd" in fixed


def import_cycles(package: str) -> list[tuple[str, ...]]:
    """Each circle of imports among `package`'s modules, as (module, ..., module), once per import that closes
    it. Every import counts: at module level, inside a function, and under `if TYPE_CHECKING:`."""
    import grimp  # import-linter's graph builder (the test extra installs it with import-linter)

    graph = grimp.build_graph(package, cache_dir=None, exclude_type_checking_imports=False)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) - {importer}):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append((importer, *back))
    return cycles


def test_the_module_import_graph_has_no_cycle():
    assert import_cycles("lr_jax") == []


def test_a_cycle_through_type_checking_and_a_function_is_found(tmp_path, monkeypatch):
    package = tmp_path / "cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cycle_probe import b\n"
    )
    (package / "b.py").write_text("def f():\n    from cycle_probe.a import g\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert import_cycles("cycle_probe") == [
        ("cycle_probe.a", "cycle_probe.b", "cycle_probe.a"),
        ("cycle_probe.b", "cycle_probe.a", "cycle_probe.b"),
    ]
