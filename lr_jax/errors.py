"""The one exception type lr_jax raises for input a user can fix."""


class LrJaxError(Exception):
    """Bad input: the message names the input, what is wrong, and what to do about it."""


class DataError(LrJaxError):
    """A data file or data directory that cannot be used."""


class ConfigError(LrJaxError):
    """A configuration value that is missing, unknown or out of range."""
