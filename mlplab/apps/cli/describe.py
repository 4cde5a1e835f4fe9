"""What ``mlplab show`` prints and ``mlplab train`` prints before training: a model's layers
and parameter count (as Keras' ``summary()``), how it was trained, and how its data was
encoded. Text only: every number comes from the network and its file's records."""

from __future__ import annotations

import numbers
from pathlib import Path

import typer

from .app import command, console, load_model, printable, user_errors


def layer_table(net) -> str:
    """One line per layer: its kind, W and b shapes, activation g and parameter count."""
    from ...core.layers import Dense, TimeDense

    shape = net.input_shape  # images: (C, H, W); sequences: (T, features)
    sequences = len(shape) == 2
    what = "sequences: time × features" if sequences else "images: channels × height × width"
    lines = [f"{'layer':<14}{'W, b':<22}{'g':<12}{'parameters':>10}",
             f"{'0 input':<14}({net.n_inputs} inputs)" if len(shape) == 1 else
             f"{'0 input':<14}({'×'.join(map(str, shape))} {what})"]
    for l, layer in enumerate(net.layers[1:], start=1):
        count = sum(p.size for p in getattr(layer, "params", []))
        name = "time_dense" if isinstance(layer, TimeDense) else \
            "dense" if isinstance(layer, Dense) else type(layer).__name__.lower()
        kind = f"{l} {name}"
        if "W" in getattr(layer, "param_names", ()):  # dense and convolutional layers
            shapes = f"{layer.W.shape}, {layer.b.shape}"
        elif len(layer.out_shape) > 1:
            unit = "steps × units" if len(layer.out_shape) == 2 else "maps"
            shapes = f"→ {'×'.join(map(str, layer.out_shape))} {unit}"
        else:
            shapes = f"→ {layer.n_out} units"
        g = getattr(getattr(layer, "g", None), "name", "")
        lines.append(f"{kind:<14}{shapes:<22}{g:<12}{count:>10,}")
    total = sum(p.size for p in net.params)
    lines.append(f"{'total':<48}{total:>10,} parameters ({net.dtype}, loss {net.loss.name})")
    return "\n".join(lines)


def _scalar(value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Real):
        return f"{value:g}"
    return str(value)[:60]


def training_lines(net) -> list[str]:
    """How the model was trained: the command line's settings and the saved history."""
    extra = getattr(net, "extra", None) or {}
    settings = extra.get("training")
    lines = []
    if isinstance(settings, dict) and settings:
        lines.append("training: " + ", ".join(f"{k} {_scalar(v)}" for k, v in settings.items()
                                              if not isinstance(v, (dict, list))))
    else:
        lines.append("training: settings not recorded (saved from Python, not 'mlplab train')")
    h = getattr(net, "saved_history", None)
    if isinstance(h, dict):
        loss = h.get("loss")
        lines.append(f"trained {_scalar(h.get('epochs'))} epochs; {_scalar(h.get('stop_reason'))}"
                     + (f"; final loss {loss:.6g}" if isinstance(loss, numbers.Real) else ""))
    return lines


def _missing(c: dict, becomes: str) -> str:
    """How many training rows lacked a value ('?' or an empty cell) and what such a value
    becomes (a model file saved before mlplab counted them says only the latter)."""
    n = c.get("missing")
    if isinstance(n, bool) or not isinstance(n, int):
        return f"; missing → {becomes}"
    if n == 0:
        return f"; no missing value in training (one → {becomes})"
    return f"; {n:,} missing ('?' or empty) in training → {becomes}"


def _column_line(c: dict) -> str:
    if c["kind"] == "numeric":
        return (f"  {c['name']}: number, standardized with mean {c['mean']:.6g}, std "
                f"{c['std']:.6g}" + _missing(c, f"the median {c['median']:.6g}"))
    cats, fill = c["categories"], c["fill"]
    shown = ", ".join(cats[:12]) + (f", … ({len(cats)} in all)" if len(cats) > 12 else "")
    if "missing" in c:  # the category '?': an input of its own when training had missing values
        fill = f"the category {fill}, an input of its own" if fill in cats else "all zeros"
    return f"  {c['name']}: text, one-hot over {shown}" + _missing(c, fill)


def encoding_lines(net) -> list[str]:
    """The data encoding a model file stores: every column and the target's classes."""
    from ...datasets.csv_model import tabular_record

    record = tabular_record(net)
    if record is None:
        info = (getattr(net, "extra", None) or {}).get("csv")
        if isinstance(info, dict) and isinstance(info.get("features"), list):
            return [f"data: numeric columns {', '.join(map(str, info['features']))} used as "
                    f"they are; target {info.get('target')!r}"]
        return ["data: no encoding stored (inputs are used as they are)"]
    encoder, target = record
    lines = [f"data: {len(encoder.columns)} columns → {len(encoder.feature_names)} inputs"]
    lines += [_column_line(c) for c in encoder.columns]
    for d in encoder.dropped:
        lines.append(f"  {d['name']}: dropped (identifier-like: {d.get('distinct', '?')} "
                     "distinct values)")
    if target.task == "regression":
        lines.append(f"target {target.name!r}: a number (regression), standardized with mean "
                     f"{target.mean:.6g}, std {target.std:.6g}")
    else:
        lines.append(f"target {target.name!r}: classes {', '.join(map(str, target.classes))}")
    metrics = net.extra["tabular"].get("metrics")
    if isinstance(metrics, dict) and metrics:
        lines.append("held-out " + ", ".join(f"{k} {_scalar(v)}" for k, v in metrics.items()))
    return lines


def overview(net) -> str:
    """Architecture, parameter count, training settings and data encoding of ``net``."""
    return "\n".join([layer_table(net), *map(printable, training_lines(net)),
                      *map(printable, encoding_lines(net))])


@command()
def show(model: Path = typer.Argument(..., help="A model file.")):
    """Describe a model: layers, parameters, training settings, data encoding, W and b.

    The data encoding of a model trained on a CSV file lists its columns and classes; W and b
    of every layer come last (the lecture's step 7).
    """
    with user_errors():
        net = load_model(model)
        console.print(f"model {model}", highlight=False, markup=False)
        console.print(overview(net), highlight=False, markup=False)
        console.print(net.summary(), highlight=False, markup=False)
