"""Lab commands: ``mlplab lab NAME --out DIR`` runs one experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import check_output, command, console, user_errors


@command()
def lab(
    name: Optional[str] = typer.Argument(None, help="Experiment to run (omit to list them)."),
    out: Path = typer.Option(Path("lab-out"), help="Folder for results.json and the figures."),
    quick: bool = typer.Option(False, help="A smaller, faster run (for tests and previews)."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
):
    """Run one lecture experiment: writes DIR/results.json and its figures."""
    from ...lab.experiments import discover, get_experiment, run_experiment

    with user_errors():
        if name is None:
            for key, module in discover().items():
                console.print(f"{key:<14} {module.TITLE}", highlight=False)
            return
        get_experiment(name)  # an unknown name fails before --out is checked or created
        check_output(out, "--out", "folder")
        result = run_experiment(name, out, quick=quick, seed=seed)
        console.print(f"[bold]{result.title}[/bold]  {result.title_zh}")
        for finding in result.findings:
            console.print(f"  • {finding}", highlight=False, markup=False)
        console.print(f"wrote {out / 'results.json'} and {len(result.figures)} figure(s)",
                      highlight=False)
