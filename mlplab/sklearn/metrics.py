"""Metrics: scikit-learn's, made to accept what a :class:`~mlplab.Network` produces.

Every function takes ``(y_true, y_pred)``; each side may be

- class labels ``(m,)``, or a one-column ``(m, 1)`` array of 0/1 labels (``net.predict`` of a
  sigmoid network, the Y of a truth table);
- one-hot rows or softmax probabilities ``(m, k)``, k ≥ 2: read as ``argmax`` per row;
- one-column sigmoid probabilities ``(m, 1)`` (``net.predict_proba``): read as ``p > 0.5``.

The arithmetic is scikit-learn's (``sklearn.metrics``); this module only converts shapes and
turns scikit-learn's ``ValueError`` into a :class:`~mlplab.errors.DataError` naming the fix.
:func:`evaluate` computes them all for a network and a data set.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError

Array = np.ndarray


def _as_2d(y, name: str) -> Array:
    y = np.asarray(y)
    if y.ndim == 0 or y.ndim > 2 or len(y) == 0:
        raise DataError(f"{name} must be a non-empty (m,) or (m, k) array, got shape {y.shape}")
    if y.dtype == object or not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise DataError(f"{name} must be numeric, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise DataError(f"{name} contains NaN or inf")
    return y.reshape(-1, 1) if y.ndim == 1 else y


def labels(y, name: str = "y") -> Array:
    """Class labels ``(m,)`` from labels, one-hot rows, or probabilities (see the module doc)."""
    y = _as_2d(y, name)
    if y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y[:, 0]
    if np.issubdtype(y.dtype, np.floating) and np.any(y != np.round(y)):
        if np.any((y < 0) | (y > 1)):
            raise DataError(f"{name} holds non-integer values outside [0, 1]: neither labels nor "
                            "probabilities; for regression outputs use mse or r2")
        return (y > 0.5).astype(np.int64)  # sigmoid probabilities
    return y.astype(np.int64)


def _pair(y_true, y_pred) -> tuple[Array, Array]:
    t, p = labels(y_true, "y_true"), labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise DataError(f"y_true has {len(t)} samples but y_pred has {len(p)}")
    return t, p


def _values(y_true, y_pred) -> tuple[Array, Array]:
    t, p = _as_2d(y_true, "y_true").astype(float), _as_2d(y_pred, "y_pred").astype(float)
    if t.shape != p.shape:
        raise DataError(f"y_true has shape {t.shape} but y_pred has {p.shape}; they must match")
    return t, p


def _average(t: Array, p: Array, average: str | None) -> str:
    if average is not None:
        if average not in ("binary", "micro", "macro", "weighted"):
            raise ConfigError(f"average must be binary, micro, macro or weighted, got {average!r}")
        return average
    return "binary" if set(np.unique(t)) | set(np.unique(p)) <= {0, 1} else "macro"


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples classified right (``sklearn.metrics.accuracy_score``)."""
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(*_pair(y_true, y_pred)))


def precision(y_true, y_pred, average: str | None = None) -> float:
    """TP / (TP + FP): of the samples called positive, how many are.

    ``average``: scikit-learn's (``binary`` for 0/1 labels by default, else ``macro``).
    """
    from sklearn.metrics import precision_score

    t, p = _pair(y_true, y_pred)
    return float(precision_score(t, p, average=_average(t, p, average), zero_division=0))


def recall(y_true, y_pred, average: str | None = None) -> float:
    """TP / (TP + FN): of the positive samples, how many were found."""
    from sklearn.metrics import recall_score

    t, p = _pair(y_true, y_pred)
    return float(recall_score(t, p, average=_average(t, p, average), zero_division=0))


def f1(y_true, y_pred, average: str | None = None) -> float:
    """The harmonic mean of precision and recall, ``2PR / (P + R)``."""
    from sklearn.metrics import f1_score

    t, p = _pair(y_true, y_pred)
    return float(f1_score(t, p, average=_average(t, p, average), zero_division=0))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> Array:
    """``C[i, j]``: samples of true class i predicted as class j (rows: truth)."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    t, p = _pair(y_true, y_pred)
    top = int(max(t.max(), p.max()))
    k = n_classes if n_classes is not None else top + 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= top:
        raise DataError(f"n_classes={n_classes!r} but the labels go up to {top}; pass "
                        f"n_classes ≥ {top + 1} or leave it out")
    return sk_confusion(t, p, labels=np.arange(k))


def mse(y_true, y_pred) -> float:
    """Mean squared error over all entries, ``mean((y − ŷ)²)`` (scikit-learn's definition;
    the lecture's cost ``½‖a − y‖²`` per sample is ``n_outputs / 2`` times this)."""
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(*_values(y_true, y_pred)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination ``1 − SS_res / SS_tot`` (1 is perfect, 0 is the mean)."""
    from sklearn.metrics import r2_score

    t, p = _values(y_true, y_pred)
    if len(t) < 2:
        raise DataError("r2 needs at least 2 samples")
    return float(r2_score(t, p))


def evaluate(net, X, Y) -> dict:
    """Every applicable metric of ``net`` on ``(X, Y)``.

    Classifiers (sigmoid, softmax or step output): accuracy, precision, recall, f1 and the
    confusion matrix (as nested lists). Other outputs: mse and r2.
    """
    X, Y = net.check_XY(X, Y)
    if net.output in ("sigmoid", "softmax", "step"):
        pred = net.predict(X)
        if pred.ndim == 2 and pred.shape[1] > 1:
            raise DataError("evaluate handles one sigmoid output or one softmax; this network "
                            f"has {pred.shape[1]} independent sigmoid outputs")
        return {"accuracy": accuracy(Y, pred), "precision": precision(Y, pred),
                "recall": recall(Y, pred), "f1": f1(Y, pred),
                "confusion_matrix": confusion_matrix(Y, pred, max(2, net.n_outputs)).tolist()}
    pred = net.predict(X)
    return {"mse": mse(Y, pred), "r2": r2(Y, pred)}


__all__ = ["accuracy", "precision", "recall", "f1", "confusion_matrix", "mse", "r2",
           "evaluate", "labels"]
