"""Tabular preprocessing that travels with a model as JSON (never pickle).

:class:`TabularEncoder` turns a pandas DataFrame into the network's numeric ``X``:

- a column is **numeric** when every present value parses as a number, otherwise
  **categorical**; ``?`` and empty cells are missing values;
- numeric columns: missing → the training median, then standardized ``(x − mean) / std``;
- categorical columns: missing → the most frequent training value, then one-hot encoded;
  a category never seen in training encodes as all zeros (no crash);
- :meth:`to_dict` / :meth:`from_dict` store every fitted number as plain JSON, so
  ``mlplab predict --csv`` applies exactly the training encoding.

:class:`TargetEncoder` does the same for the target column: class labels (classification)
or a standardized number (regression).

Every problem is a :class:`~mlplab.errors.DataError` naming the column (and, where it
applies, the CSV line: the header is line 1, the first data row line 2).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

MAX_CLASSES_FOR_NUMBERS = 20  # an integer target with at most this many values is a class label


def _numeric(col):
    """The column as floats, or None when some present value is not a number."""
    import pandas as pd

    values = pd.to_numeric(col, errors="coerce")
    return None if (values.isna() & col.notna()).any() else values.astype(float)


def _line(index_position: int) -> int:
    return index_position + 2  # header is line 1


class TabularEncoder:
    """Fit on a training frame, then transform any frame with the same columns.

    Attributes (after :meth:`fit`)
    ------------------------------
    columns : list of dict
        One per input column, in order: ``{"name", "kind": "numeric", "median", "mean",
        "std"}`` or ``{"name", "kind": "categorical", "fill", "categories"}``.
    """

    def __init__(self, columns: list[dict] | None = None):
        self.columns = columns or []

    def fit(self, frame, source: str = "data") -> "TabularEncoder":
        self.columns = []
        for name in frame.columns:
            col = frame[name]
            if col.isna().all():
                raise DataError(f"{source}: column {name!r} has no values at all (every cell is "
                                "missing); drop it")
            values = _numeric(col)
            if values is not None:
                std = float(values.std(ddof=0))
                self.columns.append({"name": str(name), "kind": "numeric",
                                     "median": float(values.median()),
                                     "mean": float(values.mean()),
                                     "std": std if std > 0 else 1.0})
            else:
                text = col.dropna().astype(str)
                self.columns.append({"name": str(name), "kind": "categorical",
                                     "fill": str(text.mode().iloc[0]),
                                     "categories": sorted(text.unique().tolist())})
        return self

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: ``age``, ``odor=f``, …"""
        names = []
        for c in self.columns:
            if c["kind"] == "numeric":
                names.append(c["name"])
            else:
                names.extend(f"{c['name']}={v}" for v in c["categories"])
        return names

    def transform(self, frame, source: str = "data") -> np.ndarray:
        """The encoded ``(m, len(feature_names))`` float64 array; extra columns are ignored."""
        missing = [c["name"] for c in self.columns if c["name"] not in frame.columns]
        if missing:
            raise DataError(f"{source} lacks column {missing[0]!r} that the model was trained "
                            f"on (expected columns: {', '.join(c['name'] for c in self.columns)})")
        blocks = []
        for c in self.columns:
            col = frame[c["name"]]
            if c["kind"] == "numeric":
                values = _numeric(col)
                if values is None:
                    bad = int(np.flatnonzero(_numeric_mask(col))[0])
                    raise DataError(f"{source}: column {c['name']!r} is numeric in training but "
                                    f"line {_line(bad)} holds {col.iloc[bad]!r}")
                x = values.fillna(c["median"]).to_numpy(float)
                blocks.append(((x - c["mean"]) / c["std"])[:, None])
            else:
                text = col.astype(object).where(col.notna(), c["fill"]).astype(str).to_numpy()
                blocks.append((text[:, None] == np.array(c["categories"])[None, :]).astype(float))
        return np.hstack(blocks)

    def to_dict(self) -> dict:
        return {"columns": self.columns}

    @classmethod
    def from_dict(cls, d: dict) -> "TabularEncoder":
        return cls([dict(c) for c in d["columns"]])

    def __repr__(self) -> str:
        kinds = [c["kind"][0] for c in self.columns]
        return (f"TabularEncoder({kinds.count('n')} numeric, {kinds.count('c')} categorical "
                f"→ {len(self.feature_names)} features)")


def _numeric_mask(col):
    import pandas as pd

    return (pd.to_numeric(col, errors="coerce").isna() & col.notna()).to_numpy()


class TargetEncoder:
    """The target column: class labels for classification, standardized numbers for regression.

    ``task`` is "classification", "regression" or "auto" (text, or integers with at most
    20 distinct values, are classes).
    """

    def __init__(self, name: str, task: str = "auto", classes: list | None = None,
                 mean: float = 0.0, std: float = 1.0):
        if task not in ("auto", "classification", "regression"):
            raise DataError(f"task must be auto, classification or regression, got {task!r}")
        self.name, self.task, self.classes = name, task, classes
        self.mean, self.std = mean, std

    def fit(self, col, source: str = "data") -> "TargetEncoder":
        if col.isna().any():
            line = _line(int(np.flatnonzero(col.isna().to_numpy())[0]))
            raise DataError(f"{source}: target column {self.name!r} is missing on line {line}; "
                            "drop the rows without a target")
        values = _numeric(col)
        if self.task == "auto":
            few_ints = (values is not None and np.all(np.mod(values, 1) == 0)
                        and values.nunique() <= MAX_CLASSES_FOR_NUMBERS)
            self.task = "classification" if values is None or few_ints else "regression"
        if self.task == "regression":
            if values is None:
                raise DataError(f"{source}: target column {self.name!r} is not numeric; "
                                "use --task classification")
            self.mean, self.std = float(values.mean()), float(values.std(ddof=0)) or 1.0
            return self
        labels = col.to_numpy()
        self.classes = sorted({_plain(v) for v in labels}, key=str)
        if len(self.classes) < 2:
            raise DataError(f"{source}: target column {self.name!r} has only one class "
                            f"({self.classes[0]!r}); a classifier needs at least two")
        return self

    def transform(self, col) -> np.ndarray:
        """Class labels as they are (the estimator encodes them), or standardized numbers."""
        if self.task == "regression":
            return (_numeric(col).to_numpy(float) - self.mean) / self.std
        return np.asarray([_plain(v) for v in col.to_numpy()])  # ints stay ints, text str

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "classes": self.classes,
                "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> "TargetEncoder":
        return cls(d["name"], d["task"], d.get("classes"), d.get("mean", 0.0), d.get("std", 1.0))


def _plain(v):
    """A JSON-friendly scalar: numpy ints and floats become Python ones, 3.0 becomes 3."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return int(v) if float(v).is_integer() else float(v)
    return v
