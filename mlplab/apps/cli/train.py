"""``mlplab train``: one route for every kind of data.

A truth table (xor, and, or) trains with the lecture's defaults and prints W and b. A CSV
file, given as DATA or with ``--csv`` (the same thing), is read, checked and encoded by
:mod:`mlplab.datasets.csv_model` (numbers standardized, text one-hot, a stratified hold-out),
trains with defaults for tables, and prints a report on the held-out rows. Every option
applies to both; the options that only mean something for a table (``--target``,
``--test-size``, ``--task``, ``--encoding``, ``--max-categories``) are refused for a truth
table. Output locations are checked before training; a model that cannot be saved after
training is saved somewhere safe (:func:`~mlplab.apps.cli.app.rescue_save`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ...errors import ConfigError, MlplabError
from .app import (check_output, command, console, csv_option, data_source, encoding_option,
                  err_console, file_format, output_folder, parse_ints, print_error,
                  refuse_inputs, rescue_save, user_errors)
from .arch import arch_network, with_defaults
from .runguard import INTERRUPTED, RunRecord, check_resume, data_record, stop_on_ctrl_c

# the lecture's defaults: truth tables train as in the lecture notes
LECTURE = {"layers": "2,2,1", "activation": "sigmoid", "optimizer": "gd", "lr": 1.0,
           "max_epochs": 50_000, "batch_size": None, "init": "normal"}
TABLE_ONLY = {"--target": "target", "--test-size": "test_size", "--task": "task",
              "--encoding": "encoding", "--max-categories": "max_categories"}


def _csv_path(data: Optional[str], csv: Optional[Path]) -> Optional[Path]:
    """The CSV file to train on, or None for a truth table."""
    from ...datasets import BUILTIN

    data = data_source(data, csv)
    if data is None or data.lower() in BUILTIN:
        return None
    if not data.lower().endswith((".csv", ".data", ".txt")) and not Path(data).exists():
        raise ConfigError(f"unknown data set {data!r}; use one of {', '.join(BUILTIN)} or a "
                          "CSV file path with --target")
    return Path(data)


def _sizes(layers: Optional[str], hidden: Optional[str]):
    """``(sizes, hidden)`` from --layers (input first) or --hidden; at most one is given."""
    if layers is not None and hidden is not None:
        raise ConfigError("give --layers (every layer, input first) or --hidden (the hidden "
                          "layers only), not both")
    from ...core.validation import check_positive_int

    sizes = parse_ints(layers, "--layers") if layers is not None else None
    hidden_sizes = parse_ints(hidden, "--hidden") if hidden is not None else None
    for n in (sizes or []) + (hidden_sizes or []):  # before any data is read
        check_positive_int(n, "every layer size")
    return sizes, hidden_sizes


def _activation(name: str):
    return name.split(",") if "," in name else name


def _truth_table(name: str, sizes, hidden, o: dict):
    from ...core.network import Network
    from ...datasets import load_builtin

    X, Y = load_builtin(name)
    if sizes is None:
        sizes = [X.shape[1], *hidden, Y.shape[1]] if hidden is not None else parse_ints(
            LECTURE["layers"], "--layers")
    if sizes and sizes[0] != X.shape[1]:
        raise ConfigError(f"--layers starts with {sizes[0]} inputs but {name} has "
                          f"{X.shape[1]} features; use --layers {X.shape[1]},...")
    net = Network(sizes, activation=_activation(o["activation"]), output=o["output"],
                  loss=o["loss"] or "mse", init=o["init"], seed=o["seed"])
    return net, X, Y, None


def _csv_table(path: Path, sizes, hidden, o: dict):
    from ...datasets.csv_model import DEFAULTS, prepare_csv
    from .describe import layer_table

    if o["target"] is None:
        raise ConfigError(f"{path} is a CSV file: name the column to predict with --target "
                          "COLUMN")
    data = prepare_csv(path, o["target"], task=o["task"], test_size=o["test_size"],
                       seed=o["seed"], encoding=o["encoding"],
                       max_categories=o["max_categories"])
    net = data.network(hidden=DEFAULTS["hidden"] if hidden is None else hidden, sizes=sizes,
                       activation=_activation(o["activation"]), output=o["output"],
                       loss=o["loss"], init=o["init"], seed=o["seed"])
    kinds = [c["kind"] for c in data.encoder.columns]
    console.print(f"{path}: {len(data.X_train) + len(data.X_test)} rows; "
                  f"{kinds.count('numeric')} numeric and {kinds.count('categorical')} "
                  f"categorical columns → {data.n_inputs} inputs; target "
                  f"{data.target.name!r}: {data.target.task}", highlight=False)
    console.print(layer_table(net), highlight=False, markup=False)
    return net, data.X_train, data.Y_train, data


def _defaults(o: dict, csv: bool) -> dict:
    """Fill the options not given with the lecture's defaults or those for a table."""
    from ...datasets.csv_model import DEFAULTS
    from ...datasets.preprocessing import MAX_CATEGORIES

    table = {"activation": DEFAULTS["activation"], "optimizer": DEFAULTS["optimizer"],
             "lr": DEFAULTS["learning_rate"], "max_epochs": DEFAULTS["max_epochs"],
             "batch_size": DEFAULTS["batch_size"], "init": DEFAULTS["init"],
             "test_size": 0.2, "task": "auto", "max_categories": MAX_CATEGORIES}
    for key, value in (table if csv else LECTURE).items():
        if o.get(key) is None:
            o[key] = value
    return o


