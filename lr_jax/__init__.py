"""lr_jax: logistic regression as the smallest neural network, in pure JAX.

`import lr_jax` is light: it loads the config and the errors; `lr_jax.train_and_evaluate` (which needs
JAX) is imported on first use.
"""

from lr_jax.config import Config
from lr_jax.errors import ConfigError, DataError, LrJaxError
from lr_jax.version import __version__

__all__ = ["Config", "ConfigError", "DataError", "LrJaxError", "__version__", "train_and_evaluate"]


def __getattr__(name: str):
    if name == "train_and_evaluate":
        from lr_jax.pipelines.experiment import train_and_evaluate

        return train_and_evaluate
    raise AttributeError(f"module 'lr_jax' has no attribute {name!r}")
