"""The course's own NumPy L-layer network (week 4), float64, as the reference lr_jax's MLP is checked against.

Plain NumPy, no JAX, written as in the course's "Deep Neural Network" notebooks (`dnn_app_utils`): X is
(n_features, m), `W{l}` is (n_l, n_{l-1}), `b{l}` is (n_l, 1); hidden layers use one activation, the output
unit a sigmoid; `L_model_backward` is the hand-derived backward pass, starting from
dAL = -(Y/AL - (1-Y)/(1-AL)) (each column scaled by its example's weight for lr_jax's class weights, which
the course has not). The course writes `relu` and `sigmoid`; `tanh` and `leaky_relu` (slope 0.01, as
`jax.nn.leaky_relu`) are added here in the same form so that every activation of `lr_jax.models.mlp` has a
hand-written backward pass to compare with.

Initialization, the notebooks' draws (NumPy's legacy global generator, here an explicit `RandomState`):
`initialize_parameters` (the 2-layer model) draws `randn(n_h, n_x) * 0.01` then `randn(n_y, n_h) * 0.01`;
`initialize_parameters_deep` draws `randn(n_l, n_{l-1}) / sqrt(n_{l-1})` layer by layer. Biases are zeros.
"""

from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01


def initialize_parameters(n_x, n_h, n_y, seed=1, dtype=np.float64):
    """The 2-layer model's parameters: the course's `initialize_parameters` (np.random.seed(1) in the notebook)."""
    rs = np.random.RandomState(seed)
    W1 = rs.randn(n_h, n_x) * 0.01
    W2 = rs.randn(n_y, n_h) * 0.01
    return {
        "W1": W1.astype(dtype),
        "b1": np.zeros((n_h, 1), dtype),
        "W2": W2.astype(dtype),
        "b2": np.zeros((n_y, 1), dtype),
    }


def initialize_parameters_deep(layer_dims, seed=1, dtype=np.float64):
    """The deep model's parameters: the course's `initialize_parameters_deep` of `dnn_app_utils`."""
    rs = np.random.RandomState(seed)
    parameters = {}
    for layer in range(1, len(layer_dims)):
        W = rs.randn(layer_dims[layer], layer_dims[layer - 1]) / np.sqrt(layer_dims[layer - 1])
        parameters[f"W{layer}"] = W.astype(dtype)
        parameters[f"b{layer}"] = np.zeros((layer_dims[layer], 1), dtype)
    return parameters


def course_parameters(layer_dims, seed=1, dtype=np.float64):
    """The course's init for these layer sizes: the 2-layer draws for one hidden layer, the deep ones otherwise."""
    if len(layer_dims) == 3:
        return initialize_parameters(*layer_dims, seed=seed, dtype=dtype)
    return initialize_parameters_deep(layer_dims, seed=seed, dtype=dtype)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z


def relu(Z):
    return np.maximum(0, Z), Z


def tanh(Z):
    return np.tanh(Z), Z


def leaky_relu(Z):
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z), Z


def sigmoid_backward(dA, cache):
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


def relu_backward(dA, cache):
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    return dZ


def tanh_backward(dA, cache):
    return dA * (1 - np.tanh(cache) ** 2)


def leaky_relu_backward(dA, cache):
    return dA * np.where(cache > 0, 1.0, LEAKY_SLOPE).astype(dA.dtype)


FORWARD = {"sigmoid": sigmoid, "relu": relu, "tanh": tanh, "leaky_relu": leaky_relu}
BACKWARD = {
    "sigmoid": sigmoid_backward,
    "relu": relu_backward,
    "tanh": tanh_backward,
    "leaky_relu": leaky_relu_backward,
}


def linear_activation_forward(A_prev, W, b, activation):
    Z = np.dot(W, A_prev) + b
    A, activation_cache = FORWARD[activation](Z)
    return A, ((A_prev, W, b), activation_cache)


def L_model_forward(X, parameters, activation="relu"):
    """[LINEAR -> activation] * (L-1) -> LINEAR -> SIGMOID; returns (AL, caches)."""
    caches, A, L = [], X, len(parameters) // 2
    for layer in range(1, L):
        A, cache = linear_activation_forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"], activation)
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y, weights=None):
    """The mean cross-entropy; with `weights` (1, m), the weighted mean Σ sᵢLᵢ / Σ sᵢ (not in the course)."""
    if weights is not None:
        return float(np.sum(weights * -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))) / np.sum(weights))
    m = Y.shape[1]
    cost = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
    return float(np.squeeze(cost))


def linear_backward(dZ, cache):
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    return np.dot(W.T, dZ), dW, db


def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    return linear_backward(BACKWARD[activation](dA, activation_cache), linear_cache)


def L_model_backward(AL, Y, caches, activation="relu", weights=None):
    """The hand-derived gradients {dW{l}, db{l}} of the mean cross-entropy; with `weights` (1, m), of the
    weighted mean: example i's dA scaled by m·sᵢ/Σs, since every layer's backward pass divides by m."""
    grads, L = {}, len(caches)
    Y = Y.reshape(AL.shape)
    dA = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    if weights is not None:
        dA = dA * weights * (Y.shape[1] / np.sum(weights))
    dA, grads[f"dW{L}"], grads[f"db{L}"] = linear_activation_backward(dA, caches[L - 1], "sigmoid")
    for layer in reversed(range(L - 1)):
        dA, grads[f"dW{layer + 1}"], grads[f"db{layer + 1}"] = linear_activation_backward(dA, caches[layer], activation)
    return grads


def update_parameters(parameters, grads, learning_rate):
    return {k: v - learning_rate * grads[f"d{k}"] for k, v in parameters.items()}


def L_layer_model(X, Y, parameters, learning_rate=0.0075, num_iterations=2500, activation="relu", record_every=100):
    """The course's training loop from given parameters; returns (parameters, costs every `record_every`)."""
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters, activation)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches, activation)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % record_every == 0:
            costs.append(cost)
    return parameters, costs


def predict(X, parameters, activation="relu"):
    AL, _ = L_model_forward(X, parameters, activation)
    return (AL > 0.5).astype(np.int64).ravel()