def _check(o: dict, path: Optional[Path], data: Optional[str]) -> None:
    if path is None:
        given = [opt for opt, key in TABLE_ONLY.items() if o[key] is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to a CSV file; the truth table "
                              f"{data or 'xor'} has no columns or rows to hold out")
    if o["epsilon"] is not None and not o["epsilon"] > 0:
        raise ConfigError(f"--epsilon must be > 0, got {o['epsilon']:g}: training stops when "
                          "every |ΔW|, |Δb| of an epoch is below it; a smaller ε (e.g. 1e-8) "
                          "trains longer, up to --max-epochs")
    check_output(o["out"], "--out", "folder")
    if o["out"] is not None and o["out"].is_dir():  # the files it will hold, too
        for taken in (o["out"] / "model.safetensors", o["out"] / "history.json"):
            if taken.exists() and not taken.is_file():
                raise ConfigError(f"--out {o['out']}: {taken} is not a regular file (a folder, "
                                  "a device or a FIFO); move it away or give another --out")
    check_output(o["checkpoint"], "--checkpoint", "file")
    _check_checkpoint(o, path)


def _check_checkpoint(o: dict, data: Optional[Path]) -> None:
    """--checkpoint overwrites its file every epoch: refuse a file that holds something else
    (the data, a saved model) and a file that --out writes too."""
    ck = o["checkpoint"]
    if ck is None:
        return
    out = o["out"]
    refuse_inputs(ck, "--checkpoint", {"the data file": data})
    if out is not None and any(ck.resolve() == (out / name).resolve()
                               for name in ("model.safetensors", "history.json")):
        raise ConfigError(f"--checkpoint {ck} is a file --out {out} writes too; give the "
                          f"checkpoint its own name, e.g. {out / 'run.ckpt'}")
    kind = file_format(ck)
    if kind is not None and kind != "mlplab-checkpoint":
        what = "an mlplab model file" if kind == "mlplab" else "not an mlplab checkpoint"
        raise ConfigError(f"--checkpoint {ck} is {what}; training would overwrite it every "
                          "epoch: give the checkpoint another file name")


