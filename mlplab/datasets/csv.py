"""Numeric CSV files for the command line: one target column, the rest features."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError


def read_frame(path: str | Path):
    """Read a CSV with pandas; every failure becomes a :class:`DataError` naming the file."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"CSV file {path} does not exist")
    try:
        frame = pd.read_csv(path, na_values=["?"], skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} could not be read as CSV: {str(exc).splitlines()[0]}") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    return frame


def load_csv(path: str | Path, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features X, target Y (one column) and the feature names, from a numeric CSV."""
    frame = read_frame(path)
    if target not in frame.columns:
        raise DataError(f"{path} has no column {target!r}; its columns are: "
                        f"{', '.join(map(str, frame.columns))}")
    features = [c for c in frame.columns if c != target]
    X = frame[features]
    bad = [c for c in features if not np.issubdtype(X[c].dtype, np.number)]
    if bad:
        raise DataError(f"{path}: column {bad[0]!r} is not numeric; encode it as numbers first")
    if X.isna().any().any():
        col = X.columns[X.isna().any()][0]
        raise DataError(f"{path}: column {col!r} has missing values; fill or drop them first")
    y = frame[target]
    if not np.issubdtype(y.dtype, np.number) or y.isna().any():
        raise DataError(f"{path}: target column {target!r} must be numeric with no missing values")
    return X.to_numpy(np.float64), y.to_numpy(np.float64).reshape(-1, 1), [str(c) for c in features]
