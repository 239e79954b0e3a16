"""The course's own NumPy implementation (week 2), float64, as the reference lr_jax is checked against.

Used by the tests (costs, gradients, predictions) and the benchmarks (the NumPy loop to beat); plain NumPy,
no JAX, so that it is the course's code and not lr_jax's.

Written as in the course notebook: X is (n_features, m), w is (n_features, 1), b a Python float;
`propagate` is the forward and backward pass, `optimize` plain gradient descent recording the cost
every 100 iterations (before the update), `predict` thresholds A > 0.5.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def propagate(w, b, X, Y):
    """Cost and gradients for X (n, m), Y (1, m): the course's forward and backward pass."""
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) / m
    return {"dw": dw, "db": db}, float(np.squeeze(cost))


def optimize(w, b, X, Y, num_iterations, learning_rate, record_every=100):
    """Gradient descent; returns (w, b, costs at iterations 0, record_every, ...)."""
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
        if i % record_every == 0:
            costs.append(cost)
    return w, b, costs


def predict(w, b, X):
    A = sigmoid(np.dot(w.T, X) + b)
    return (A > 0.5).astype(np.int64).ravel()


def model(X_train, Y_train, num_iterations=2000, learning_rate=0.005, dtype=np.float64):
    """The course's `model` from zeros; X_train (n, m) and Y_train (1, m) are cast to `dtype`."""
    X, Y = X_train.astype(dtype), Y_train.astype(dtype)
    w, b = np.zeros((X.shape[0], 1), dtype), dtype(0.0)
    w, b, costs = optimize(w, b, X, Y, num_iterations, dtype(learning_rate))
    return w, b, costs
