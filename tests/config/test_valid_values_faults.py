"""Values the docs call valid train; values that cannot work are refused up front, naming the real cause.

Through the CLI: a refusal is one `error:` line, exit 2, and no file that existed before changed.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tests.runfolder.test_transaction_faults import assert_one_error
from tests.tiny_run import tiny_overrides


@pytest.mark.parametrize("seed", [0, 1, 2**31 - 1])
def test_the_init_key_of_a_seed_below_2_to_the_31_is_the_one_of_earlier_versions(seed):
    """The seed now enters the compiled init as uint32 (the whole documented range); keys did not change."""
    key = lambda s: jax.random.key_data(jax.random.key(s))
    assert np.array_equal(key(np.uint32(seed)), key(np.int32(seed)))


@pytest.mark.slow  # a whole tiny run through the CLI
def test_the_largest_documented_seed_trains_with_a_normal_init(tiny_data, tmp_path, run_cli):
    run = tmp_path / "run"

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, run, "train.seed=4294967295", "model.init=normal"))

    assert code == 0, err
    key = jax.random.key_data(jax.random.key(2**32 - 1))  # Python's int: JAX's own handling of the full range
    assert np.array_equal(key, jax.random.key_data(jax.random.key(np.uint32(2**32 - 1))))
    assert (run / "metrics.json").is_file()


REFUSED = {
    "course-seed-beyond-2**32-1": (
        ("model=mlp", "model.hidden=[3]", "model.init=course", "model.course_seed=4294967296"),
        "error: model.course_seed=4294967296 is out of range: expected null (= train.seed) or an integer "
        "0 <= seed <= 4294967295.",
    ),
    "early-stopping-on-roc-auc-of-one-class": (
        (
            "data.val_fraction=0.2",  # 1 of the 6 training images: one class
            "train.early_stopping=true",
            "train.early_stopping_metric=val_roc_auc",
        ),
        "error: train.early_stopping_metric=val_roc_auc: the validation split (data.val_fraction=0.2: 0 'non-cat', "
        "1 'cat') holds one class, where ROC AUC is undefined.",
    ),
    "l2-beyond-float32": (
        ("model.l2=1e308",),
        "error: model.l2=1e+308 is beyond the largest float32 (3.403e+38) of train.precision=float32",
    ),
    "learning-rate-beyond-float32": (
        ("optim.learning_rate=1e39",),
        "error: optim.learning_rate=1e+39 is beyond the largest float32",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_values_that_cannot_work_are_refused_before_training(case, tiny_data, tmp_path, run_cli, snapshot):
    extra, says = REFUSED[case]
    run = tmp_path / "run"
    before = snapshot(tiny_data)

    code, out, err = run_cli("train", *tiny_overrides(tiny_data, run, *extra))

    assert_one_error(code, err)
    assert err.startswith(says), err
    assert snapshot(tiny_data) == before and (not run.exists() or snapshot(run) == {})


DIVERGED = {
    "l2-times-learning-rate-at-least-2": (
        ("model.l2=1e6",),
        "model.l2=1000000.0 with optim.learning_rate=0.005: each step multiplies the weights by "
        "1 - learning_rate·l2 = -4999, so the L2 penalty alone diverges. Keep learning_rate·l2 < 2: lower model.l2.",
    ),
    "l2-1e308-in-float64": (
        ("model.l2=1e308", "train.precision=float64"),
        "model.l2=1e+308 with optim.learning_rate=0.005: each step multiplies the weights by",
    ),
    "init-scale-1e30": (
        ("model=mlp", "model.hidden=[3]", "model.init=normal", "model.init_scale=1e30"),
        "The cost of the initial parameters (model.init=normal, model.init_scale=1e+30) is already not finite: "
        "their outputs overflow. Use a smaller model.init_scale (e.g. 0.01) or model.init=he.",
    ),
}


@pytest.mark.slow  # each trains through the CLI until its cost overflows
@pytest.mark.parametrize("case", DIVERGED)
def test_divergence_names_its_cause_not_the_learning_rate(case, tiny_data, tmp_path, run_cli):
    extra, says = DIVERGED[case]

    code, _, err = run_cli("train", *tiny_overrides(tiny_data, tmp_path / "run", *extra))

    assert_one_error(code, err)
    assert err.startswith("error: training diverged: ") and says in err and "Lower optim.learning_rate" not in err


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # the draw's own overflow
def test_infinite_initial_parameters_are_refused_naming_init_scale():
    from lr_jax import Config
    from lr_jax.errors import ConfigError
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.spec import spec_from_config

    config = Config.from_dict({"model": {"init": "normal", "init_scale": 1e300}, "train": {"precision": "float32"}})
    with pytest.raises(ConfigError, match=r"^model.init_scale=1e\+300: the initial parameters of model.init=normal"):
        stages.initial_state(spec_from_config(config), 12)


@pytest.mark.parametrize("Cs", [[], [[1.0]], [0.0], [-1.0], [float("nan")], [float("inf")]])
def test_logistic_regression_cv_refuses_an_empty_or_invalid_Cs_as_scikit_learn_does(Cs):
    from sklearn.utils._param_validation import InvalidParameterError

    from lr_jax.sklearn import LogisticRegressionCV

    X, y = np.random.default_rng(0).random((12, 3)), np.arange(12) % 2
    with pytest.raises(InvalidParameterError, match=r"^The 'Cs' parameter of LogisticRegressionCV must be an int"):
        LogisticRegressionCV(Cs=Cs).fit(X, y)


def test_early_stopping_without_a_finite_measurement_keeps_the_last_parameters():
    """No validation measurement was finite (nothing to prefer): the last parameters, no IndexError."""
    from types import SimpleNamespace

    from lr_jax import Config
    from lr_jax.pipelines import stages
    from lr_jax.pipelines.spec import spec_from_config

    config = Config.from_dict({"data": {"val_fraction": 0.2}, "train": {"early_stopping": True}})
    last = {"w": np.ones(3), "b": np.zeros(())}
    result = SimpleNamespace(state=SimpleNamespace(params=last), stopped=False)
    tracker = SimpleNamespace(best_params=None, best_step=None, best_value=float("nan"), stopped_at=None)

    assert stages.kept_params(spec_from_config(config), result, tracker) is last
