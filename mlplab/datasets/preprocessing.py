"""Tabular preprocessing that travels with a model as JSON (never pickle).

:class:`TabularEncoder` turns a pandas DataFrame into the network's numeric ``X``:

- a column is **numeric** when every present value parses as a number, otherwise
  **categorical**; ``?`` and empty cells are missing values (each record counts them);
- numeric columns: missing → the training median, then standardized ``(x − mean) / std``;
- categorical columns: one-hot encoded; a missing value is the category ``?`` (an input of
  its own when training had any), and one never seen in training encodes as all zeros;
- a text column whose values are nearly all different (an identifier: a name, an order
  number) is dropped, and a column with more than ``max_categories`` values keeps its most
  frequent ones (the rest encode as all zeros), each with a :class:`ColumnWarning` naming
  the column: a one-hot of 50,000 identifiers would be 50,000 inputs that teach nothing;
- the encoded array's size is estimated before it is allocated and refused, with the sizes,
  when it would not fit in the memory available;
- :meth:`to_dict` / :meth:`from_dict` store every fitted number as plain JSON, so
  ``mlplab predict`` applies exactly the training encoding; a malformed record is a
  :class:`~mlplab.errors.ModelFileError`.

:class:`TargetEncoder` does the same for the target column: class labels (classification)
or a standardized number (regression).

Every problem is a :class:`~mlplab.errors.DataError` naming the column and, where it
applies, the line of the CSV file (:func:`file_line`).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..errors import DataError, ModelFileError

MAX_CLASSES_FOR_NUMBERS = 20  # an integer target with at most this many values is a class label
MAX_CLASSES = 1000  # more distinct labels than this is not a classification target
MAX_CATEGORIES = 100  # one-hot inputs per text column, by default
ID_MIN_VALUES = 20  # a text column is identifier-like with more distinct values than this …
ID_FRACTION = 0.5  # … and than this fraction of its present values
MAX_MAGNITUDE = 1e150  # |x| beyond this: x² overflows float64 and no mean or std is finite
MAX_INT_LABEL = 2**53  # larger "integers" are not exact in float64: not class labels
MISSING = "?"  # the category of a missing text value (UCI's marker: no file value reads so)
LINES = "mlplab_lines"  # DataFrame.attrs key: the file line of each row (datasets.csv)


class ColumnWarning(UserWarning):
    """A column was dropped or cut down, or a file was read in another text encoding."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``11.9 GiB``, ``512 KiB``: binary units, three significant digits."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"


def _numeric(col):
    """The column as floats, or None when some present value is not a number."""
    import pandas as pd

    values = pd.to_numeric(col, errors="coerce")  # __finalize__: col's attrs, for file_line
    return None if (values.isna() & col.notna()).any() else values.astype(float).__finalize__(col)


def file_line(series, position: int) -> int:
    """The file line of ``series``' row at ``position``: from the map csv.read_frame keeps in
    ``attrs`` (a row's label is its row in the file), else ``position + 2`` (header: line 1)."""
    lines, label = series.attrs.get(LINES), series.index[position]
    known = lines is not None and isinstance(label, (int, np.integer)) and 0 <= label < lines.n_rows
    return lines[label] if known else position + 2


def _check_magnitude(values, name: str, source: str, what: str = "column") -> None:
    big = values.abs() > MAX_MAGNITUDE  # NaN compares False: missing cells pass
    if big.any():
        i = int(np.flatnonzero(big.to_numpy())[0])
        raise DataError(f"{source}: {what} {name!r} holds {values.iloc[i]:g} on line "
                        f"{file_line(values, i)}, beyond ±{MAX_MAGNITUDE:g} where no mean or standard "
                        "deviation is finite in float64; rescale the column (divide it by a power of ten)")


def check_columns(frame, source: str = "data") -> None:
    """Whole-table checks before a split: no column may be missing in every row, and no
    number may be too large to standardize."""
    for name in frame.columns:
        if frame[name].isna().all():
            raise DataError(f"{source}: column {name!r} has no values at all (every cell is "
                            "missing); drop it")
        values = _numeric(frame[name])
        if values is not None:
            _check_magnitude(values, str(name), source)


