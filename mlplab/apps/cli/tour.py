"""``mlplab tour``: every lecture experiment, one HTML report, in Chinese or English."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import check_output, command, console, err_console, user_errors

LANG_HELP = "Language of the report and its figures: zh (the lecture's Chinese) or en."


@command()
def tour(
    out: Path = typer.Option(Path("mlplab-tour"), help="Folder for index.html and the figures."),
    quick: bool = typer.Option(False, help="Smaller, faster runs (a preview)."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    only: Optional[str] = typer.Option(None, help="Comma-separated experiments to run, e.g. "
                                       "xor,universal (default: all)."),
    lang: str = typer.Option("zh", help=LANG_HELP),
    jobs: Optional[int] = typer.Option(None, help="Worker processes (default: 2 where 2 cores "
                                       "are available, else 1)."),
):
    """Run every lecture experiment and write one self-contained report, DIR/index.html."""
    from ...lab.experiments import check_seed
    from ...lab.text import check_language
    from ...lab.tour import default_jobs, run_tour

    def progress(name, i, n, section):
        if section is None:
            err_console.print(f"[{i}/{n}] {name} …", highlight=False, markup=False)
        elif section.error:
            err_console.print(f"      {name} FAILED after {section.seconds:.1f} s: "
                              f"{section.error.strip().splitlines()[-1]}", highlight=False,
                              markup=False)
        else:
            title = section.title_zh if lang == "zh" else section.title
            err_console.print(f"      {name} · {title}: {len(section.result.figures)} figure(s), "
                              f"{section.seconds:.1f} s", highlight=False, markup=False)

    with user_errors():
        check_language(lang)
        check_seed(seed)
        names = None if only is None else [n.strip() for n in only.split(",") if n.strip()]
        result = run_tour(check_output(out, "--out", "folder"), quick=quick, seed=seed,
                          only=names, lang=lang, jobs=default_jobs() if jobs is None else jobs,
                          progress=progress)
        console.print(f"{len(result.sections)} sections in {result.seconds:.1f} s", highlight=False)
        console.print(f"report ({lang}): {result.path.resolve()}", highlight=False, markup=False)
        if result.failed:
            err_console.print(f"{len(result.failed)} section(s) failed: "
                              f"{', '.join(s.name for s in result.failed)}", highlight=False)
            raise typer.Exit(1)
