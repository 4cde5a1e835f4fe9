"""The shared pieces of the command line: the typer app, the consoles, and error handling.

Every :class:`~mlplab.errors.MlplabError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

from contextlib import contextmanager

import typer
from rich.console import Console

from ...errors import ConfigError, MlplabError

app = typer.Typer(
    help="mlplab: the lecture's neural networks, executable. Train, inspect, trace and "
         "gradient-check multilayer perceptrons written from first principles in NumPy.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(soft_wrap=True)  # long paths and numbers stay on one line
err_console = Console(stderr=True, soft_wrap=True)


@contextmanager
def user_errors():
    """Turn an mlplab error into one line on stderr and exit code 2."""
    try:
        yield
    except MlplabError as exc:
        message = " ".join(str(exc).split())
        err_console.print(f"error: {message}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def output_folder(path, option: str = "--out"):
    """Create the folder ``path`` (and parents); a path that cannot be one is a ConfigError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {path} cannot be created as a folder "
                          f"({exc.strerror or exc}); give a writable folder") from None
    return path


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers like 2,2,1; got {text!r}") from None
    return values


def parse_floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers like 1,0; got {text!r}") from None


def main() -> None:
    """Entry point of the ``mlplab`` command."""
    app()