class TabularEncoder:
    """Fit on a training frame, then transform any frame with the same columns.

    Parameters
    ----------
    columns : list of dict, optional
        A fitted encoding (see below); normally left out and learned by :meth:`fit`.
    max_categories : int
        One-hot inputs kept per text column: its most frequent values.

    Attributes (after :meth:`fit`)
    ------------------------------
    columns : list of dict
        One per input column, in order: ``{"name", "kind": "numeric", "median", "mean",
        "std", "missing"}`` or ``{"name", "kind": "categorical", "fill": "?", "categories",
        "missing"}``; ``missing`` counts the training rows without a value.
    dropped : list of dict
        ``{"name", "distinct", "present"}`` for every identifier-like column left out.
    """

    def __init__(self, columns: list[dict] | None = None, max_categories: int = MAX_CATEGORIES,
                 dropped: list[dict] | None = None):
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) or (
                max_categories < 1):
            raise DataError(f"max_categories must be an integer ≥ 1, got {max_categories!r}")
        self.columns, self.max_categories, self.dropped = columns or [], max_categories, dropped or []

    def fit(self, frame, source: str = "data") -> "TabularEncoder":
        """Learn each column's kind and statistics from ``frame`` (the training rows)."""
        check_columns(frame, source)
        self.columns, self.dropped = [], []
        for name in frame.columns:
            col = frame[name]
            values = _numeric(col)
            if values is not None:
                self.columns.append(_numeric_record(str(name), values, source))
            elif (record := self._categorical_record(str(name), col, source)) is not None:
                self.columns.append(record)
        if not self.columns:
            raise DataError(f"{source}: no usable feature column is left (identifier-like "
                            f"columns dropped: {', '.join(d['name'] for d in self.dropped)})")
        return self

    def _categorical_record(self, name: str, col, source: str) -> dict | None:
        text = col.dropna().astype(str)
        counts, missing = text.value_counts(), int(col.isna().sum())
        if len(counts) > ID_MIN_VALUES and len(counts) > ID_FRACTION * len(text):
            self.dropped.append({"name": name, "distinct": len(counts), "present": len(text)})
            warnings.warn(f"{source}: dropped column {name!r}: {len(counts):,} distinct values "
                          f"in {len(text):,} rows make it an identifier, not a feature",
                          ColumnWarning, stacklevel=4)
            return None
        kept = counts = dict(counts)
        if missing:  # a category of its own: "missing" may say something ('?' stays '?')
            counts[MISSING] = counts.get(MISSING, 0) + missing
        if len(counts) > self.max_categories:
            # the most frequent first, ties by name, so that the choice is reproducible
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            kept = dict(order[:self.max_categories])
            warnings.warn(f"{source}: column {name!r} has {len(counts):,} distinct values; kept "
                          f"the {self.max_categories} most frequent as inputs, the other "
                          f"{len(counts) - self.max_categories:,} encode as all zeros "
                          "(max_categories, --max-categories)", ColumnWarning, stacklevel=4)
        return {"name": name, "kind": "categorical", "fill": MISSING, "missing": missing,
                "categories": sorted(str(k) for k in kept.keys())}

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

    def check_memory(self, n_rows: int, source: str = "data", copies: int = 2,
                     limit: int | None = None) -> None:
        """Refuse, before allocating, an encoding that would not fit in memory.

        ``copies`` arrays of ``n_rows × len(feature_names)`` float64 must fit in ``limit``
        bytes (default: the memory available now).
        """
        limit = available_memory() if limit is None else limit
        n_inputs = len(self.feature_names)
        need = copies * n_rows * n_inputs * 8
        if limit is not None and need > limit:
            widest = max(self.columns, key=lambda c: len(c.get("categories", ())))
            raise DataError(f"{source}: encoding {n_rows:,} rows × {n_inputs:,} inputs needs "
                            f"{format_bytes(need)} but {format_bytes(limit)} is available; the "
                            f"widest column is {widest['name']!r}: drop it or lower "
                            "max_categories (--max-categories)")

    def transform(self, frame, source: str = "data", memory_limit: int | None = None
                  ) -> np.ndarray:
        """The encoded ``(m, len(feature_names))`` float64 array; extra columns are ignored."""
        import pandas as pd

        missing = [c["name"] for c in self.columns if c["name"] not in frame.columns]
        if missing:
            raise DataError(f"{source} lacks column {missing[0]!r} that the model was trained "
                            f"on (expected columns: {', '.join(c['name'] for c in self.columns)})")
        self.check_memory(len(frame), source, copies=1, limit=memory_limit)
        X = np.zeros((len(frame), len(self.feature_names)))
        start = 0
        for c in self.columns:
            col = frame[c["name"]]
            if c["kind"] == "numeric":
                values = _numeric(col)
                if values is None:
                    bad = int(np.flatnonzero(_numeric_mask(col))[0])
                    raise DataError(f"{source}: column {c['name']!r} is numeric in training but "
                                    f"line {file_line(col, bad)} holds {col.iloc[bad]!r}")
                _check_magnitude(values, c["name"], source)
                with np.errstate(over="ignore"):
                    X[:, start] = (values.fillna(c["median"]).to_numpy(float) - c["mean"]) \
                        / c["std"]
                if not np.isfinite(X[:, start]).all():  # finite data, an encoding that is not
                    raise DataError(f"{source}: column {c['name']!r} cannot be standardized with "
                                    f"the stored mean {c['mean']:g} and std {c['std']:g} (its "
                                    "values overflow): the encoding does not fit this data; "
                                    "retrain the model, or check that its file is intact")
                start += 1
            else:
                text = col.astype(object).where(col.notna(), c["fill"]).astype(str)
                # one-hot through integer codes: memory is m × k, whatever the cells' length
                codes = pd.Index(c["categories"]).get_indexer(text)
                rows = np.flatnonzero(codes >= 0)  # unseen categories (−1) stay all zeros
                X[rows, start + codes[rows]] = 1.0
                start += len(c["categories"])
        return X

    def to_dict(self) -> dict:
        return {"columns": self.columns, "dropped": self.dropped}

    @classmethod
    def from_dict(cls, d: dict) -> "TabularEncoder":
        """The encoder stored in a model file, after checking every field."""
        if not isinstance(d, dict) or not isinstance(d.get("columns"), list) or not d["columns"]:
            raise ModelFileError("the model file's column encoding is not a list of columns")
        columns = [_checked_column(c) for c in d["columns"]]
        dropped = d.get("dropped") or []
        if not isinstance(dropped, list) or not all(
                isinstance(x, dict) and isinstance(x.get("name"), str) for x in dropped):
            raise ModelFileError("the model file's list of dropped columns is malformed")
        return cls(columns, dropped=[dict(x) for x in dropped])

    def __repr__(self) -> str:
        kinds = [c["kind"][0] for c in self.columns]
        return (f"TabularEncoder({kinds.count('n')} numeric, {kinds.count('c')} categorical "
                f"→ {len(self.feature_names)} features)")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _checked_column(c) -> dict:
    ok = isinstance(c, dict) and isinstance(c.get("name"), str)
    if ok and c.get("kind") == "numeric":
        ok = all(_finite(c.get(k)) for k in ("median", "mean", "std")) and c["std"] > 0
    elif ok and c.get("kind") == "categorical":
        cats = c.get("categories")
        ok = (isinstance(c.get("fill"), str) and isinstance(cats, list) and 0 < len(cats)
              and all(isinstance(v, str) for v in cats))
    else:
        ok = False
    if not ok:
        raise ModelFileError(f"the model file's encoding of column {str(c)[:80]} is malformed")
    return dict(c)


