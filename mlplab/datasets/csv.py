"""CSV files for the command line.

:func:`load_csv` reads a numeric CSV as it is (the positional ``mlplab train FILE --target``);
:func:`train_csv` / :func:`predict_csv` handle any table (``mlplab train --csv``): column kinds
inferred, text one-hot encoded, missing values imputed, numbers standardized, the encoding
saved with the model as JSON (see :mod:`mlplab.preprocessing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError,
            ValueError, OverflowError) as exc:
        raise DataError(f"{path} could not be read as CSV: {str(exc).splitlines()[0]}") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path} has a header but no data rows")
    return frame


def load_csv(path: str | Path, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features X, target Y (one column) and the feature names, from a numeric CSV."""
    import pandas as pd

    frame = read_frame(path)
    if target not in frame.columns:
        raise DataError(f"{path} has no column {target!r}; its columns are: "
                        f"{', '.join(map(str, frame.columns))}")
    from pandas.api.types import is_numeric_dtype

    features = [c for c in frame.columns if c != target]
    if not features:
        raise DataError(f"{path} has only the target column {target!r}; it needs at least one "
                        "feature column")
    X = frame[features]
    bad = [c for c in features if not is_numeric_dtype(X[c].dtype)]
    if bad:
        raise DataError(f"{path}: column {bad[0]!r} is not numeric; encode it as numbers first")
    if X.isna().any().any():
        col = X.columns[X.isna().any()][0]
        raise DataError(f"{path}: column {col!r} has missing values; fill or drop them first")
    y = frame[target]
    if isinstance(y, pd.DataFrame):
        raise DataError(f"{path} has several columns named {target!r}; rename them")
    if not is_numeric_dtype(y.dtype) or y.isna().any():
        raise DataError(f"{path}: target column {target!r} must be numeric with no missing values")
    X, Y = X.to_numpy(np.float64), y.to_numpy(np.float64).reshape(-1, 1)
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise DataError(f"{path} contains inf or a number too large for float64; "
                        "remove or clip those values")
    return X, Y, [str(c) for c in features]


# ---------------------------------------------------------------- any CSV: train and predict
@dataclass
class CsvRun:
    """What :func:`train_csv` or :func:`predict_csv` did.

    Attributes
    ----------
    estimator : MLPClassifier or MLPRegressor (train only)
    net : the trained :class:`mlplab.Network`
    encoder, target : the fitted :class:`~mlplab.preprocessing.TabularEncoder` and
        :class:`~mlplab.preprocessing.TargetEncoder`
    predictions : (m,) array of labels or numbers for the rows scored
    report : str
        A classification report or regression metrics; "" when there was no target to score.
    metrics : dict
        ``accuracy`` (classification) or ``r2``, ``mae``, ``rmse`` (regression).
    n_train, n_test : int
    """

    net: object
    encoder: object
    target: object
    predictions: np.ndarray
    report: str = ""
    metrics: dict = field(default_factory=dict)
    estimator: object = None
    n_train: int = 0
    n_test: int = 0

    def extra(self) -> dict:
        """The JSON stored in the model file beside the weights."""
        return {"tabular": {"encoder": self.encoder.to_dict(), "target": self.target.to_dict(),
                            "metrics": self.metrics}}


def _read_table(path, target: str):
    """The CSV as a frame, checked to be a table holding the ``target`` column."""
    frame = read_frame(path)
    if frame.shape[1] < 2:
        raise DataError(f"{path} does not look like a CSV table: its first line has "
                        f"{frame.shape[1]} column; expected a header of comma-separated names "
                        "and at least two columns (features and a target)")
    if target not in frame.columns:
        raise DataError(f"{path} has no column {target!r}; its columns are: "
                        f"{', '.join(map(str, frame.columns))}")
    return frame


def _score(target, truth, labels_or_values) -> tuple[str, dict]:
    from sklearn import metrics as m

    if target.task == "classification":
        truth = np.array([str(v) for v in truth])
        pred = np.array([str(v) for v in labels_or_values])
        report = m.classification_report(truth, pred, zero_division=0)
        return report, {"accuracy": float(m.accuracy_score(truth, pred))}
    truth = np.asarray(truth, dtype=float)
    r = {"r2": float(m.r2_score(truth, labels_or_values)),
         "mae": float(m.mean_absolute_error(truth, labels_or_values)),
         "rmse": float(np.sqrt(m.mean_squared_error(truth, labels_or_values)))}
    return "  ".join(f"{k.upper() if k != 'r2' else 'R²'} {v:.4g}" for k, v in r.items()), r


