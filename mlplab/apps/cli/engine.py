"""The lecture's checks: ``mlplab gradcheck`` and ``mlplab trace``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from ...errors import ConfigError
from .app import command, console, load_model, parse_floats, parse_ints, user_errors


def _net_for_check(model, layers, activation, output, loss, init, seed):
    from ...core.network import Network

    if model is not None:
        return load_model(model)
    return Network(parse_ints(layers, "--layers"), activation=activation, output=output,
                   loss=loss, init=init, seed=seed)


@command()
def gradcheck(
    model: Optional[Path] = typer.Option(None, help="Check this model file instead of a new one."),
    layers: str = typer.Option("2,3,2", help="Units per layer for a new network."),
    activation: str = typer.Option("sigmoid"), output: Optional[str] = typer.Option(None),
    loss: str = typer.Option("mse"), init: str = typer.Option("xavier_normal"),
    samples: int = typer.Option(5, help="Random samples to check on."),
    seed: int = typer.Option(0),
):
    """Compare backprop's gradients with central finite differences (float64).

    Exits 0 when the max relative error is below 1e-6, 1 otherwise.
    """
    from ...core.gradcheck import gradcheck as run_gradcheck

    with user_errors():
        if samples < 1:
            raise ConfigError(f"--samples must be ≥ 1, got {samples}: the random samples to "
                              "check the gradients on (default 5)")
        net = _net_for_check(model, layers, activation, output, loss, init, seed)
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(samples, *net.input_shape))  # vectors, images or sequences
        out = tuple(net.layers[-1].out_shape)  # a sequence's: (time, classes)
        if net.output == "softmax":
            Y = rng.integers(0, out[-1], (samples, *out[:-1]))
        else:
            Y = rng.integers(0, 2, (samples, *out)).astype(float)
        result = run_gradcheck(net, X, Y)
        console.print(str(result), highlight=False)
        if not result.passed:
            raise typer.Exit(1)


@command()
def trace(
    x: str = typer.Option("1,0", help="One input sample, comma-separated (for a model "
                          "trained on a CSV file: one value per column, as in the file)."),
    y: str = typer.Option("1", help="Its target, comma-separated (for a model trained on a "
                          "CSV file: the class or number, as in the file)."),
    model: Optional[Path] = typer.Option(None, help="Trace this model file instead of a new one."),
    layers: str = typer.Option("2,2,1"), activation: str = typer.Option("sigmoid"),
    output: Optional[str] = typer.Option(None), loss: str = typer.Option("mse"),
    init: str = typer.Option("normal"), seed: int = typer.Option(1),
    lr: float = typer.Option(0.5, help="α of the update shown."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
):
    """Forward and backward for one sample: every z, a, δ, ∂C/∂W, ∂C/∂b and the update."""
    from ...core.trace import trace as run_trace
    from ...datasets.csv_model import tabular_record

    with user_errors():
        net = _net_for_check(model, layers, activation, output, loss, init, seed)
        record = tabular_record(net) if model is not None else None
        if record is not None:  # a CSV model: --x is a row of its columns, --y its target
            x_values, y_values = encode_row(record, x, y)
            if not as_json:
                console.print(f"--x {x} and --y {y} encoded as the model's training data "
                              f"was: {len(x_values)} inputs, {len(y_values)} output(s)",
                              highlight=False, markup=False)
        else:
            x_values, y_values = parse_floats(x, "--x"), parse_floats(y, "--y")
        n = net.input_shape[0] if len(net.input_shape) == 1 else None  # vectors, not images
        if n is not None and len(x_values) != n:
            raise ConfigError(f"--x has {len(x_values)} value(s) but the network takes {n} "
                              f"inputs: give --x {n} comma-separated numbers (one sample)")
        t = run_trace(net, x_values, y_values, learning_rate=lr)
        if as_json:
            sys.stdout.write(json.dumps(t.as_dict(), indent=1) + "\n")
        else:
            console.print(str(t), highlight=False, markup=False)


def encode_row(record, x: str, y: str) -> tuple[list[float], list[float]]:
    """``--x`` and ``--y`` for a model trained on a CSV table: one value per column of the
    table (in the model's order; text as it is, ? or nothing for a missing value) and the
    target as in the file, encoded as the training rows were (a class as 0/1 or one-hot)."""
    import pandas as pd

    from ...datasets.preprocessing import plain_label

    encoder, target = record
    names = [c["name"] for c in encoder.columns]
    values = [v.strip() for v in x.split(",")]
    if len(values) != len(names):
        raise ConfigError(f"--x has {len(values)} value(s) but the model was trained on "
                          f"{len(names)} CSV columns: give one value per column, in this "
                          f"order: {', '.join(names)} (? for a missing value)")
    row = {}
    for c, v in zip(encoder.columns, values):
        missing = v in ("", "?")
        if c["kind"] == "numeric" and not missing:
            try:
                v = float(v)
            except ValueError:
                raise ConfigError(f"--x: column {c['name']!r} is a number, got {v!r}") from None
        row[c["name"]] = [None if missing else v]
    X = encoder.transform(pd.DataFrame(row), source="--x")
    if target.task == "regression":  # standardized as the training targets were
        return X[0].tolist(), target.transform(pd.Series(parse_floats(y, "--y")[:1])).tolist()
    labels = {str(c): i for i, c in enumerate(target.classes)}
    key = y.strip()
    try:  # 1.0 is the class 1, as in training
        key = str(plain_label(float(key)))
    except ValueError:
        pass
    if key not in labels:
        raise ConfigError(f"--y {y} is not a class of the model's target {target.name!r}: give "
                          f"one of {', '.join(labels)}")
    i = labels[key]
    if target.n_outputs == 1:
        return X[0].tolist(), [float(i)]
    return X[0].tolist(), [1.0 if k == i else 0.0 for k in range(target.n_outputs)]
