"""Input checks shared by every entry point: each failure is a :class:`DataError` or
:class:`ConfigError` whose message names the problem and its fix."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError, DataError

Array = np.ndarray


def as_float_dtype(dtype: np.dtype) -> np.dtype:
    """Follow the data: float32 stays float32, everything else becomes float64."""
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def check_X(X, n_features: int | None = None, name: str = "X", dtype=None,
            finite: bool = True) -> Array:
    """A 2-D finite float array with samples as rows (``finite=False``: the caller checks
    for NaN/inf itself, with :func:`check_finite`)."""
    try:
        X = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} could not be read as an array ({exc}); pass a 2-D array") from None
    if np.iscomplexobj(X):
        raise DataError(f"{name} is complex; pass real numbers (e.g. X.real or abs(X))")
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"{name} must be numeric, got dtype {X.dtype}; encode text columns first "
                        "(mlplab train --csv does this for you)")
    if X.ndim == 1:
        raise DataError(f"{name} must be 2-D with samples as rows, got shape {X.shape}; "
                        "use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample")
    if X.ndim != 2:
        raise DataError(f"{name} must be 2-D with samples as rows, got {X.ndim}-D shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError(f"{name} is empty (0 samples); pass at least one row")
    if X.shape[1] == 0:
        raise DataError(f"{name} has 0 features; pass at least one column")
    X = X.astype(as_float_dtype(X.dtype) if dtype is None else dtype, copy=False)
    if finite:
        check_finite(X, name)
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{name} has {X.shape[1]} features but the network expects "
                        f"{n_features}; pass data with {n_features} columns")
    return X


def check_finite(X: Array, name: str = "X") -> None:
    """Raise a DataError naming the first row of X that holds NaN or inf."""
    if not np.isfinite(X).all():
        rows = np.unique(np.nonzero(~np.isfinite(X))[0])
        raise DataError(f"{name} contains NaN or inf (row {int(rows[0])}"
                        f"{f' and {len(rows) - 1} more' if len(rows) > 1 else ''}); "
                        "remove or impute those values")


def check_Y(Y, n_samples: int, n_outputs: int, dtype) -> Array:
    """Targets as an ``(m, n_outputs)`` float array.

    A 1-D vector becomes a column when the network has one output; a 1-D vector of integer
    class labels becomes one-hot rows when it has several.
    """
    Y = np.asarray(Y)
    if Y.dtype == object or not (np.issubdtype(Y.dtype, np.number) or Y.dtype == bool):
        raise DataError(f"Y must be numeric, got dtype {Y.dtype}; encode the labels as numbers")
    if Y.ndim >= 1 and Y.shape[0] != n_samples:
        raise DataError(f"X has {n_samples} rows but Y has {Y.shape[0]}; "
                        "they must have one row per sample")
    if Y.ndim == 1:
        if n_outputs == 1:
            Y = Y.reshape(-1, 1)
        elif np.issubdtype(Y.dtype, np.integer) or np.all(np.mod(Y, 1) == 0):
            labels = Y.astype(np.int64)
            if labels.min() < 0 or labels.max() >= n_outputs:
                raise DataError(f"Y holds class labels {labels.min()}..{labels.max()} but the "
                                f"network has {n_outputs} outputs; labels must be 0..{n_outputs - 1}")
            Y = np.eye(n_outputs)[labels]
        else:
            raise DataError(f"Y is 1-D but the network has {n_outputs} outputs; "
                            f"pass Y with shape (m, {n_outputs})")
    if Y.ndim != 2:
        raise DataError(f"Y must be 1-D or 2-D, got shape {Y.shape}")
    if Y.shape[0] != n_samples:
        raise DataError(f"X has {n_samples} rows but Y has {Y.shape[0]}; "
                        "they must have one row per sample")
    if Y.shape[1] != n_outputs:
        raise DataError(f"Y has {Y.shape[1]} columns but the network has {n_outputs} outputs; "
                        "change the last layer size or the targets")
    Y = Y.astype(dtype, copy=False)
    if not np.isfinite(Y).all():
        row = int(np.nonzero(~np.isfinite(Y))[0][0])
        raise DataError(f"Y contains NaN or inf (row {row}); remove or impute those values")
    return Y


def make_rng(seed, name: str = "seed") -> np.random.Generator:
    """A generator from ``seed``: None, a non-negative int, or a Generator (used as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or seed < 0):
        raise ConfigError(f"{name} must be a non-negative integer, None or a "
                          f"numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def check_learning_rate(value) -> float:
    """The lecture's α ∈ (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ConfigError(f"learning rate α must be in (0, 1], got {value!r}; "
                          "try 0.5 for the lecture's gradient descent or 0.001 for Adam")
    return float(value)


def check_epsilon(value) -> float | None:
    """The stopping threshold ε > 0 (None: never stop on small changes)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"epsilon ε must be > 0, got {value!r}; "
                          "use e.g. 1e-6, or None to train for max_epochs")
    return float(value)
