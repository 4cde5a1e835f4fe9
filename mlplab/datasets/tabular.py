"""The course's real data sets, bundled with their attribution (``datasets/data/README.md``).

Loaders follow scikit-learn's (``load_iris`` and friends): a :class:`sklearn.utils.Bunch` with
``data``, ``target``, ``feature_names``, ``target_names``, ``frame`` and ``DESCR``;
``return_X_y=True`` gives ``(data, target)``; ``as_frame=True`` gives pandas objects.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

CLEVELAND_COLUMNS = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach",
                     "exang", "oldpeak", "slope", "ca", "thal", "num"]

_MUSHROOM_DESCR = """UCI Mushroom data set (Schlimmer, 1987), CC BY 4.0.

8124 mushrooms, 22 categorical features (one letter each, e.g. odor 'n' none, 'f' foul),
target 'class': 'e' edible (4208) or 'p' poisonous (3916). The value '?' in 'stalk-root'
(2480 mushrooms; no other cell is missing) marks a missing value; this loader keeps it as
the category '?', as in the course's exercise, which one-hot encodes every feature (117
columns, one of them stalk-root '?') and trains on the first 80% of the file, testing on the
last 20%. `mlplab train mushrooms.csv --target class` does the same: it reads '?' as
missing, and a text column's missing values become the category '?', an input of its own
(117 inputs); `mlplab show` prints how many training rows each column misses.
"""

_CLEVELAND_DESCR = """UCI Heart Disease data set, Cleveland subset (Janosi, Steinbrunn,
Pfisterer, Detrano, 1988), CC BY 4.0.

303 patients, 13 numeric or coded features (age, sex, cp chest-pain type 1-4, trestbps,
chol, fbs, restecg, thalach, exang, oldpeak, slope, ca 0-3, thal 3/6/7); missing values
('?' in the file: 4 in ca, 2 in thal) are NaN. Target 'num': 0 no disease, 1-4 disease
severity; with binary=True the target is 'disease' = num > 0 (139 of 303).
"""


def _path(name: str):
    return resources.files("mlplab.datasets") / "data" / name


def _bunch(frame, target_col: str, descr: str, return_X_y: bool, as_frame: bool):
    from sklearn.utils import Bunch

    X, y = frame.drop(columns=target_col), frame[target_col]
    if not as_frame:
        X, y = X.to_numpy(), y.to_numpy()
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, frame=frame if as_frame else None,
                 feature_names=[c for c in frame.columns if c != target_col],
                 target_names=np.unique(frame[target_col]).tolist(), DESCR=descr)


def load_mushrooms(*, return_X_y: bool = False, as_frame: bool = False):
    """The UCI Mushroom data: 8124 samples, 22 categorical features, target 'e'/'p'.

    Parameters
    ----------
    return_X_y : bool
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool
        ``data`` a DataFrame (string columns) and ``target`` a Series; otherwise object arrays
        of one-letter strings, in file order.

    Returns
    -------
    Bunch or (data, target)
        ``data`` (8124, 22), ``target`` (8124,).
    """
    import pandas as pd

    with _path("mushrooms.csv").open("r") as f:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
    return _bunch(frame, "class", _MUSHROOM_DESCR, return_X_y, as_frame)


def load_heart_cleveland(*, return_X_y: bool = False, as_frame: bool = False,
                         binary: bool = False):
    """The UCI Heart Disease (Cleveland) data: 303 samples, 13 features, NaN where missing.

    Parameters
    ----------
    return_X_y, as_frame : bool
        As in :func:`load_mushrooms`; ``data`` is float64 (NaN for the 6 missing values).
    binary : bool
        Target ``disease = num > 0`` (0/1) instead of ``num`` (0…4).

    Returns
    -------
    Bunch or (data, target)
        ``data`` (303, 13), ``target`` (303,) of ints.
    """
    import pandas as pd

    with _path("processed.cleveland.data").open("r") as f:
        frame = pd.read_csv(f, header=None, names=CLEVELAND_COLUMNS, na_values="?")
    frame["num"] = frame["num"].astype(np.int64)
    target = "num"
    if binary:
        frame = frame.assign(disease=(frame.pop("num") > 0).astype(np.int64))
        target = "disease"
    return _bunch(frame, target, _CLEVELAND_DESCR, return_X_y, as_frame)
