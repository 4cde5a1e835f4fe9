"""``mlplab predict``: a saved model applied to a truth table or a CSV file.

A model trained on a CSV table encodes the new rows as in training and prints a table with a
header: the row, the predicted label (or number) and, for classes, one probability per class;
``--output FILE`` writes the same table, every row, as CSV (atomically: a temporary file in
the same folder, fsynced, renamed over FILE). Other models print the lecture's
``x -> a -> prediction`` lines; ``--output`` writes them as a table too.
"""

from __future__ import annotations

import csv as csvlib
import io
from pathlib import Path
from typing import Optional

import typer

from ...errors import ConfigError, DataError
from .app import (check_output, command, console, csv_option, data_source, encoding_option,
                  load_model, refuse_inputs, user_errors)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns right-aligned under their names, two spaces apart."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(line, widths))
                     for line in [header, *rows])


def write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """The table as CSV with a header line, written atomically."""
    from ...io import atomic_write

    buffer = io.StringIO()
    writer = csvlib.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write(path, buffer.getvalue(), "--output")


def tabular_table(run) -> tuple[list[str], list[list[str]]]:
    """Header and rows for a :class:`~mlplab.datasets.csv_model.CsvRun`."""
    target = run.target
    header = ["row", f"predicted_{target.name}"]
    columns = []
    if target.task == "classification":
        if run.probabilities is not None:
            header += [f"P({c})" for c in target.classes]
            columns = run.probabilities
        else:  # outputs that are not probabilities (e.g. --loss mse, identity output)
            header += [f"a({c})" for c in target.classes[-run.outputs.shape[1]:]]
            columns = run.outputs
    rows = []
    for i, (row, label) in enumerate(zip(run.rows, run.predictions)):
        value = f"{label:.6g}" if target.task == "regression" else str(label)
        rows.append([str(row), value, *(f"{p:.4f}" for p in columns[i])] if len(columns)
                    else [str(row), value])
    return header, rows


def _show(header, rows, limit: int) -> None:
    console.print(format_table(header, rows[:limit]), highlight=False, markup=False)
    if len(rows) > limit:
        console.print(f"… {len(rows) - limit} more rows (--rows N prints more; --output FILE "
                      "writes all)", highlight=False)


def _predict_tabular(net, source, encoding, output, limit) -> None:
    from ...datasets.csv_model import predict_csv

    run = predict_csv(net, source, encoding)
    header, rows = tabular_table(run)
    if output is not None:
        write_table(output, header, rows)
        console.print(f"wrote {len(rows)} predictions to {output}", highlight=False)
    else:
        _show(header, rows, limit)
    if run.report:
        unknown = len(run.rows) - run.n_scored  # rows with no value there are not scored
        some = f" ({run.n_scored} rows with a value in it; {unknown} without)" if unknown else ""
        console.print(f"against the {run.target.name!r} column of {source}{some}:",
                      highlight=False)
        console.print(run.report, highlight=False, markup=False)


def _plain_inputs(net, source: str, encoding):
    """X for a model without a stored encoding: a truth table, or a numeric CSV's columns."""
    import numpy as np

    from ... import datasets
    from ...core.validation import check_X
    from ...datasets.csv import read_frame

    if source.lower() in datasets.BUILTIN:
        X, _ = datasets.load_builtin(source)
    else:
        frame = read_frame(source, encoding)
        info = (net.extra or {}).get("csv")  # models of mlplab 0.1: the feature names
        if isinstance(info, dict) and isinstance(info.get("features"), list):
            missing = [c for c in info["features"] if c not in frame.columns]
            if missing:
                raise DataError(f"{source} lacks column {str(missing[0])!r} that the model was "
                                "trained on")
            frame = frame[info["features"]]
        try:
            X = frame.to_numpy(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{source}: this model takes numeric columns as they are; a column "
                            "holds text") from None
    return check_X(X, net.n_inputs, "data")


def _predict_plain(net, source, encoding, output) -> None:
    import numpy as np

    X = _plain_inputs(net, source, encoding)
    A, pred = net.forward(X), net.predict(X)
    pred = pred.reshape(len(X), -1)
    if output is not None:
        header = (["row"] + [f"x{j + 1}" for j in range(X.shape[1])]
                  + [f"a{k + 1}" for k in range(A.shape[1])]
                  + [f"predicted{k + 1}" for k in range(pred.shape[1])])
        rows = [[str(i + 1), *(f"{v:.6g}" for v in (*x, *a, *p))]
                for i, (x, a, p) in enumerate(zip(X, A, pred))]
        write_table(output, header, rows)
        console.print(f"wrote {len(rows)} predictions to {output}", highlight=False)
        return
    with np.printoptions(precision=6, suppress=True):
        for x, a, p in zip(X, A, pred):
            console.print(f"{x} -> a = {a} -> {p}", highlight=False)


@command()
def predict(
    model: Path = typer.Argument(..., help="A model file written by 'mlplab train --out'."),
    data: Optional[str] = typer.Argument(None, help="xor, and, or, or a CSV file."),
    csv: Optional[Path] = csv_option(),
    output: Optional[Path] = typer.Option(None, help="Write the table of predictions, every "
                                          "row, to this CSV file."),
    encoding: Optional[str] = encoding_option(),
    rows: int = typer.Option(20, help="Rows to print (--output writes all)."),
):
    """Predict with a saved model: labels and class probabilities, or a⁽ᴸ⁾.

    A model trained on a CSV file prints a table (row, predicted label, one probability per
    class); a model of a truth table prints the output a⁽ᴸ⁾ of each row.
    """
    from ...datasets import BUILTIN
    from ...datasets.csv_model import tabular_record

    with user_errors():
        source = data_source(data, csv)
        if source is None:
            raise ConfigError("give DATA (xor, and, or, or a CSV file) or --csv FILE")
        if rows < 0:
            raise ConfigError(f"--rows must be ≥ 0, got {rows}")
        check_output(output, "--output", "file")
        refuse_inputs(output, "--output", {"the model file": model, "the data file":
                                           None if source.lower() in BUILTIN else source})
        net = load_model(model)
        if tabular_record(net) is not None:
            if source.lower() in BUILTIN:
                raise ConfigError(f"{model} was trained on a CSV table; give a CSV file with "
                                  "its columns, not a truth table")
            return _predict_tabular(net, source, encoding, output, rows)
        _predict_plain(net, source, encoding, output)
