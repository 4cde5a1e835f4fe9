"""Engine commands: train, predict, show, gradcheck, trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from ...errors import ConfigError, DataError
from .app import (app, console, err_console, output_folder, parse_floats, parse_ints,
                  user_errors)


def load_data(data: str, target: Optional[str]):
    """A built-in data set name, or a CSV path with its target column."""
    from ... import datasets

    if data.lower() in datasets.BUILTIN:
        X, Y = datasets.load_builtin(data)
        return X, Y, None
    if not data.lower().endswith((".csv", ".data", ".txt")) and not Path(data).exists():
        raise ConfigError(f"unknown data set {data!r}; use one of {', '.join(datasets.BUILTIN)} "
                          "or a CSV file path with --target")
    if target is None:
        raise ConfigError(f"{data} is a CSV file: name its target column with --target COLUMN")
    from ...datasets.csv import load_csv

    X, Y, names = load_csv(data, target)
    return X, Y, {"csv": {"target": target, "features": names}}


def _or(value, default):
    """The option's value, or its default when not given (0 is a value, checked later)."""
    return default if value is None else value


@app.command()
def train(
    data: str = typer.Argument("xor", help="Built-in data set (xor, and, or) or a CSV file; "
                               "with --arch also digits or a CIFAR-10 folder."),
    target: Optional[str] = typer.Option(None, help="Target column of the CSV file."),
    csv: Optional[Path] = typer.Option(None, help="Any CSV table: text columns one-hot "
                                       "encoded, missing values ('?', empty) imputed, numbers "
                                       "standardized; needs --target."),
    hidden: str = typer.Option("16", help="With --csv: hidden layer sizes, e.g. 32,16."),
    test_size: float = typer.Option(0.2, help="With --csv: fraction held out for the report."),
    task: str = typer.Option("auto", help="With --csv: auto, classification or regression."),
    layers: str = typer.Option("2,2,1", help="Units per layer, input first, e.g. 2,2,1."),
    arch: Optional[Path] = typer.Option(None, help="A TOML or JSON architecture file (any "
                                        "layers: conv, pooling, dense, ...; see docs/cnn.md); "
                                        "replaces --layers, --activation, --output, --loss."),
    activation: str = typer.Option("sigmoid", help="Hidden activation: sigmoid, tanh, relu, "
                                   "leaky_relu, identity; or one per hidden layer, e.g. "
                                   "tanh,relu."),
    output: Optional[str] = typer.Option(None, help="Output activation (default from the loss)."),
    loss: str = typer.Option("mse", help="mse or cross_entropy."),
    optimizer: Optional[str] = typer.Option(None, help="gd, sgd, momentum, nesterov, adam "
                                            "(default gd; adam with --csv)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate α in (0, 1] "
                                       "(default 1.0; 0.001 with --csv)."),
    epsilon: float = typer.Option(1e-4, help="Stop when every |ΔW|, |Δb| of an epoch < ε."),
    max_epochs: Optional[int] = typer.Option(None, help="Stop after this many epochs at most "
                                             "(default 50000; 200 with --csv)."),
    batch_size: Optional[int] = typer.Option(None, help="Minibatch size (default: full batch)."),
    init: str = typer.Option("normal", help="normal, normal:SCALE, lecun_normal, xavier_normal, "
                             "xavier_uniform, he_normal, he_uniform."),
    seed: int = typer.Option(1, help="Seed for initialization and shuffling."),
    out: Optional[Path] = typer.Option(None, help="Folder to write model.safetensors and "
                                       "history.json into."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    checkpoint: Optional[Path] = typer.Option(None, help="Write a crash-safe checkpoint file "
                                              "there during training."),
    checkpoint_every: int = typer.Option(1, help="Epochs between checkpoints."),
    resume: bool = typer.Option(False, help="Continue from --checkpoint (same settings)."),
    on_divergence: str = typer.Option("stop", help="On NaN/inf: stop (keep the last finite "
                                      "weights) or raise (exit 2)."),
):
    """Train a network (the lecture's 7 steps) and print its W and b."""
    from ...train.callbacks import ProgressBar
    from ...io.model import save
    from ...core.network import Network

    with user_errors():
        if csv is not None and (checkpoint is not None or resume):
            raise ConfigError("--checkpoint/--resume work with the positional DATA form "
                              "(e.g. mlplab train FILE.csv --target COL), not with --csv")
        if csv is not None:
            from .tabular import train_csv_command

            return train_csv_command(csv, target, hidden, activation, _or(optimizer, "adam"),
                                     _or(lr, 0.001), _or(max_epochs, 200), epsilon, batch_size,
                                     test_size, task, seed, out)
        if arch is not None:  # any layers, trained with Adam's defaults for them
            from .arch import train_arch_command

            return train_arch_command(
                arch, data, target, optimizer=_or(optimizer, "adam"), lr=_or(lr, 0.001),
                max_epochs=_or(max_epochs, 20), batch_size=_or(batch_size, 32),
                epsilon=epsilon, seed=seed, out=out, progress=progress, checkpoint=checkpoint,
                checkpoint_every=checkpoint_every, resume=resume, on_divergence=on_divergence)
        optimizer, lr, max_epochs = _or(optimizer, "gd"), _or(lr, 1.0), _or(max_epochs, 50_000)
        X, Y, extra = load_data(data, target)
        sizes = parse_ints(layers, "--layers")
        if len(sizes) >= 1 and sizes[0] != X.shape[1]:
            raise DataError(f"--layers starts with {sizes[0]} inputs but {data} has "
                            f"{X.shape[1]} features; use --layers {X.shape[1]},...")
        if out is not None and out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is a file; give a folder")
        hidden_g = activation.split(",") if "," in activation else activation
        net = Network(sizes, activation=hidden_g, output=output, loss=loss, init=init, seed=seed)
        callbacks = [ProgressBar(max_epochs, console=err_console)] if progress else []
        history = net.fit(X, Y, optimizer=optimizer, learning_rate=lr, epsilon=epsilon,
                          max_epochs=max_epochs, batch_size=batch_size, callbacks=callbacks,
                          checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                          resume=resume, on_divergence=on_divergence)
        console.print(f"stopped: {history.stop_reason}", highlight=False)
        console.print(f"final loss {history.loss[-1]:.6g} after {history.epochs} epochs "
                      f"({history.time_s:.2f} s)", highlight=False)
        if net.output in ("sigmoid", "softmax"):
            console.print(f"training accuracy {net.score(X, Y):.1%}", highlight=False)
        console.print(net.summary(), highlight=False, markup=False)
        if out is not None:
            output_folder(out)
            path = save(net, out / "model.safetensors", extra=extra)
            (out / "history.json").write_text(json.dumps(
                {"loss": history.loss, "epochs": history.epochs,
                 "stop_reason": history.stop_reason}, indent=1))
            console.print(f"saved {path}", highlight=False)


@app.command()
def predict(
    model: Path = typer.Argument(..., help="A model file written by 'mlplab train --out'."),
    data: Optional[str] = typer.Argument(None, help="Built-in data set name or CSV file of "
                                         "numeric features."),
    csv: Optional[Path] = typer.Option(None, help="A CSV table for a model trained with "
                                       "'train --csv': encoded as in training; scored when it "
                                       "holds the target column."),
    output: Optional[Path] = typer.Option(None, help="With --csv: write the rows and their "
                                          "predictions to this CSV file."),
):
    """Print the model's output a⁽ᴸ⁾ and prediction for each row of DATA (or --csv FILE)."""
    from ...datasets.csv import read_frame
    from ...io.model import load

    with user_errors():
        if csv is not None:
            from .tabular import predict_csv_command

            return predict_csv_command(model, csv, output)
        if data is None:
            raise ConfigError("give DATA (a built-in name or numeric CSV) or --csv FILE")
        net = load(model)
        from ... import datasets

        if data.lower() in datasets.BUILTIN:
            X, _ = datasets.load_builtin(data)
        else:
            frame = read_frame(data)
            csv_info = (net.extra or {}).get("csv")
            if isinstance(csv_info, dict) and isinstance(csv_info.get("features"), list):
                missing = [c for c in csv_info["features"] if c not in frame.columns]
                if missing:
                    raise DataError(f"{data} lacks column {missing[0]!r} that the model was "
                                    "trained on")
                frame = frame[csv_info["features"]]
            X = frame.to_numpy()
        from ...core.validation import check_X

        X = check_X(X, net.n_inputs, "data")
        A = net.forward(X)
        pred = net.predict(X)
        with np.printoptions(precision=6, suppress=True):
            for x, a, p in zip(X, A, pred):
                console.print(f"{x} -> a = {a} -> {p}", highlight=False)


@app.command()
def show(model: Path = typer.Argument(..., help="A model file.")):
    """Print every layer's W and b (the lecture's step 7)."""
    from ...io.model import load

    with user_errors():
        net = load(model)
        console.print(net.summary(), highlight=False, markup=False)
        if net.saved_history:
            h = net.saved_history
            console.print(f"trained {h.get('epochs')} epochs; {h.get('stop_reason')}",
                          highlight=False, markup=False)


def _net_for_check(model, layers, activation, output, loss, init, seed):
    from ...io.model import load
    from ...core.network import Network

    if model is not None:
        return load(model)
    return Network(parse_ints(layers, "--layers"), activation=activation, output=output,
                   loss=loss, init=init, seed=seed)


@app.command()
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
        net = _net_for_check(model, layers, activation, output, loss, init, seed)
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(samples, net.n_inputs))
        if net.output == "softmax":
            Y = rng.integers(0, net.n_outputs, samples)
        else:
            Y = rng.integers(0, 2, (samples, net.n_outputs)).astype(float)
        result = run_gradcheck(net, X, Y)
        console.print(str(result), highlight=False)
        if not result.passed:
            raise typer.Exit(1)


@app.command()
def trace(
    x: str = typer.Option("1,0", help="One input sample, comma-separated."),
    y: str = typer.Option("1", help="Its target, comma-separated."),
    model: Optional[Path] = typer.Option(None, help="Trace this model file instead of a new one."),
    layers: str = typer.Option("2,2,1"), activation: str = typer.Option("sigmoid"),
    output: Optional[str] = typer.Option(None), loss: str = typer.Option("mse"),
    init: str = typer.Option("normal"), seed: int = typer.Option(1),
    lr: float = typer.Option(0.5, help="α of the update shown."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
):
    """Forward and backward for one sample: every z, a, δ, ∂C/∂W, ∂C/∂b and the update."""
    from ...core.trace import trace as run_trace

    with user_errors():
        net = _net_for_check(model, layers, activation, output, loss, init, seed)
        t = run_trace(net, parse_floats(x, "--x"), parse_floats(y, "--y"), learning_rate=lr)
        if as_json:
            sys.stdout.write(json.dumps(t.as_dict(), indent=1) + "\n")
        else:
            console.print(str(t), highlight=False, markup=False)
