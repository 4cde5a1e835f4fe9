"""Lab commands: ``mlplab lab NAME --out DIR`` runs one experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app, console, output_folder, user_errors


@app.command()
def lab(
    name: Optional[str] = typer.Argument(None, help="Experiment to run (omit to list them)."),
    out: Path = typer.Option(Path("lab-out"), help="Folder for results.json and the figures."),
    quick: bool = typer.Option(False, help="A smaller, faster run (for tests and previews)."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    cifar10: Optional[Path] = typer.Option(None, help="With 'cnn': also train the course's "
                                           "CIFAR-10 network on the binary files in this "
                                           "folder (cifar-10-batches-bin)."),
):
    """Run one lecture experiment: writes DIR/results.json and its figures."""
    from ...errors import ConfigError
    from ...lab.experiments import discover, run_experiment

    with user_errors():
        if name is None:
            for key, module in discover().items():
                console.print(f"{key:<14} {module.TITLE}", highlight=False)
            return
        if cifar10 is not None and name != "cnn":
            raise ConfigError(f"--cifar10 belongs to the cnn lab (mlplab lab cnn --cifar10 "
                              f"DIR), not to {name!r}")
        options = {} if cifar10 is None else {"cifar10": cifar10}
        result = run_experiment(name, output_folder(out), quick=quick, seed=seed, **options)
        console.print(f"[bold]{result.title}[/bold]  {result.title_zh}")
        for finding in result.findings:
            console.print(f"  • {finding}", highlight=False, markup=False)
        console.print(f"wrote {out / 'results.json'} and {len(result.figures)} figure(s)",
                      highlight=False)
