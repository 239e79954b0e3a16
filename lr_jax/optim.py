"""The optimizers: the one place that turns `optim.*` of the config into an optax transformation.

The optimizer has a static part (`OptimSpec`: its name, Nesterov, the schedule's shape, L-BFGS's memory;
changing it recompiles) and traced hyperparameters (`HParams`: learning rate, momentum, Adam's b1/b2, the
L2 strength λ and the stopping tolerance, as arrays of one dtype, so a new value reuses the compiled
program). Both are built by keyword from the config; their defaults are `OptimConfig`'s, nowhere else.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lr_jax.config import Config, OptimConfig
from lr_jax.errors import ConfigError

HParams = dict  # {"learning_rate", "momentum", "b1", "b2", "l2", "tol"}: Array[] each, one dtype
_DEFAULTS = OptimConfig()


class OptimSpec(NamedTuple):
    """The static part of the optimizer (changing it recompiles); the numbers in `HParams` do not."""

    name: str  # sgd | adam | lbfgs
    nesterov: bool  # sgd: Nesterov momentum
    schedule: str  # constant | exponential | cosine (multiplies the learning rate)
    decay_steps: int  # exponential: updates per decay by decay_rate; cosine: updates to the end
    decay_rate: float  # exponential
    final_fraction: float  # cosine: the learning rate ends at final_fraction * learning_rate
    memory_size: int  # lbfgs: (s, y) pairs kept


def spec(cfg: OptimConfig = _DEFAULTS, **changes) -> OptimSpec:
    """The static part of `cfg` (with `changes`, e.g. `spec(name="adam")`)."""
    cfg = dataclasses.replace(cfg, **changes) if changes else cfg
    return OptimSpec(**{field: getattr(cfg, field) for field in OptimSpec._fields})


def as_spec(optim: str | OptimSpec) -> OptimSpec:
    """`spec(name=optim)` for a bare optimizer name."""
    return spec(name=optim) if isinstance(optim, str) else optim


def make_hparams(
    learning_rate: float = _DEFAULTS.learning_rate,
    dtype=jnp.float32,
    *,
    momentum: float = _DEFAULTS.momentum,
    b1: float = _DEFAULTS.b1,
    b2: float = _DEFAULTS.b2,
    l2: float = 0.0,
    tol: float = 0.0,
) -> HParams:
    """Hyperparameters as arrays of a fixed dtype, so that new values do not recompile."""
    values = dict(learning_rate=learning_rate, momentum=momentum, b1=b1, b2=b2, l2=l2, tol=tol)
    # Converted by NumPy, then copied to the device: jnp.asarray would compile a conversion of its own.
    return {name: jax.device_put(np.asarray(value, dtype)) for name, value in values.items()}


def config_hparams(config: Config, dtype) -> HParams:
    """The traced hyperparameters of `config` (values that may change without a recompile); a value beyond
    the range of `dtype` (it would turn into inf) is refused naming its key."""
    t = config.train
    return section_hparams(config.optim, dtype, l2=config.model.l2, tol=t.tol, precision=t.precision)


def section_hparams(o: OptimConfig, dtype, *, l2: float, tol: float, precision: str) -> HParams:
    """`config_hparams` from the sections that hold them: `optim`, model.l2, train.tol (train.precision named
    in the refusal)."""
    largest = float(np.finfo(dtype).max)
    for key, value in (("optim.learning_rate", o.learning_rate), ("model.l2", l2)):
        if abs(value) > largest:
            raise ConfigError(
                f"{key}={value!r} is beyond the largest {np.dtype(dtype).name} ({largest:.4g}) of "
                f"train.precision={precision}, where it would be infinite. Use a smaller {key}."
            )
    return make_hparams(o.learning_rate, dtype, momentum=o.momentum, b1=o.b1, b2=o.b2, l2=l2, tol=tol)


def make_schedule(spec: OptimSpec, learning_rate: jax.Array) -> optax.ScalarOrSchedule:
    """The learning rate, constant or times an optax schedule of the update count (built static)."""
    if spec.schedule == "constant":
        return learning_rate
    if spec.schedule == "exponential":
        unit = optax.schedules.exponential_decay(1.0, spec.decay_steps, spec.decay_rate)
    elif spec.schedule == "cosine":
        unit = optax.schedules.cosine_decay_schedule(1.0, spec.decay_steps, spec.final_fraction)
    else:
        raise ValueError(f"unknown schedule {spec.schedule!r}")
    return lambda count: learning_rate * unit(count)


def make_optimizer(optim: str | OptimSpec, hparams: HParams) -> optax.GradientTransformation:
    """The optax transformation named in the config, built from (possibly traced) hyperparameters."""
    spec = as_spec(optim)
    if spec.name == "lbfgs":  # step size from optax's zoom line search; learning_rate is not used
        return optax.lbfgs(memory_size=spec.memory_size)
    learning_rate = make_schedule(spec, hparams["learning_rate"])
    if spec.name == "sgd":
        return optax.sgd(learning_rate, momentum=hparams["momentum"], nesterov=spec.nesterov)
    if spec.name == "adam":
        return optax.adam(learning_rate, b1=hparams["b1"], b2=hparams["b2"])
    raise ValueError(f"unknown optimizer {spec.name!r}")
