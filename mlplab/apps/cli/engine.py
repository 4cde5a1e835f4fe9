"""The lecture's checks: ``mlplab gradcheck`` and ``mlplab trace``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from ...errors import ConfigError
from .app import command, console, parse_floats, parse_ints, user_errors


def _net_for_check(model, layers, activation, output, loss, init, seed):
    from ...io.model import load
    from ...core.network import Network

    if model is not None:
        return load(model)
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
        x_values = parse_floats(x, "--x")
        n = net.input_shape[0] if len(net.input_shape) == 1 else None  # vectors, not images
        if n is not None and len(x_values) != n:
            raise ConfigError(f"--x has {len(x_values)} value(s) but the network takes {n} "
                              f"inputs: give --x {n} comma-separated numbers (one sample)")
        t = run_trace(net, x_values, parse_floats(y, "--y"), learning_rate=lr)
        if as_json:
            sys.stdout.write(json.dumps(t.as_dict(), indent=1) + "\n")
        else:
            console.print(str(t), highlight=False, markup=False)
