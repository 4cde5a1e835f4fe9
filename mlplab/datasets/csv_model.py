"""A network trained on a CSV table: ``mlplab train FILE.csv --target COL`` and
``mlplab predict MODEL FILE.csv``, as library calls.

:func:`prepare_csv` reads and checks the table (:func:`mlplab.datasets.csv.read_frame`),
encodes the target, holds out a stratified ``test_size`` of the rows and fits the
:class:`~mlplab.datasets.preprocessing.TabularEncoder` on the training rows only (numbers
median-imputed and standardized, text one-hot encoded). :meth:`CsvData.network` builds the
:class:`~mlplab.Network` for it, ``net.fit`` trains it with any option, and
:meth:`CsvData.evaluate` scores it on the held-out rows. :func:`train_csv` does all four;
:func:`predict_csv` applies a saved model, whose file holds the encoding as JSON.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, ModelFileError
from .preprocessing import (MAX_CATEGORIES, TabularEncoder, TargetEncoder, plain_label,
                            check_columns)

# what a CSV table trains with unless told otherwise: scikit-learn's MLP defaults, 16 hidden
# units (the lecture's defaults, full-batch gradient descent of a sigmoid MSE network with
# α = 1 on unscaled columns, suit XOR; held-out heart-disease accuracy, mean of seeds 0–2:
# batch 200 0.82, batch 32 0.79 (it overfits), α = 0.01 0.74)
DEFAULTS = {"hidden": (16,), "activation": "relu", "init": "xavier_uniform",
            "optimizer": "adam", "learning_rate": 0.001, "max_epochs": 200, "batch_size": 200}


@dataclass
class CsvRun:
    """What :func:`train_csv` or :func:`predict_csv` did.

    Attributes
    ----------
    net : the trained :class:`mlplab.Network`
    encoder, target : the :class:`~mlplab.preprocessing.TabularEncoder` and
        :class:`~mlplab.preprocessing.TargetEncoder`
    predictions : (m,) array of labels or numbers for the rows scored
    rows : (m,) array of their data-row numbers in the file (1: its first row of data)
    outputs : (m, n_outputs) array, the network's a⁽ᴸ⁾ for those rows
    probabilities : (m, n_classes) array, or None
        Class probabilities when the output layer gives them (sigmoid or softmax).
    report : str
        A classification report or regression metrics; "" when there was no target to score.
    metrics : dict
        ``accuracy`` (classification) or ``r2``, ``mae``, ``rmse`` (regression).
    n_train, n_test : int
    n_scored : int
        The rows the report scores: those with a value in the target column.
    """

    net: object
    encoder: object
    target: object
    predictions: np.ndarray
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    outputs: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    probabilities: np.ndarray | None = None
    report: str = ""
    metrics: dict = field(default_factory=dict)
    n_train: int = 0
    n_test: int = 0
    n_scored: int = 0

    def extra(self) -> dict:
        """The JSON stored in the model file beside the weights."""
        return {"tabular": {"encoder": self.encoder.to_dict(), "target": self.target.to_dict(),
                            "metrics": self.metrics}}


@dataclass
class CsvData:
    """A CSV table encoded for training: what :func:`prepare_csv` returns.

    Attributes
    ----------
    path : Path
    encoder, target : fitted encoders (the encoder on the training rows only)
    X_train, Y_train, X_test, Y_test : arrays
        Encoded inputs ``(m, n_inputs)`` and targets (class indices or standardized numbers).
    truth_test : (m_test,) array, the held-out rows' target values as in the file
    rows_test : (m_test,) array, their data-row numbers (1: the file's first row of data)
    """

    path: Path
    encoder: TabularEncoder
    target: TargetEncoder
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    truth_test: np.ndarray
    rows_test: np.ndarray

    @property
    def n_inputs(self) -> int:
        return self.X_train.shape[1]

    @property
    def validation_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out rows as ``fit(..., validation_data=)``: watched, never trained on."""
        return self.X_test, self.Y_test

    def network(self, hidden=DEFAULTS["hidden"], sizes=None, activation=DEFAULTS["activation"],
                output=None, loss=None, init=DEFAULTS["init"], seed=0, dtype="float64"):
        """The network for this table: ``n_inputs``, the hidden layers, one output per class
        (one for two classes or a number).

        ``sizes`` (input first) replaces ``hidden`` and must start with ``n_inputs`` and end
        with the output count. ``loss`` defaults to cross-entropy for classes, MSE for
        numbers; ``output`` to the loss's usual activation.
        """
        from ..core.network import Network

        n_out = self.target.n_outputs
        if sizes is not None:
            sizes = list(sizes)
            if len(sizes) < 2 or sizes[0] != self.n_inputs or sizes[-1] != n_out:
                middle = ",".join(map(str, sizes[1:-1])) if len(sizes) > 2 else "16"
                raise ConfigError(f"layer sizes {sizes} do not fit {self.path.name}: it encodes "
                                  f"to {self.n_inputs} inputs and needs {n_out} output(s); use "
                                  f"--layers {self.n_inputs},{middle},{n_out} or --hidden {middle}")
        else:
            sizes = [self.n_inputs, *hidden, n_out]
        if loss is None:
            loss = "mse" if self.target.task == "regression" else "cross_entropy"
        elif self.target.task == "regression" and "entropy" in str(loss):
            raise ConfigError(f"target {self.target.name!r} is a number (regression): its loss "
                              "is mse, not cross-entropy; or pass --task classification")
        return Network(sizes, activation=activation, output=output, loss=loss, init=init,
                       seed=seed, dtype=dtype)

    def evaluate(self, net) -> CsvRun:
        """Score ``net`` on the held-out rows."""
        run = _apply(net, self.encoder, self.target, self.X_test, self.rows_test)
        run.report, run.metrics = _score(self.target, self.truth_test, run.predictions)
        run.n_train, run.n_test = len(self.X_train), len(self.X_test)
        run.n_scored = run.n_test
        return run


def _read_table(path, target: str, encoding: str | None):
    """The CSV as a frame, checked to be a table holding the ``target`` column."""
    from .csv import no_header_hint, read_frame

    frame = read_frame(path, encoding)
    if frame.shape[1] < 2:
        raise DataError(f"{path} does not look like a CSV table: its first line has "
                        f"{frame.shape[1]} column; expected a header of names separated by "
                        "commas (or semicolons, tabs) and at least two columns (features and "
                        "a target)")
    if target not in frame.columns:
        raise DataError(f"{path} has no column {target!r}; its columns are: "
                        f"{', '.join(map(str, frame.columns))}{no_header_hint(frame.columns)}")
    return frame


def prepare_csv(path: str | os.PathLike, target: str, *, task: str = "auto",
                test_size: float = 0.2, seed: int = 0, encoding: str | None = None,
                max_categories: int = MAX_CATEGORIES) -> CsvData:
    """Read ``path``, encode it and hold out ``test_size`` of its rows (stratified by class).

    Parameters
    ----------
    path : a CSV file with a header line.
    target : the column to predict.
    task : "auto", "classification" or "regression" (auto: text, or integers with at most 20
        distinct values, are classes).
    test_size : fraction of rows held out for the report, in (0, 1).
    seed : seeds the split.
    encoding : the file's text encoding; None detects UTF-8 or Windows-1252/Latin-1.
    max_categories : one-hot inputs kept per text column (its most frequent values).
    """
    from sklearn.model_selection import train_test_split

    if not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
        raise DataError(f"test size must be in (0, 1), got {test_size!r}")
    frame = _read_table(path, target, encoding)
    path = Path(path)
    y_enc = TargetEncoder(target, task).fit(frame[target], source=str(path))
    features = frame.drop(columns=target)
    check_columns(features, source=str(path))
    y = y_enc.transform(frame[target])
    stratify = None
    if y_enc.task == "classification" and np.bincount(y).min() >= 2:
        stratify = y
    try:
        F_train, F_test, y_train, y_test = train_test_split(
            features, y, test_size=test_size, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"{path}: cannot hold out {test_size:g} of {len(frame)} rows: "
                        f"{exc}; give more rows, or another test size (--test-size)") from None
    if y_enc.task == "classification" and len(np.unique(y_train)) < 2:
        raise DataError(f"{path}: the {len(y_train)} training row(s) left after holding out "
                        f"{len(y_test)} hold only the class {y_enc.classes[y_train[0]]!r}; a "
                        "classifier learns from rows of at least two classes: give more rows "
                        "(at least two of each class)")
    encoder = TabularEncoder(max_categories=max_categories).fit(F_train, source=str(path))
    encoder.check_memory(len(frame), str(path))
    return CsvData(path, encoder, y_enc, encoder.transform(F_train, str(path)), y_train,
                   encoder.transform(F_test, str(path)), y_test,
                   frame.loc[F_test.index, target].to_numpy(), F_test.index.to_numpy() + 1)


def train_csv(path: str | os.PathLike, target: str, *, hidden=DEFAULTS["hidden"], sizes=None,
              task: str = "auto", test_size: float = 0.2, seed: int = 0,
              activation: str = DEFAULTS["activation"], output: str | None = None,
              loss: str | None = None, init: str = DEFAULTS["init"],
              encoding: str | None = None, max_categories: int = MAX_CATEGORIES,
              **fit_options) -> CsvRun:
    """Train a network on any CSV table and score it on held-out rows.

    The arguments of :func:`prepare_csv` and :meth:`CsvData.network`; ``fit_options`` go to
    :meth:`mlplab.Network.fit` (``optimizer``, ``learning_rate``, ``max_epochs``,
    ``batch_size``, ``epsilon``, ``callbacks``, ``checkpoint``, ...), with this module's
    :data:`DEFAULTS` where not given; ``seed`` seeds the split, the weights and the shuffling,
    so the result is the one ``mlplab train FILE.csv --seed SEED`` gives. The held-out rows are
    the fit's validation data: their loss is logged each epoch, they never move a weight.
    """
    data = prepare_csv(path, target, task=task, test_size=test_size, seed=seed,
                       encoding=encoding, max_categories=max_categories)
    net = data.network(hidden, sizes, activation, output, loss, init, seed)
    for key in ("optimizer", "learning_rate", "max_epochs", "batch_size"):
        fit_options.setdefault(key, DEFAULTS[key])
    net.fit(data.X_train, data.Y_train, validation_data=data.validation_data, **fit_options)
    return data.evaluate(net)


def encode_csv(path: str | os.PathLike, target: str, task: str = "auto",
               encoding: str | None = None):
    """Every row of a CSV encoded as :func:`prepare_csv` encodes its training rows.

    Returns ``(X, y, encoder, target_encoder)``: the encoded ``(m, n)`` features, the target
    (its labels as they are, or standardized numbers for regression) and the two fitted
    encoders. The encoder is fitted on all rows (a sweep's folds then share its means and
    categories).
    """
    frame = _read_table(path, target, encoding)
    y_enc = TargetEncoder(target, task).fit(frame[target], source=str(path))
    features = frame.drop(columns=target)
    encoder = TabularEncoder().fit(features, source=str(path))
    encoder.check_memory(len(frame), str(path), copies=1)
    y = y_enc.transform(frame[target])
    if y_enc.task == "classification":  # the estimators take the labels themselves
        y = np.asarray([y_enc.classes[i] for i in y])
    return encoder.transform(features, source=str(path)), y, encoder, y_enc


def tabular_record(net) -> tuple[TabularEncoder, TargetEncoder] | None:
    """The column and target encoders a model file stores, or None when it stores none."""
    info = (getattr(net, "extra", None) or {}).get("tabular")
    if info is None:
        return None
    if not isinstance(info, dict):
        raise ModelFileError("the model file's tabular record is not a JSON object")
    return TabularEncoder.from_dict(info.get("encoder")), TargetEncoder.from_dict(info.get("target"))


def predict_csv(net, path: str | os.PathLike, encoding: str | None = None) -> CsvRun:
    """Apply a model trained on a CSV table (and loaded by :func:`mlplab.load`) to a CSV.

    The stored encoding is applied as is (unseen categories encode as zeros); when the CSV
    also holds the target column, the rows with a value in it are scored (``n_scored``).
    """
    from ..core.validation import check_X
    from .csv import no_header_hint, read_frame

    record = tabular_record(net)
    if record is None:
        raise DataError("this model was not trained on a CSV table ('mlplab train FILE.csv'): "
                        "it stores no column encoding; pass data with the model's numeric "
                        "columns instead")
    encoder, target = record
    frame = read_frame(path, encoding)
    missing = [c["name"] for c in encoder.columns if c["name"] not in frame.columns]
    if missing and no_header_hint(frame.columns):
        raise DataError(f"{path} lacks column {missing[0]!r} that the model was trained on"
                        f"{no_header_hint(frame.columns)}")
    X = check_X(encoder.transform(frame, source=str(path)), net.n_inputs, str(path))
    run = _apply(net, encoder, target, X, np.arange(1, len(frame) + 1))
    if target.name in frame.columns and frame[target.name].notna().any():
        known = frame[target.name].notna().to_numpy()  # rows still to label are left out
        run.report, run.metrics = _score(target, frame[target.name].to_numpy()[known],
                                         run.predictions[known], path)
        run.n_scored = int(known.sum())
    return run


def _apply(net, encoder, target, X, rows) -> CsvRun:
    from ..core.xp import to_numpy

    A = to_numpy(net.output_for(X))  # on the network's device (--device cuda, torch), then NumPy
    probabilities = None
    if target.task == "classification" and net.output == "softmax":
        probabilities = A
    elif target.task == "classification" and net.output == "sigmoid" and A.shape[1] == 1:
        probabilities = np.hstack([1 - A, A])  # P(second class) = a⁽ᴸ⁾
    return CsvRun(net, encoder, target, target.decode(A), rows, A, probabilities,
                  n_test=len(X))


def _score(target, truth, predicted, source="the data") -> tuple[str, dict]:
    from sklearn import metrics as m

    if target.task == "classification":  # as labels: 1.0 in the file is the class 1
        truth = np.array([str(plain_label(v)) for v in truth])
        pred = np.array([str(plain_label(v)) for v in predicted])
        report = m.classification_report(truth, pred, zero_division=0)
        return report, {"accuracy": float(m.accuracy_score(truth, pred))}
    try:
        truth = np.asarray(truth, dtype=float)
    except (TypeError, ValueError):
        truth = None
    if truth is None or not np.isfinite(truth).all():
        raise DataError(f"{source}: column {target.name!r} holds values that are not finite "
                        "numbers, but the model predicts numbers for it: fix those values, or "
                        "leave the column out to predict without a score")
    r = {"r2": float(m.r2_score(truth, predicted)),
         "mae": float(m.mean_absolute_error(truth, predicted)),
         "rmse": float(np.sqrt(m.mean_squared_error(truth, predicted)))}
    return "  ".join(f"{k.upper() if k != 'r2' else 'R²'} {v:.4g}" for k, v in r.items()), r
