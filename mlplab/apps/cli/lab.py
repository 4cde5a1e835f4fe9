"""Lab commands: ``mlplab lab NAME --out DIR`` runs one experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import check_output, command, console, user_errors
from .tour import LANG_HELP


@command()
def lab(
    name: Optional[str] = typer.Argument(None, help="Experiment to run (omit, or 'list', to list them)."),
    out: Path = typer.Option(Path("lab-out"), help="Folder for results.json and the figures."),
    quick: bool = typer.Option(False, help="A smaller, faster run (for tests and previews)."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    lang: str = typer.Option("zh", help=LANG_HELP),
    cifar10: Optional[Path] = typer.Option(None, help="With 'cnn': also train the course's "
                                           "CIFAR-10 network on the binary files in this "
                                           "folder (cifar-10-batches-bin)."),
):
    """Run one lecture experiment: writes DIR/results.json and its figures."""
    from ...errors import ConfigError
    from ...lab.experiments import check_seed, discover, get_experiment, run_experiment
    from ...lab.text import check_language, language, plain

    with user_errors():
        check_language(lang)
        if name is None or name == "list":  # `mlplab lab list`, as users try it
            for key, module in discover().items():
                title = getattr(module, "TITLE_ZH", "") if lang == "zh" else module.TITLE
                console.print(f"{key:<14} {title or module.TITLE}", highlight=False)
            return
        get_experiment(name)  # an unknown name fails before --out is checked or created
        check_seed(seed)
        if cifar10 is not None and name != "cnn":
            raise ConfigError(f"--cifar10 belongs to the cnn lab (mlplab lab cnn --cifar10 "
                              f"DIR), not to {name!r}")
        check_output(out, "--out", "folder")
        options = {} if cifar10 is None else {"cifar10": cifar10}
        with language(lang):
            result = run_experiment(name, out, quick=quick, seed=seed, **options)
            console.print(f"[bold]{result.title_zh if lang == 'zh' else result.title}[/bold]")
            for finding in result.findings:
                console.print(f"  • {plain(finding, result.numbers)}", highlight=False,
                              markup=False)
        console.print(f"wrote {out / 'results.json'} and {len(result.figures)} figure(s)",
                      highlight=False)
