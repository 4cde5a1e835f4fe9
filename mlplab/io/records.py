"""The JSON records inside model and checkpoint files, checked before anything uses them.

A file is untrusted: its JSON may be nested 50,000 deep, hold a 5,000-digit integer, or put
a list where a name belongs. :func:`parse_json` bounds depth and integer length; the
``check_*`` functions check every field a reader will use (types, ranges, finiteness, and
consistency with the network), so what a crafted record can cause is a
:class:`~mlplab.errors.ModelFileError` naming the field, never a ``TypeError`` far away.

The known ``extra`` records (the rest of ``extra`` is the caller's, passed through):

- ``csv``: ``{"target": str, "features": [str, ...]}``, one feature per network input;
- ``tabular``: ``{"encoder": {"columns": [...]}, "target": {...}, "metrics": {...}}``, the
  column encoding of ``mlplab train --csv`` (:mod:`mlplab.datasets.preprocessing`): numeric
  columns ``{"name", "kind": "numeric", "median", "mean", "std"}``, categorical columns
  ``{"name", "kind": "categorical", "fill", "categories"}``; the target
  ``{"name", "task", "classes", "mean", "std"}``;
- ``playground``: ``{"features": [str, ...], "config": {...}, "data": str}``.
"""

from __future__ import annotations

import json
import math

from ..errors import ModelFileError

