"""Every config file composes with Hydra and converts to the library's Config; bad values are refused."""

import dataclasses

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lr_jax.config import Config, DataConfig, ModelConfig, OptimConfig, TrainConfig
from lr_jax.errors import ConfigError
from tests.conftest import REPO_ROOT

CONF = REPO_ROOT / "conf"
GROUP_OPTIONS = sorted(
    (group.name, option.stem)
    for group in CONF.iterdir()
    if group.is_dir() and group.name != "hydra"
    for option in group.glob("*.yaml")
)


def compose_config(overrides=()) -> Config:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return Config.from_dict(OmegaConf.to_container(cfg, resolve=True))


def test_default_config_is_the_course_experiment():
    config = compose_config()
    assert config == Config()  # the YAML defaults and the dataclass defaults agree
    assert (config.model.init, config.optim.learning_rate, config.train.num_iterations) == ("zeros", 0.005, 2000)


@pytest.mark.parametrize("group, option", GROUP_OPTIONS, ids=[f"{g}/{o}" for g, o in GROUP_OPTIONS])
def test_every_config_file_composes(group, option):
    if (group, option) == ("hparams_search", "optuna"):  # names Hydra's Optuna sweeper: the test extra has it
        pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install -e '.[optuna]'")
    assert isinstance(compose_config([f"{group}={option}"]), Config)


def test_every_key_in_the_yaml_files_is_commented():
    for path in CONF.rglob("*.yaml"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            is_key = ":" in stripped and not stripped.startswith(("#", "-")) and not stripped.endswith(":")
            assert not is_key or "#" in line, f"{path.relative_to(REPO_ROOT)}: uncommented key: {line!r}"


def test_command_line_overrides_reach_the_config():
    config = compose_config(["optim.learning_rate=0.01", "train.num_iterations=1500"])
    assert (config.optim.learning_rate, config.train.num_iterations) == (0.01, 1500)


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.learning_rate=0", "optim.learning_rate=0.0 is out of range"),
        ("optim.learning_rate=-1", "expected a number > 0"),
        ("train.num_iterations=-5", "train.num_iterations=-5 is out of range"),
        ("train.log_every=0", "train.log_every=0 is out of range"),
        ("train.precision=float16", "one of ('float32', 'float64')"),
        ("model.init=ones", "model.init='ones' is out of range"),
        ("optim.name=adagrad", "optim.name='adagrad' is out of range"),
        ("train.num_iterations=ten", "expected an integer"),
        ("data.verify=maybe", "expected true or false"),
        ("train.early_stopping=true", "false without a validation split; set data.val_fraction"),
        ("train.early_stopping_metric=test_accuracy", "val_<metric> with metric one of"),
        ("train.early_stopping_metric=val_speed", "train.early_stopping_metric='val_speed' is out of range"),
        ("train.early_stopping_patience=0", "an integer >= 1"),
    ],
)
def test_out_of_range_values_are_refused(override, message):
    with pytest.raises(ConfigError) as e:
        compose_config([override])
    assert message in str(e.value)


def test_unknown_keys_are_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"optim: unknown key\(s\) \['lerning_rate'\]") as e:
        Config.from_dict({"optim": {"lerning_rate": 0.1}})
    assert "learning_rate" in str(e.value)


def test_int_is_accepted_where_a_float_is_expected():
    assert Config.from_dict({"optim": {"learning_rate": 1}}).optim.learning_rate == 1.0


def test_to_dict_round_trips():
    config = compose_config(["train.seed=7"])
    assert Config.from_dict(config.to_dict()) == config


OPTIMIZERS = sorted(p.stem for p in (REPO_ROOT / "conf" / "optim").glob("*.yaml"))


