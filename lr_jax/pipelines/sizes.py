"""The memory a run needs, estimated from its config before anything is allocated, and refused up front when
it exceeds the memory available (`data.num_features=1e12`, `model.hidden=[1000000000]`,
`optim.memory_size=100000000` would otherwise end in an allocation error, or in the kernel's OOM killer).

The estimate is a lower bound, in bytes: the data as stored (uint8 features), the parameters, their
gradient and the optimizer's slots in the run's precision, and the MLP's activations of every training
example (forward and backward). The refusal names the config key of the largest part.
"""

from __future__ import annotations

from lr_jax.config import Config
from lr_jax.data.image_folder import available_memory
from lr_jax.errors import ConfigError

DIGITS_FEATURES = 64  # data=digits: 8x8 pixels


def n_features(config: Config) -> int:
    """Inputs per example: data.num_features for synthetic data, 64 for the digits, image_size²·3 for images."""
    d = config.data
    if d.name == "digits":
        return DIGITS_FEATURES
    return d.num_features if d.name == "synthetic" else d.image_size * d.image_size * 3


def parts(config: Config) -> dict[str, int]:
    """{config key: bytes} of the run's largest allocations (see the module docstring)."""
    d, m, o = config.data, config.model, config.optim
    n, value = n_features(config), 8 if config.train.precision == "float64" else 4
    examples = d.num_examples + d.num_test if d.name == "synthetic" else 0  # images: checked by their loader
    widths = [n, *m.hidden, m.num_outputs]  # one output unit, or K softmax units
    params = sum(a * b + b for a, b in zip(widths, widths[1:]))
    slots = {"sgd": 1 if o.momentum else 0, "adam": 2, "lbfgs": 2 * o.memory_size + 2}[o.name]
    activations = 2 * d.num_examples * sum(m.hidden) * value if d.name == "synthetic" else 0
    return {
        "data.num_features": examples * n,
        "model.hidden" if m.hidden else "data.num_features (the weights)": 2 * params * value,
        "optim.memory_size" if o.name == "lbfgs" else "optim.name (its state)": slots * params * value,
        "model.hidden (activations)": activations,
    }


def check_memory(config: Config, free: int | None = None) -> None:
    """Refuse a config whose estimated memory exceeds what is available (unknown: nothing refused)."""
    free = available_memory() if free is None else free
    need = parts(config)
    total = sum(need.values())
    if free is None or total <= free:
        return
    key = max(need, key=lambda k: need[k]).split(" ")[0]
    section, _, name = key.partition(".")
    value = getattr(getattr(config, section), name)
    shown = ", ".join(f"{k} {_size(v)}" for k, v in need.items() if v)
    raise ConfigError(
        f"{key}={list(value) if isinstance(value, tuple) else value}: this run needs at least {_size(total)} of "
        f"memory ({shown}), more than the {_size(free)} available. Use a smaller {key}."
    )


def _size(n: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"
