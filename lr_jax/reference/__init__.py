"""The course's own NumPy code, kept as the oracle that tests and benchmarks compare lr_jax with.

    logistic.py  week 2: logistic regression, the hand-derived backward pass dw = X^T (A - Y) / m
    deep.py      week 4: the L-layer network, its initialization and backward pass

Plain NumPy in float64, as in the course; nothing in the training path imports it.
"""
