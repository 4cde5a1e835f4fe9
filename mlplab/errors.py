"""The exceptions users catch.

Every error mlplab raises on purpose is an :class:`MlplabError`; its message names the
offending thing and says how to fix it. The CLI prints ``str(error)`` on one line and exits
with code 2. Each type also derives from the matching built-in (``ValueError``, ``OSError``,
...) so code written against scikit-learn's conventions keeps working.
"""

from __future__ import annotations


class MlplabError(Exception):
    """Base class of every error mlplab raises on purpose."""


class ConfigError(MlplabError, ValueError):
    """A parameter is invalid: unknown name, value out of range, impossible combination."""


class DataError(MlplabError, ValueError):
    """The data is unusable: wrong shape, NaN/inf, empty, mismatched rows or columns."""


class ModelFileError(MlplabError, OSError):
    """A model file cannot be read or is not a valid mlplab model."""


class DivergenceError(MlplabError, ArithmeticError):
    """Training produced NaN or inf; the weights were restored to the last finite state."""


def __getattr__(name: str):
    # NotFittedError derives from scikit-learn's, which is imported only when the name is first
    # used: the CLI and the core never pay scikit-learn's import time (~0.9 s)
    if name != "NotFittedError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(MlplabError, SklearnNotFittedError):
        """An estimator was used before it was trained (also scikit-learn's NotFittedError)."""

    NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"
    globals()["NotFittedError"] = NotFittedError
    return NotFittedError


__all__ = [
    "MlplabError",
    "ConfigError",
    "DataError",
    "ModelFileError",
    "DivergenceError",
    "NotFittedError",
]