@command()
def train(
    data: Optional[str] = typer.Argument(None, help="xor, and, or (the lecture's truth "
                                         "tables; default xor) or a CSV file; with --arch "
                                         "also digits or a CIFAR-10 folder."),
    csv: Optional[Path] = csv_option(),
    target: Optional[str] = typer.Option(None, help="CSV: the column to predict."),
    layers: Optional[str] = typer.Option(None, help="Units per layer, input first, e.g. 2,2,1 "
                                         "(the default for truth tables)."),
    hidden: Optional[str] = typer.Option(None, help="Hidden layer sizes only, e.g. 32,16 "
                                         "(default 16 for a CSV)."),
    arch: Optional[Path] = typer.Option(None, help="A TOML or JSON architecture file: any "
                                        "layers (conv, pooling, dense, ...; docs/cnn.md), "
                                        "trained with Adam by default."),
    activation: Optional[str] = typer.Option(None, help="Hidden g: sigmoid, tanh, relu, "
                                             "leaky_relu, identity, or one per hidden layer, "
                                             "e.g. tanh,relu (default sigmoid; relu for a CSV)."),
    output: Optional[str] = typer.Option(None, help="Output g (default: from the loss)."),
    loss: Optional[str] = typer.Option(None, help="mse or cross_entropy (default mse; "
                                       "cross_entropy for CSV classes)."),
    optimizer: Optional[str] = typer.Option(None, help="gd, sgd, momentum, nesterov, adam, "
                                            "or lbfgs (SciPy's L-BFGS-B over all weights: no "
                                            "--lr or batches; --max-epochs counts its "
                                            "iterations) (default gd; adam for a CSV)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate α in (0, 1] (default 1.0; "
                                       "0.001 for a CSV)."),
    epsilon: Optional[float] = typer.Option(1e-4, help="Stop when every |ΔW|, |Δb| of an "
                                            "epoch is below ε > 0."),
    max_epochs: Optional[int] = typer.Option(None, help="Epochs at most (default 50000; 200 "
                                             "for a CSV)."),
    batch_size: Optional[int] = typer.Option(None, help="Minibatch size (default: the full "
                                             "batch; 200 for a CSV)."),
    init: Optional[str] = typer.Option(None, help="normal, normal:SCALE, lecun_normal, "
                                       "xavier_normal, xavier_uniform, he_normal, he_uniform "
                                       "(default normal; xavier_uniform for a CSV)."),
    seed: int = typer.Option(1, help="Seeds the weights, the shuffling and the CSV hold-out."),
    test_size: Optional[float] = typer.Option(None, help="CSV: fraction of rows held out for "
                                              "the report (default 0.2)."),
    task: Optional[str] = typer.Option(None, help="CSV: auto, classification or regression."),
    encoding: Optional[str] = encoding_option(),
    max_categories: Optional[int] = typer.Option(None, help="CSV: one-hot inputs kept per text "
                                                 "column, its most frequent values (default "
                                                 "100)."),
    out: Optional[Path] = typer.Option(None, help="Folder to write model.safetensors and "
                                       "history.json into (created if needed)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    checkpoint: Optional[Path] = typer.Option(None, help="Write a crash-safe checkpoint file "
                                              "there during training."),
    checkpoint_every: int = typer.Option(1, help="Epochs between checkpoints."),
    resume: bool = typer.Option(False, help="Continue from --checkpoint (same settings)."),
    on_divergence: str = typer.Option("stop", help="On NaN/inf: stop (keep the last finite "
                                      "weights) or raise (exit 2)."),
    device: str = typer.Option("cpu", help="Where to train: cpu (NumPy), cuda or cuda:N "
                               "(PyTorch on a GPU), torch (PyTorch on the CPU)."),
):
    """Train a network (the lecture's 7 steps) on a truth table or any CSV file.

    A truth table prints W and b; a CSV file prints a report on held-out rows.
    """
    o = dict(target=target, activation=activation, output=output, loss=loss,
             optimizer=optimizer, lr=lr, epsilon=epsilon, max_epochs=max_epochs,
             batch_size=batch_size, init=init, seed=seed, test_size=test_size, task=task,
             encoding=encoding, max_categories=max_categories, out=out, checkpoint=checkpoint)
    with user_errors():
        try:
            _train(o, data, csv, arch, layers, hidden, device, progress, checkpoint_every,
                   resume, on_divergence)
        except KeyboardInterrupt:  # the second Ctrl-C, or one before or after training
            kept = (f"; checkpoint {o['checkpoint']} keeps the last epoch it saved (--resume "
                    "continues from it)" if o["checkpoint"] is not None else "")
            print_error(f"{INTERRUPTED}: the run stopped before saving{kept}")
            raise typer.Exit(130) from None


