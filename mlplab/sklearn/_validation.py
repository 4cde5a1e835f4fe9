"""scikit-learn's input checks, raising mlplab's error types (the estimators' only)."""

from __future__ import annotations

from ..errors import DataError, DivergenceError


class NonFiniteWeightsError(DivergenceError, ValueError):
    """Training produced NaN or inf weights: scikit-learn's ``ValueError`` for it, and
    mlplab's :class:`~mlplab.errors.DivergenceError` (the last finite weights were kept)."""


def check_fitted(estimator, attributes=None) -> None:
    """scikit-learn's ``check_is_fitted``, raising mlplab's :class:`NotFittedError` (which is
    also scikit-learn's, so code catching either keeps working)."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    from ..errors import NotFittedError

    try:
        check_is_fitted(estimator, attributes)
    except SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from None


def validate_data(estimator, *args, **kwargs):
    """scikit-learn's ``validate_data`` (its messages and checks), with a bad-data
    ``ValueError`` raised as mlplab's :class:`DataError` (still a ``ValueError``)."""
    from sklearn.utils.validation import validate_data as sk_validate_data

    try:
        return sk_validate_data(estimator, *args, **kwargs)
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc)) from None
