"""Evaluation of every split in one compiled call: the numbers of each split, in the splits' own order."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lr_jax import evaluate, loss, metrics
from lr_jax.models import logistic as model


def test_every_split_in_its_own_order_with_its_cost_and_metrics(rng):
    params = {"w": jnp.asarray(rng.normal(size=6), jnp.float32), "b": jnp.asarray(0.1, jnp.float32)}
    xs = {
        name: jnp.asarray(rng.integers(0, 256, (m, 6), dtype=np.uint8))
        for name, m in [("train", 20), ("test", 8), ("val", 5)]
    }
    ys = {name: jnp.asarray(rng.integers(0, 2, x.shape[0]), jnp.int32) for name, x in xs.items()}
    result = evaluate.evaluate(model.LOGISTIC, params, xs, ys, threshold=0.5)
    assert list(result.metrics) == ["train", "test", "val"]  # the table's columns and metrics.json's order
    assert metrics.format_table(result.metrics).splitlines()[0].split() == ["metric", "train", "test", "val"]
    for name in xs:
        # Same float32 operations in another program (one fused call per split vs one for all): within a
        # few ulps of a cost near 1.
        np.testing.assert_allclose(
            result.metrics[name]["cost"], float(loss.cost(params, xs[name], ys[name])), rtol=1e-6
        )
        proba = np.asarray(model.predict_proba(params, xs[name]))
        np.testing.assert_allclose(result.probas[name], proba, rtol=1e-6)
        assert result.metrics[name]["accuracy"] == np.mean((proba > 0.5) == np.asarray(ys[name]))
