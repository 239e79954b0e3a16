"""Import cost without timing: no module dominates `import jax, optax`, and the estimator imports no run stack.

The first catches a regression like ml_dtypes 0.7.0's, whose extension module took 80-85 % of
`import ml_dtypes` and 42-45 % of `import jax` (measured here: three fresh processes each, loaded 2-core CPU;
with 0.6.0 the largest module of `import jax` takes 7-12 %). tests/project/test_imports.py checks that the cheap
entry points import no JAX; this file checks what the heavy ones cost.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))  # the benchmark's parser of `-X importtime` (bench.importcost)
from bench import importcost

DOMINANT = 0.25  # a module's own share of the whole import, median of 3 processes: see the test

SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |     numpy._core._multiarray_umath
import time:       200 |        300 |   numpy._core
import time:        50 |        350 | numpy
import time:       150 |        150 | ml_dtypes
"""


def test_importtime_output_is_parsed_with_depths_and_shares():
    rows = importcost.parse(SAMPLE)
    assert rows[0] == ("numpy._core._multiarray_umath", 100, 100, 2) and rows[2] == ("numpy", 50, 350, 0)
    assert importcost.total_us(rows) == 500  # numpy and ml_dtypes: the nested lines (printed first) are in 350
    assert importcost.self_shares(rows)["numpy._core"] == pytest.approx(0.4)
    assert importcost.median_shares([rows, rows, []])["ml_dtypes"] == pytest.approx(0.3)  # 0.3, 0.3, 0


@pytest.mark.slow  # three fresh interpreters importing JAX
def test_no_module_dominates_the_import_of_jax_and_optax():
    """A share, not seconds: on a loaded or fast, CPU- or GPU-machine the split of one import between its
    modules stays (JAX finds its GPU plugins when the first array is made, not on import). The median of
    3 processes needs a module to dominate in 2: a process descheduled in one import inflates one run only.
    25 % sits between the largest share with ml_dtypes 0.6 (12 %) and 0.7.0's extension (42 %)."""
    shares = importcost.median_shares([importcost.importtime("import jax, optax") for _ in range(3)])
    module = max(shares, key=shares.get)
    assert shares[module] < DOMINANT, (
        f"`import jax, optax`: {module} alone takes {shares[module]:.0%} of the import (median of 3 "
        "processes). Find the release that made it slow (`python -X importtime -c 'import ...'` in venvs "
        "with the previous and the current version) and cap it in pyproject.toml's dependencies, with why."
    )


# What `LogisticRegression` never needs: the run stack (plotting, HDF5, images, downloads, Hydra; tqdm is imported
# when a fit shows a bar), and the scikit-learn modules only `LogisticRegressionCV` uses (with them, sklearn.metrics
# brings sklearn.preprocessing and rich), with lr_jax.sklearn.cv itself.
NOT_FOR_THE_ESTIMATOR = ("matplotlib", "h5py", "PIL", "pooch", "hydra", "omegaconf", "tqdm")
NOT_FOR_ITS_FIT = ("lr_jax.sklearn.cv", "sklearn.linear_model", "sklearn.metrics", "sklearn.model_selection", "rich")


@pytest.mark.slow  # a fresh interpreter importing scikit-learn and JAX
def test_the_estimator_imports_no_run_stack_and_nothing_only_cv_needs():
    """`from lr_jax.sklearn import LogisticRegression` (a notebook's first line) imports neither the run stack nor
    what only `LogisticRegressionCV` needs; `LogisticRegressionCV` is importable from both of its homes; the
    garbage collector, paused while `lr_jax.sklearn` imports an estimator's module, runs again after; the
    process's objects are frozen as it exits (`runtime.freeze_at_exit`: checked by a handler registered first,
    so run last)."""
    unwanted = NOT_FOR_THE_ESTIMATOR + NOT_FOR_ITS_FIT
    probe = (
        "import atexit, gc, sys\natexit.register(lambda: print(gc.get_freeze_count() > 0))\n"
        "from lr_jax.sklearn import LogisticRegression\n"
        f"print(' '.join(m for m in {unwanted!r} if m in sys.modules))\n"
        "from lr_jax.sklearn import LogisticRegressionCV\n"
        "from lr_jax.sklearn.logistic import LogisticRegressionCV as cv\n"
        "print(cv is LogisticRegressionCV, 'lr_jax.sklearn.cv' in sys.modules, gc.isenabled())"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    imported, loaded, frozen_at_exit = run.stdout.splitlines()
    assert imported.split() == [], f"`from lr_jax.sklearn import LogisticRegression` imported {imported}"
    assert (loaded, frozen_at_exit) == ("True True True", "True")  # the collector, paused by the import, is back