def _decode(net, target, X) -> np.ndarray:
    """Labels (classification) or numbers in the target's units (regression)."""
    A = net.forward(X)
    if target.task == "regression":
        return A[:, 0] * target.std + target.mean
    classes = np.array(target.classes, dtype=object)
    idx = A.argmax(axis=1) if A.shape[1] > 1 else (A[:, 0] > 0.5).astype(int)
    return classes[idx]


def train_csv(path: str | Path, target: str, *, hidden=(16,), task: str = "auto",
              test_size: float = 0.2, seed: int = 0, **estimator_params) -> CsvRun:
    """Train an MLP on any CSV: infer column kinds, encode, hold out ``test_size``, score.

    Numeric columns are median-imputed and standardized, text columns most-frequent-imputed
    and one-hot encoded (see :mod:`mlplab.preprocessing`); the encoder is fitted on the
    training rows only. ``estimator_params`` go to :class:`mlplab.MLPClassifier` or
    :class:`mlplab.MLPRegressor` (e.g. ``activation``, ``solver``, ``learning_rate_init``,
    ``max_iter``, ``alpha``).
    """
    from sklearn.model_selection import train_test_split

    from ..sklearn import MLPClassifier, MLPRegressor
    from .preprocessing import TabularEncoder, TargetEncoder

    frame = _read_table(path, target)
    if not 0 < test_size < 1:
        raise DataError(f"test size must be in (0, 1), got {test_size!r}")
    y_enc = TargetEncoder(target, task).fit(frame[target], source=str(path))
    features = frame.drop(columns=target)
    TabularEncoder().fit(features, source=str(path))  # whole-file checks (all-missing columns)
    y = y_enc.transform(frame[target])
    counts = np.unique(y.astype(str), return_counts=True)[1] if y_enc.task != "regression" else []
    stratify = y.astype(str) if len(counts) and counts.min() >= 2 else None
    F_train, F_test, y_train, y_test = train_test_split(features, y, test_size=test_size,
                                                        random_state=seed, stratify=stratify)
    encoder = TabularEncoder().fit(F_train, source=str(path))
    X_train = encoder.transform(F_train, source=str(path))
    X_test = encoder.transform(F_test, source=str(path))
    cls = MLPRegressor if y_enc.task == "regression" else MLPClassifier
    est = cls(hidden_layer_sizes=tuple(hidden), random_state=seed, **estimator_params)
    est.fit(X_train, y_train)
    if y_enc.task == "classification":
        y_enc.classes = [_plain_label(c) for c in est.classes_]
    pred = _decode(est.net_, y_enc, X_test)
    truth = frame.loc[F_test.index, target].to_numpy()
    report, metrics = _score(y_enc, truth, pred)
    return CsvRun(est.net_, encoder, y_enc, pred, report, metrics, est, len(X_train),
                  len(X_test))


def encode_csv(path: str | Path, target: str, task: str = "auto"):
    """Every row of a CSV encoded as :func:`train_csv` encodes its training rows.

    Returns ``(X, y, encoder, target_encoder)``: the encoded ``(m, n)`` features, the target
    (labels, or standardized numbers for regression) and the two fitted encoders. The
    encoder is fitted on all rows (a sweep's folds then share its means and categories).
    """
    from .preprocessing import TabularEncoder, TargetEncoder

    frame = _read_table(path, target)
    y_enc = TargetEncoder(target, task).fit(frame[target], source=str(path))
    features = frame.drop(columns=target)
    encoder = TabularEncoder().fit(features, source=str(path))
    return (encoder.transform(features, source=str(path)), y_enc.transform(frame[target]),
            encoder, y_enc)


def _plain_label(v):
    from .preprocessing import _plain

    return _plain(v)


def predict_csv(net, path: str | Path) -> CsvRun:
    """Apply a model trained by :func:`train_csv` (and loaded by :func:`mlplab.load`) to a CSV.

    The stored encoding is applied as is (unseen categories encode as zeros); when the CSV
    also holds the target column, the run is scored.
    """
    from .preprocessing import TabularEncoder, TargetEncoder
    from ..core.validation import check_X

    info = (getattr(net, "extra", None) or {}).get("tabular")
    if not info:
        raise DataError("this model was not trained with 'mlplab train --csv': it stores no "
                        "column encoding; pass data with the model's numeric columns instead")
    encoder = TabularEncoder.from_dict(info["encoder"])
    target = TargetEncoder.from_dict(info["target"])
    frame = read_frame(path)
    X = check_X(encoder.transform(frame, source=str(path)), net.n_inputs, str(path))
    pred = _decode(net, target, X)
    report, metrics = "", {}
    if target.name in frame.columns and frame[target.name].notna().all():
        report, metrics = _score(target, frame[target.name].to_numpy(), pred)
    return CsvRun(net, encoder, target, pred, report, metrics, n_test=len(X))
