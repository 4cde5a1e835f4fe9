"""Input checks shared by every entry point: each failure is a :class:`DataError` or
:class:`ConfigError` whose message names the problem and its fix."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError, DataError
from .xp import is_array_api_obj, place, to_numpy

Array = np.ndarray


def as_float_dtype(dtype: np.dtype) -> np.dtype:
    """Follow the data: float32 stays float32, everything else becomes float64."""
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def check_X(X, n_features=None, name: str = "X", dtype=None, finite: bool = True,
            where=None) -> Array:
    """A finite float array with one sample per row, on ``where`` (a
    :class:`~mlplab.core.xp.Place`; NumPy by default).

    ``n_features`` is the width of a sample (an int: ``X`` is ``(m, n)``) or its shape (a tuple:
    ``(m, channels, height, width)`` for ``(channels, height, width)``). ``finite=False``: the
    caller checks for NaN/inf itself, with :func:`check_finite`.
    """
    if where is not None and not where.is_numpy and is_array_api_obj(X) and place(X) == where:
        return _check_on_device(X, n_features, name, dtype, finite, where)
    if is_array_api_obj(X) and not isinstance(X, np.ndarray):
        X = to_numpy(X)
    try:
        X = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} could not be read as an array ({exc}); pass a 2-D array") from None
    if np.iscomplexobj(X):
        raise DataError(f"{name} is complex; pass real numbers (e.g. X.real or abs(X))")
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"{name} must be numeric, got dtype {X.dtype}; encode text columns first "
                        "(mlplab train --csv does this for you)")
    _check_shape(X.shape, n_features, name)
    X = X.astype(as_float_dtype(X.dtype) if dtype is None else dtype, copy=False)
    if finite:
        check_finite(X, name)
    return X if where is None or where.is_numpy else where.asarray(X)


def _check_shape(shape: tuple, n_features, name: str) -> None:
    sample = (n_features,) if isinstance(n_features, numbers.Integral) else n_features
    if sample is not None and len(sample) > 1:  # images, sequences: (m, *sample)
        if tuple(shape[1:]) != tuple(sample):
            one = (f"; for one sample add the batch axis: {name}[None]"
                   if tuple(shape) == tuple(sample) else "")
            raise DataError(f"{name} has samples of shape {tuple(shape[1:])} (array shape "
                            f"{tuple(shape)}) but the network takes {tuple(sample)}; reshape "
                            f"it to (m, {', '.join(map(str, sample))}){one}")
        if shape[0] == 0:
            raise DataError(f"{name} is empty (0 samples); pass at least one")
        return
    if len(shape) == 1:
        raise DataError(f"{name} must be 2-D with samples as rows, got shape {tuple(shape)}; "
                        "use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample")
    if len(shape) != 2:
        raise DataError(f"{name} must be 2-D with samples as rows, got {len(shape)}-D shape "
                        f"{tuple(shape)}")
    if shape[0] == 0:
        raise DataError(f"{name} is empty (0 samples); pass at least one row")
    if shape[1] == 0:
        raise DataError(f"{name} has 0 features; pass at least one column")
    if sample is not None and shape[1] != sample[0]:
        raise DataError(f"{name} has {shape[1]} features but the network expects "
                        f"{sample[0]}; pass data with {sample[0]} columns")


def _check_on_device(X, n_features, name: str, dtype, finite: bool, where) -> Array:
    """The same checks for an array already on a non-NumPy device (one sync, for finiteness)."""
    xp = where.xp
    _check_shape(tuple(X.shape), n_features, name)
    if not xp.isdtype(X.dtype, "real floating"):
        X = xp.astype(X, where.dtype("float64"))
    if dtype is not None:
        X = xp.astype(X, where.dtype(dtype))
    if finite and not bool(xp.all(xp.isfinite(X))):
        check_finite(to_numpy(X), name)
    return X


SUM_FIRST = 1 << 18  # values from which the finiteness check sums first (below, the
# element-wise check is faster: its temporary is small and in cache)


def check_finite(X: Array, name: str = "X") -> None:
    """Raise a DataError naming the first row of X that holds NaN or inf."""
    if X.size >= SUM_FIRST:  # a finite sum: no NaN or inf (one pass and no temporary the
        with np.errstate(over="ignore", invalid="ignore"):  # size of X: scikit-learn's check)
            if np.isfinite(np.sum(X)):  # else, or where large values overflow it, look at
                return  # each value
    if not np.isfinite(X).all():
        rows = np.unique(np.nonzero(~np.isfinite(X.reshape(len(X), -1)))[0])
        raise DataError(f"{name} contains NaN or inf (row {int(rows[0])}"
                        f"{f' and {len(rows) - 1} more' if len(rows) > 1 else ''}); "
                        "remove or impute those values")


def check_Y(Y, n_samples: int, n_outputs, dtype, where=None) -> Array:
    """Targets as an ``(m, n_outputs)`` float array on ``where`` (NumPy by default).

    A 1-D vector becomes a column when the network has one output; a 1-D vector of integer
    class labels becomes one-hot rows when it has several. ``n_outputs`` may be the shape of one
    sample's output (a tuple, e.g. ``(time, features)`` for a network that outputs sequences).
    """
    if not isinstance(n_outputs, numbers.Integral):  # a shape
        if len(n_outputs) == 1:
            n_outputs = n_outputs[0]
        else:
            return _check_Y_shaped(Y, n_samples, tuple(n_outputs), dtype, where)
    Y = to_numpy(Y)
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
    return _finite_Y(Y.astype(dtype, copy=False), where)


def _check_Y_shaped(Y, n_samples: int, shape: tuple, dtype, where) -> Array:
    Y = to_numpy(Y)
    if Y.dtype == object or not (np.issubdtype(Y.dtype, np.number) or Y.dtype == bool):
        raise DataError(f"Y must be numeric, got dtype {Y.dtype}; encode the labels as numbers")
    k = shape[-1]
    if Y.shape == (n_samples, *shape[:-1]) and k > 1 and np.all(np.mod(Y, 1) == 0):
        if Y.min() < 0 or Y.max() >= k:  # class labels per step (a sequence's), e.g. (m, T)
            raise DataError(f"Y holds class labels {Y.min():g}..{Y.max():g} but the network "
                            f"has {k} outputs per step; labels must be 0..{k - 1}")
        Y = np.eye(k)[Y.astype(np.int64)]
    if Y.shape != (n_samples, *shape):
        raise DataError(f"Y has shape {Y.shape} but the network's outputs for {n_samples} "
                        f"samples have shape {(n_samples, *shape)}")
    return _finite_Y(Y.astype(dtype, copy=False), where)


def _finite_Y(Y: np.ndarray, where) -> Array:
    if not np.isfinite(Y).all():
        row = int(np.nonzero(~np.isfinite(Y.reshape(len(Y), -1)))[0][0])
        raise DataError(f"Y contains NaN or inf (row {row}); remove or impute those values")
    return Y if where is None or where.is_numpy else where.asarray(Y)


MAX_SEED = 2**32 - 1  # what NumPy's RandomState and scikit-learn's random_state take


def check_seed(seed, name: str = "seed", high: int = MAX_SEED) -> int:
    """``seed`` if it is a whole number from 0 to ``high`` (NumPy integers too), else a
    ConfigError naming ``name`` (an option's, e.g. ``--seed``)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed <= high:
        raise ConfigError(f"{name} must be a whole number from 0 to {high}, got {seed!r}")
    return int(seed)


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
