"""lr_jax: logistic regression as the smallest neural network, in pure JAX."""

from lr_jax.config import Config
from lr_jax.errors import ConfigError, DataError, LrJaxError
from lr_jax.experiment import train_and_evaluate

__all__ = ["Config", "ConfigError", "DataError", "LrJaxError", "train_and_evaluate"]
__version__ = "0.1.0"
