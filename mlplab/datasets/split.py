"""Train/validation/test splits (scikit-learn's ``train_test_split``, seeded, stratified)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError


def _is_classes(y) -> bool:
    y = np.asarray(y)
    return y.ndim == 1 and (np.issubdtype(y.dtype, np.integer) or y.dtype == bool or y.dtype == object)


def train_test_split(X, y, test_size: float = 0.25, seed: int | None = 0, stratify: bool | None = None):
    """Split into ``X_train, X_test, y_train, y_test``.

    ``stratify`` (default: True when ``y`` holds integer class labels) keeps class proportions.
    """
    from sklearn.model_selection import train_test_split as sk_split

    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    stratify = _is_classes(y) if stratify is None else stratify
    try:
        return sk_split(X, y, test_size=test_size, random_state=seed,
                        stratify=np.asarray(y) if stratify else None)
    except ValueError as exc:
        raise DataError(f"cannot split: {exc}") from None


def train_val_test_split(X, y, val_size: float = 0.15, test_size: float = 0.15,
                         seed: int | None = 0, stratify: bool | None = None):
    """Three-way split: ``X_train, X_val, X_test, y_train, y_val, y_test``."""
    if not (0 < val_size < 1 and 0 < test_size < 1 and val_size + test_size < 1):
        raise ConfigError("val_size and test_size must be fractions with a sum below 1")
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size, seed, stratify)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, val_size / (1 - test_size), seed, stratify)
    return X_train, X_val, X_test, y_train, y_val, y_test


def validation_split(X, y, val_size: float = 0.2, seed: int | None = 0,
                     stratify: bool | None = None):
    """Hold out a validation set for early stopping: ``X_train, y_train, (X_val, y_val)``.

    Stratified by default for class labels. The last item goes straight into
    ``fit(..., validation_data=...)``::

        X_tr, y_tr, val = validation_split(X, y, 0.25, seed=0)
        net.fit(X_tr, y_tr, validation_data=val, callbacks=[EarlyStopping(patience=50)])
    """
    X_train, X_val, y_train, y_val = train_test_split(X, y, val_size, seed, stratify)
    return X_train, y_train, (X_val, y_val)
