"""Evaluation of trained parameters on every split: one compiled call, then metrics on the host.

The device computes, for each split, the cost J and the probabilities ŷ, and on the training split the
objective actually minimized (weighted, with L2) and ‖∇J‖; `metrics.classification_metrics` turns ŷ (or,
for a softmax model, the class probabilities P f[m, K]) into accuracy, precision, ... in NumPy (the splits
are small next to the training).
"""

from __future__ import annotations

import functools
import operator
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from lr_jax import metrics
from lr_jax.loss import cost
from lr_jax.models.interface import Model
from lr_jax.models.logistic import predict_proba


class Evaluation(NamedTuple):
    metrics: dict[str, dict[str, Any]]  # {split: {"cost", "accuracy", ...}}
    probas: dict[str, np.ndarray]  # {split: ŷ f[m]}, or P f[m, K] of a softmax model
    labels: dict[str, np.ndarray]  # {split: y int[m]}
    train_objective: float  # J + λ/2·‖w‖², weighted as trained
    grad_norm: float  # ‖∇(objective)‖₂ at the final parameters


@functools.partial(jax.jit, static_argnames=("model",))
def _score(params, xs, ys, weight_N, l2, *, model: Model):
    per_split = {
        name: (cost(params, xs[name], ys[name], model=model), predict_proba(params, xs[name], model)) for name in xs
    }
    objective, grads = jax.value_and_grad(cost)(params, xs["train"], ys["train"], weight_N, l2, model)
    return per_split, objective, optax.tree.norm(grads)


@functools.partial(jax.jit, static_argnames=("model",))
def _score_grid(params_C, xs, ys, weight_N, l2, *, model: Model):
    return jax.vmap(lambda params: _score(params, xs, ys, weight_N, l2, model=model))(params_C)


def compile_scores(model: Model, params, xs: dict, ys: dict, *, weight_N=None, l2=0.0, grid: bool = False) -> None:
    """Compile (or load) the program that `evaluate` (`evaluate_grid` with `grid`) runs for arguments like
    these, and run it once: the later call with parameters of the same shapes, dtypes and kind (host or
    device arrays) finds it in jit's cache. `params` only lends its shapes: zeros will do."""
    jax.block_until_ready((_score_grid if grid else _score)(params, xs, ys, weight_N, l2, model=model))


def evaluate_grid(
    model: Model, params_C, xs: dict, ys: dict, *, threshold: float, weight_N=None, l2=0.0, classes=None
) -> list[Evaluation]:
    """`evaluate` of C parameter sets stacked on axis 0 (a sweep's grid), in one compiled, vmapped call."""
    per_split, objective, grad_norm = jax.device_get(_score_grid(params_C, xs, ys, weight_N, l2, model=model))
    return [
        _evaluation(jax.tree.map(operator.itemgetter(i), per_split), ys, threshold, objective[i], grad_norm[i], classes)
        for i in range(len(objective))
    ]


def evaluate(
    model: Model, params, xs: dict, ys: dict, *, threshold: float, weight_N=None, l2=0.0, classes=None
) -> Evaluation:
    """Cost and classification metrics of every split (`xs` holds "train"), in one compiled call. `classes`
    names the K classes of a softmax model (None: "0", "1", ...); the per-class metrics are keyed by them."""
    per_split, objective, grad_norm = jax.device_get(_score(params, xs, ys, weight_N, l2, model=model))
    return _evaluation(per_split, ys, threshold, objective, grad_norm, classes)


@functools.partial(jax.jit, static_argnames=("model",))
def _score_split(params, x, y, *, model: Model):
    return cost(params, x, y, model=model), predict_proba(params, x, model)


def evaluate_split(model: Model, params, x, y, *, threshold: float, classes=None) -> dict[str, Any]:
    """Cost and classification metrics of one split, e.g. the validation split between training chunks."""
    c, proba = jax.device_get(_score_split(params, x, y, model=model))
    return {"cost": float(c), **split_metrics(np.asarray(y), np.asarray(proba), threshold, classes)}


def split_metrics(y_N: np.ndarray, proba: np.ndarray, threshold: float, classes=None) -> dict[str, Any]:
    """The classification metrics of one split: binary ones of ŷ f[m], K-class ones of P f[m, K]."""
    names = classes if classes is not None else [str(k) for k in range(np.shape(proba)[-1])]
    return metrics.classification_metrics(y_N, proba, names, threshold)


def _evaluation(per_split, ys, threshold, objective, grad_norm, classes=None) -> Evaluation:
    # In the splits' own order (train, test, val), not the sorted order of a pytree's dict keys.
    probas = {name: np.asarray(per_split[name][1]) for name in ys}
    labels = {name: np.asarray(y) for name, y in ys.items()}
    scores = {
        name: {"cost": float(per_split[name][0]), **split_metrics(labels[name], probas[name], threshold, classes)}
        for name in ys
    }
    return Evaluation(scores, probas, labels, float(objective), float(grad_norm))