@pytest.mark.parametrize("optim", OPTIMIZERS)
def test_every_optimizer_file_composes_and_validates(optim):
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"optim={optim}",
                "model.class_weight=balanced",
                "train.tol=1e-6",
                "train.max_iterations=50",
                "data.val_fraction=0.2",
            ],
        )
    config = Config.from_dict(OmegaConf.to_container(cfg, resolve=True))
    assert config.optim.name == optim and config.train.iteration_limit == 50
    assert config.model.class_weight == "balanced" and config.data.val_fraction == 0.2


def test_iteration_limit_defaults_to_the_course_count():
    assert Config.from_dict({"train": {"num_iterations": 77}}).train.iteration_limit == 77
    assert Config.from_dict({"train": {"batch_size": 32}}).train.batch_size == 32


@pytest.mark.parametrize(
    "section, key, value, fragment",
    [
        ("optim", "name", "rmsprop", "one of ['adam', 'lbfgs', 'sgd']"),
        ("optim", "momentum", 1.0, "0 <= momentum < 1"),
        ("optim", "schedule", "step", "one of ['constant', 'cosine', 'exponential']"),
        ("optim", "decay_rate", 0.0, "0 < decay_rate <= 1"),
        ("model", "l2", -1.0, "a number >= 0"),
        ("model", "class_weight", "auto", "null or 'balanced'"),
        ("train", "batch_size", 0, "null (full batch) or an integer >= 1"),
        ("train", "batch_size", "64", "expected an integer"),
        ("train", "tol", -1e-3, "a number >= 0"),
        ("train", "max_iterations", -1, "null (= train.num_iterations)"),
        ("data", "val_fraction", 1.0, "0 <= val_fraction < 1"),
    ],
)
def test_bad_values_are_named(section, key, value, fragment):
    with pytest.raises(ConfigError, match=f"{section}.{key}") as info:
        Config.from_dict({section: {key: value}})
    assert fragment in str(info.value)


def test_lbfgs_refuses_minibatches():
    with pytest.raises(ConfigError, match="train.batch_size=32.*optim=lbfgs"):
        Config.from_dict({"optim": {"name": "lbfgs"}, "train": {"batch_size": 32}})


# Group options whose YAML value is meant to differ from the dataclass default. `name` is each option's identity
# (checked against the file name instead); adam's 0.001 is Adam's customary step size, not the course's 0.005.
DELIBERATE = {
    ("optim/adam", "name"),
    ("optim/adam", "learning_rate"),
    ("optim/lbfgs", "name"),
    ("data/digits", "name"),
    ("data/image_folder", "name"),
    ("data/synthetic", "name"),
    ("model/mlp", "name"),
    ("model/mlp", "hidden"),  # the course's deep network; the dataclass default [] is logistic regression
    ("model/mlp", "init"),  # he for ReLU networks; the dataclass default zeros suits hidden=[] only
}
SECTIONS = {"optim": OptimConfig, "model": ModelConfig, "train": TrainConfig, "data": DataConfig}
DEFAULT_FILES = sorted(f"{group}/{path.stem}" for group in SECTIONS for path in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("option", DEFAULT_FILES)
def test_yaml_values_are_the_dataclass_defaults_except_the_deliberate_ones(option):
    """One home per default: a YAML key repeats config.py's default, or is listed in DELIBERATE."""
    group = option.split("/")[0]
    defaults = {f.name: f.default for f in dataclasses.fields(SECTIONS[group])}
    yaml = OmegaConf.to_container(OmegaConf.load(CONF / f"{option}.yaml"))
    assert yaml, f"{option}.yaml sets nothing"
    for key, value in yaml.items():
        assert key in defaults, f"{option}.yaml: {key} is not a field of {SECTIONS[group].__name__}"
        value = tuple(value) if isinstance(value, list) else value
        if (option, key) in DELIBERATE:
            assert value != defaults[key], f"{option}.yaml: {key} is listed as deliberate but equals the default"
        else:
            assert value == defaults[key], f"{option}.yaml: {key}={value!r}, config.py's default is {defaults[key]!r}"
    if "name" in yaml:
        assert yaml["name"] == option.split("/")[1]