def _train(o, data, csv, arch, layers, hidden, device, progress, checkpoint_every, resume,
           on_divergence) -> None:
    from ...core.xp import place

    path = None if arch is not None else _csv_path(data, csv)
    _check(o, path, data)
    o = _defaults(o if arch is None else with_defaults(o), path is not None)
    sizes, hidden_sizes = _sizes(layers, hidden)
    where = place(device)  # a missing GPU or PyTorch fails here, before any work
    if arch is not None:  # any layers, from an architecture file (apps/cli/arch.py)
        net, X, Y, prepared = arch_network(arch, data, o)
    elif path is None:
        net, X, Y, prepared = _truth_table(data or "xor", sizes, hidden_sizes, o)
    else:
        net, X, Y, prepared = _csv_table(path, sizes, hidden_sizes, o)
    net.to(where)
    history = _fit(net, X, Y, prepared, o, data, progress, checkpoint_every, resume,
                   on_divergence)
    extra = _report(net, X, Y, prepared, history, o, data)
    if o["out"] is not None:
        _save(net, o["out"], extra, history)
    if history.stop_reason.startswith(INTERRUPTED):
        raise typer.Exit(130)  # reported and saved, but cut short: a script should know


def _fit(net, X, Y, prepared, o, data, progress, checkpoint_every, resume, on_divergence):
    from ...train.callbacks import ProgressBar

    if o["optimizer"] == "lbfgs":  # scikit-learn's solver for small data sets, on net's cost
        from ...sklearn._lbfgs import fit_network

        if o["checkpoint"] is not None or resume:
            raise ConfigError("--checkpoint and --resume go with the epoch-based optimizers "
                              "(gd, sgd, momentum, nesterov, adam), not lbfgs")
        return fit_network(net, X, Y, max_iter=o["max_epochs"],
                           validation_data=None if prepared is None else prepared.validation_data)

    record = RunRecord(data_record(prepared, o, data))  # first: its place in checkpoints
    if resume and o["checkpoint"] is not None:
        check_resume(o["checkpoint"], record.record)
    callbacks = [record] + ([ProgressBar(o["max_epochs"], console=err_console)]
                            if progress else [])
    with stop_on_ctrl_c(record, err_console):
        return net.fit(X, Y, optimizer=o["optimizer"], learning_rate=o["lr"],
                       epsilon=o["epsilon"], max_epochs=o["max_epochs"],
                       batch_size=o["batch_size"], callbacks=callbacks,
                       validation_data=None if prepared is None else prepared.validation_data,
                       checkpoint=o["checkpoint"], checkpoint_every=checkpoint_every,
                       resume=resume, on_divergence=on_divergence)


def _report(net, X, Y, prepared, history, o, data) -> dict:
    """Print what training did; return the records the model file keeps."""
    console.print(f"stopped: {history.stop_reason}", highlight=False)
    if history.loss:  # a run resumed at its last epoch trains none
        console.print(f"final loss {history.loss[-1]:.6g} after {history.epochs} epochs "
                      f"({history.time_s:.2f} s)", highlight=False)
    settings = {"data": str(prepared.path if prepared is not None else (data or "xor")),
                "optimizer": o["optimizer"], "learning_rate": o["lr"],
                "batch_size": o["batch_size"] or "full", "max_epochs": o["max_epochs"],
                "epsilon": o["epsilon"], "init": o["init"], "seed": o["seed"]}
    if prepared is None:
        if net.output in ("sigmoid", "softmax"):
            console.print(f"training accuracy {net.score(X, Y):.1%}", highlight=False)
        console.print(net.summary(), highlight=False, markup=False)
        return {"training": settings}
    run = prepared.evaluate(net)
    settings["test_size"] = o["test_size"]
    share = run.n_test / (run.n_test + len(X))  # of the rows, as split: 1 of 3 is 33%
    console.print(f"held-out {run.n_test} rows ({share:.0%}), never trained on:",
                  highlight=False)
    console.print(run.report, highlight=False, markup=False)
    return {"training": settings, **run.extra()}


def _save(net, out: Path, extra: dict, history) -> None:
    from ...io import atomic_write, save

    record = {"loss": history.loss, "val_loss": history.val_loss, "epochs": history.epochs,
              "stop_reason": history.stop_reason}
    try:
        output_folder(out)
        path = save(net, out / "model.safetensors", extra=extra)
        atomic_write(out / "history.json", json.dumps(record, indent=1), "history file")
    except (MlplabError, OSError) as exc:
        rescue_save(net, extra, exc)
    console.print(f"saved {path} and {out / 'history.json'}", highlight=False)
