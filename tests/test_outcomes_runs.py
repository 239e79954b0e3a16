"""The outcome checks wired into the runs: a single run and each point of a vmapped sweep record their
warnings in metrics.json, the summary skips flagged points, and train.strict fails after the files."""

from __future__ import annotations

import json

import pytest

from lr_jax import Config, train_and_evaluate
from lr_jax.errors import OutcomeError
from lr_jax.pipelines import sweep

DATA = {"name": "synthetic", "num_examples": 64, "num_test": 32, "num_features": 10}  # no files needed


def config(**train) -> Config:
    return Config.from_dict(
        {
            "data": DATA,
            "sweep": {"learning_rates": [1e-9, 1.0]},
            "train": {"num_iterations": 50, "log_every": 10, "checkpoint_every": 0, "print_cost": False, **train},
        }
    )


def warnings_of(folder) -> list[str]:
    return [w["code"] for w in json.loads((folder / "metrics.json").read_text())["warnings"]]


def test_each_sweep_point_records_its_warnings_and_the_clean_one_is_best(tmp_path):
    result = sweep.sweep_and_evaluate(config(), tmp_path)
    assert "learned_nothing" in warnings_of(tmp_path / "0") and warnings_of(tmp_path / "1") == []
    assert [bool(r["warnings"]) for r in result["rows"]] == [True, False] and result["best"]["run"] == "1"


def test_strict_fails_a_sweep_after_writing_every_point_and_the_summary(tmp_path):
    with pytest.raises(OutcomeError, match=r"train.strict=true and 1 of 2 grid points raised 2 outcome warning\(s\)"):
        sweep.sweep_and_evaluate(config(strict=True, seed=0), tmp_path)
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "1" / "metrics.json").is_file()


@pytest.mark.parametrize("strict", [False, True])
def test_a_single_run_records_its_warnings_and_strict_raises_after_its_files(tmp_path, strict):
    c = Config.from_dict({**config(strict=strict).to_dict(), "optim": {"learning_rate": 1e-9}})
    if strict:
        with pytest.raises(OutcomeError) as raised:
            train_and_evaluate(c, tmp_path)
        assert raised.value.exit_code == 3 and "\n" not in str(raised.value)
    else:
        assert [w["code"] for w in train_and_evaluate(c, tmp_path)["warnings"]] == warnings_of(tmp_path)
    assert warnings_of(tmp_path)[0] == "learned_nothing"


def test_the_estimator_warns_and_refuses_non_finite_coefficients():
    sklearn = pytest.importorskip("sklearn", reason="pip install -e '.[sklearn]'")
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    from lr_jax.errors import DivergenceError
    from lr_jax.sklearn import LogisticRegression, OutcomeWarning

    assert sklearn
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with pytest.warns(OutcomeWarning, match=r"learned nothing.*raise learning_rate or max_iter\. \[learned_nothing\]"):
        LogisticRegression(solver="sgd", learning_rate=1e-9, max_iter=20, tol=0).fit(X, y)
    # tol=0: no stop on the cost's relative decrease, so the fit ends far into the saturated tail. With the
    # default tol it stops near the edge of the check (the last 10 % of iterations falling by 1 %), on one side
    # or the other depending on the rounding of the compiled program (another CPU, XLA's optimization level).
    with pytest.warns(OutcomeWarning, match=r"add a penalty \(a finite C, e\.g\. C=1\.0\)\. \[weights_unbounded\]"):
        LogisticRegression(C=np.inf, max_iter=1000, tol=0).fit(X, y)
    with pytest.raises(DivergenceError, match=r"non-finite coefficients .* Lower learning_rate \(now 1e\+30\)"):
        LogisticRegression(solver="sgd", learning_rate=1e30).fit(X, y)  # the example