MAX_JSON_DEPTH = 32  # the deepest record mlplab writes is a stack of 8 nested residual blocks
MAX_INT_DIGITS = 50  # a generator state holds 128-bit integers (39 digits); nothing holds more
MAX_TEXT = 10_000  # characters in a name or a stop reason
MAX_ITEMS = 1_000_000  # categories, classes, features
HISTORY_LISTS = ("loss", "val_loss", "val_accuracy", "max_change")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def parse_json(text, path, what: str = "header"):
    """``json.loads`` of an untrusted record; bad JSON, deep nesting and huge integers are a
    :class:`ModelFileError` naming ``path`` and ``what``."""
    try:
        value = json.loads(text, parse_int=_bounded_int)
    except RecursionError:
        raise ModelFileError(f"{path} has an invalid {what}: JSON nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise ModelFileError(f"{path} has an invalid {what}: bad JSON ({str(exc)[:120]})") from None
    if depth(value) > MAX_JSON_DEPTH:
        raise ModelFileError(f"{path} has an invalid {what}: JSON nested deeper than "
                             f"{MAX_JSON_DEPTH} levels")
    try:  # JSON's \ud800 escapes decode to lone surrogates, which no text output can encode
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ModelFileError(f"{path} has an invalid {what}: a string holds a lone UTF-16 "
                             "surrogate (not valid Unicode)") from None
    return value


def depth(value) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar), without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            level += 1
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            todo.extend((v, level) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


class Check:
    """Field checks that raise :class:`ModelFileError` as ``{path} has an invalid {what}``."""

    def __init__(self, path, what: str):
        self.path, self.what = path, what

    def fail(self, message: str):
        raise ModelFileError(f"{self.path} has an invalid {self.what}: {message}")

    def dict(self, value, name: str) -> dict:
        if not isinstance(value, dict):
            self.fail(f"{name} must be a JSON object, not {type(value).__name__}")
        return value

    def text(self, value, name: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            self.fail(f"{name} must be a string of at most {MAX_TEXT} characters")
        return value

    def integer(self, value, name: str, low: int = 0, high: int | None = None,
                optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if type(value) is not int or value < low or (high is not None and value > high):
            self.fail(f"{name} must be an integer in [{low}, {high if high is not None else '∞'}]"
                      f", not {str(value)[:40]}")
        return value

    def number(self, value, name: str, finite: bool = True, positive: bool = False) -> float:
        if type(value) not in (int, float) or (finite and not math.isfinite(value)) or (
                positive and not value > 0):
            self.fail(f"{name} must be a {'positive ' if positive else ''}"
                      f"{'finite ' if finite else ''}number, not {str(value)[:40]}")
        return float(value)

    def strings(self, value, name: str, length: int | None = None) -> list[str]:
        if (not isinstance(value, list) or not 0 < len(value) <= MAX_ITEMS
                or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value)):
            self.fail(f"{name} must be a non-empty list of strings")
        if len(set(value)) != len(value):
            self.fail(f"{name} repeats a name")
        if length is not None and len(value) != length:
            self.fail(f"{name} lists {len(value)} names for {length}")
        return value


def check_names(arch: dict, path) -> None:
    """The loss and the activations a ``sizes`` record names, looked up as load looks them
    up (a stack's layers are checked by their own records)."""
    from ..core.activations import get_activation
    from ..core.losses import get_loss
    from ..errors import ConfigError

    loss = arch.get("loss", "mse")
    if isinstance(loss, str) and loss.startswith("sklearn_"):
        raise ModelFileError(f"{path}: its loss {loss!r} is a scikit-learn estimator's own, "
                             "which model files do not hold; pickle the estimator instead "
                             "(joblib.dump(est, path))")
    try:
        get_loss(loss)
        for name in (arch.get("activation"), arch.get("output")):
            if isinstance(name, str):
                get_activation(name)
    except ConfigError as exc:
        raise ModelFileError(f"{path}: {exc}") from None


def check_saved_history(record, path) -> dict | None:
    """The training summary of a model file: ``{"epochs", "stop_reason", "loss"}`` or None."""
    if record is None:
        return None
    c = Check(path, "training summary")
    c.dict(record, "history")
    c.integer(record.get("epochs"), "history.epochs", optional=True)
    c.text(record.get("stop_reason"), "history.stop_reason", optional=True)
    if record.get("loss") is not None:
        c.number(record["loss"], "history.loss", finite=False)
    return record


def check_extra(extra, net, path) -> dict | None:
    """The ``extra`` record of a model file, its known parts checked against ``net``."""
    if extra is None:
        return None
    c = Check(path, "extra record")
    c.dict(extra, "extra")
    if "csv" in extra:
        csv = c.dict(extra["csv"], "extra.csv")
        c.text(csv.get("target"), "extra.csv.target")
        c.strings(csv.get("features"), "extra.csv.features", net.n_inputs)
    if "tabular" in extra:
        _check_tabular(c, c.dict(extra["tabular"], "extra.tabular"), net)
    if "playground" in extra:
        pg = c.dict(extra["playground"], "extra.playground")
        c.strings(pg.get("features"), "extra.playground.features", net.n_inputs)
    return extra


def _check_tabular(c: Check, record: dict, net) -> None:
    encoder = c.dict(record.get("encoder"), "extra.tabular.encoder")
    columns = encoder.get("columns")
    if not isinstance(columns, list) or not columns:
        c.fail("extra.tabular.encoder.columns must be a non-empty list")
    n_features = 0
    for i, col in enumerate(columns):
        name = f"extra.tabular.encoder.columns[{i}]"
        c.dict(col, name)
        c.text(col.get("name"), f"{name}.name")
        if col.get("kind") == "numeric":
            for key in ("median", "mean"):
                c.number(col.get(key), f"{name}.{key}")
            c.number(col.get("std"), f"{name}.std", positive=True)
            n_features += 1
        elif col.get("kind") == "categorical":
            c.text(col.get("fill"), f"{name}.fill")
            n_features += len(c.strings(col.get("categories"), f"{name}.categories"))
        else:
            c.fail(f"{name}.kind must be 'numeric' or 'categorical'")
    c.strings([col["name"] for col in columns], "extra.tabular.encoder.columns' names")
    dropped = encoder.get("dropped", [])
    if not isinstance(dropped, list) or not all(isinstance(d, dict) for d in dropped):
        c.fail("extra.tabular.encoder.dropped must be a list of JSON objects")
    for i, d in enumerate(dropped):
        c.text(d.get("name"), f"extra.tabular.encoder.dropped[{i}].name")
    if n_features != net.n_inputs:
        c.fail(f"the column encoding gives {n_features} inputs; the network has {net.n_inputs}")
    _check_target(c, c.dict(record.get("target"), "extra.tabular.target"), net)
    c.dict(record.get("metrics", {}), "extra.tabular.metrics")


def _check_target(c: Check, target: dict, net) -> None:
    c.text(target.get("name"), "extra.tabular.target.name")
    task = target.get("task")
    if task == "regression":
        c.number(target.get("mean", 0.0), "extra.tabular.target.mean")
        c.number(target.get("std", 1.0), "extra.tabular.target.std", positive=True)
        if net.n_outputs != 1:
            c.fail(f"a regression target needs 1 output; the network has {net.n_outputs}")
        return
    if task != "classification":
        c.fail("extra.tabular.target.task must be 'classification' or 'regression'")
    classes = target.get("classes")
    if (not isinstance(classes, list) or not 2 <= len(classes) <= MAX_ITEMS or not all(
            isinstance(v, str) and len(v) <= MAX_TEXT or type(v) is bool
            or type(v) in (int, float) and math.isfinite(v) for v in classes)):
        c.fail("extra.tabular.target.classes must be a list of at least 2 labels (strings, "
               "booleans or finite numbers)")
    if len({str(v) for v in classes}) != len(classes):
        c.fail("extra.tabular.target.classes repeats a label")
    if net.n_outputs != (len(classes) if len(classes) > 2 else 1):
        c.fail(f"{len(classes)} classes do not fit a network of {net.n_outputs} outputs")


def check_history(record, epoch: int, path) -> dict:
    """A checkpoint's :class:`~mlplab.train.loop.History` record after ``epoch`` epochs.

    The per-epoch lists hold one number per epoch (the validation lists: none, or one per
    epoch); the summary fields have their types; ``epochs`` equals ``epoch``.
    """
    c = Check(path, "training history")
    c.dict(record, "history")
    for name in HISTORY_LISTS:
        values = record.get(name, [])
        if not isinstance(values, list) or not all(type(v) in (int, float) for v in values):
            c.fail(f"history.{name} must be a list of numbers")
        allowed = (epoch,) if name in ("loss", "max_change") else (0, epoch)
        if len(values) not in allowed:
            c.fail(f"history.{name} holds {len(values)} values after {epoch} epochs")
    c.integer(record.get("epochs"), "history.epochs", epoch, epoch)
    c.text(record.get("stop_reason", ""), "history.stop_reason")
    if type(record.get("converged", False)) is not bool:
        c.fail("history.converged must be true or false")
    c.number(record.get("time_s", 0.0), "history.time_s")
    c.integer(record.get("best_epoch"), "history.best_epoch", 0, epoch, optional=True)
    c.text(record.get("backend", "core"), "history.backend")
    diverged = record.get("diverged")
    if diverged is not None:
        c.dict(diverged, "history.diverged")
        c.integer(diverged.get("epoch"), "history.diverged.epoch")
        c.integer(diverged.get("batch"), "history.diverged.batch")
        c.text(diverged.get("what"), "history.diverged.what")
    return record