def _numeric_record(name: str, values, source: str) -> dict:
    _check_magnitude(values, name, source)
    std = float(values.std(ddof=0))
    return {"name": name, "kind": "numeric", "median": float(values.median()),
            "mean": float(values.mean()), "std": std if std > 0 else 1.0,
            "missing": int(values.isna().sum())}


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
        """Decide the task (when "auto") and learn the classes or the mean and std."""
        if col.isna().any():
            line = file_line(col, int(np.flatnonzero(col.isna().to_numpy())[0]))
            raise DataError(f"{source}: target column {self.name!r} is missing on line {line}; "
                            "drop the rows without a target")
        values = _numeric(col)
        if self.task == "auto":
            few_ints = (values is not None and bool(np.all(np.mod(values, 1) == 0))
                        and bool((values.abs() <= MAX_INT_LABEL).all())
                        and values.nunique() <= MAX_CLASSES_FOR_NUMBERS)
            self.task = "classification" if values is None or few_ints else "regression"
        if self.task == "regression":
            if values is None:
                raise DataError(f"{source}: target column {self.name!r} is not numeric; "
                                "use --task classification")
            _check_magnitude(values, self.name, source, "target column")
            self.mean, self.std = float(values.mean()), float(values.std(ddof=0)) or 1.0
            return self
        labels = {plain_label(v) for v in col.to_numpy()}
        if len(labels) > MAX_CLASSES:
            raise DataError(f"{source}: target column {self.name!r} has {len(labels):,} distinct "
                            f"values, more classes than {MAX_CLASSES}; for a number to predict "
                            "use --task regression")
        numbers = all(isinstance(v, (int, float)) for v in labels)
        self.classes = sorted(labels, key=(lambda v: v) if numbers else str)
        if len(self.classes) < 2:
            raise DataError(f"{source}: target column {self.name!r} has only one class "
                            f"({self.classes[0]!r}); a classifier needs at least two")
        return self

    @property
    def n_outputs(self) -> int:
        """Output units: one for regression and two classes, else one per class."""
        return 1 if self.task == "regression" or len(self.classes) == 2 else len(self.classes)

    def transform(self, col) -> np.ndarray:
        """Class indices 0…k−1 (m,), or standardized numbers (m,)."""
        if self.task == "regression":
            values = _numeric(col)
            if values is None:
                raise DataError(f"target column {self.name!r} holds text; it was a number in "
                                "training")
            return (values.to_numpy(float) - self.mean) / self.std
        index = {v: i for i, v in enumerate(self.classes)}
        return np.array([index.get(plain_label(v), -1) for v in col.to_numpy()], dtype=np.int64)

    def decode(self, A: np.ndarray) -> np.ndarray:
        """Labels (classification) or numbers in the target's units (regression) from a⁽ᴸ⁾."""
        if self.task == "regression":
            return A[:, 0] * self.std + self.mean
        classes = np.array(self.classes, dtype=object)
        idx = A.argmax(axis=1) if A.shape[1] > 1 else (A[:, 0] > 0.5).astype(int)
        return classes[idx]

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "classes": self.classes,
                "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> "TargetEncoder":
        """The target encoding stored in a model file, after checking every field."""
        ok = isinstance(d, dict) and isinstance(d.get("name"), str)
        if ok and d.get("task") == "regression":
            ok = _finite(d.get("mean")) and _finite(d.get("std")) and d["std"] > 0
        elif ok and d.get("task") == "classification":
            classes = d.get("classes")
            ok = (isinstance(classes, list) and 2 <= len(classes) <= MAX_CLASSES
                  and all(isinstance(v, str) or _finite(v) for v in classes))
        else:
            ok = False
        if not ok:
            raise ModelFileError(f"the model file's target record {str(d)[:80]} is malformed")
        return cls(d["name"], d["task"], d.get("classes"), d.get("mean", 0.0), d.get("std", 1.0))


def plain_label(v):
    """A JSON-friendly scalar: NumPy ints and floats become Python ones, 3.0 becomes 3,
    True becomes "True" (a label, not the number 1)."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return int(v) if v.is_integer() and abs(v) <= MAX_INT_LABEL else v
    return v
