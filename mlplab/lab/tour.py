"""The tour: run every lecture experiment and gather them in one self-contained HTML report.

Sections come from :func:`mlplab.lab.experiments.discover`, in the lecture's order
(:mod:`mlplab.lab.outline`): adding an experiment module adds a section, with nothing to change
here. The report is written by :mod:`mlplab.lab.report`, in Chinese or English.

With ``jobs > 1`` the experiments run in that many worker processes, the longest first: the
sections are independent, and on two cores the tour then takes about as long as its longest
experiment. Each worker limits BLAS to one thread (the matrices are small, and two pools on
two cores only fight).
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..io.files import atomic_write
from .experiments import ExperimentResult, check_seed, discover
from .text import DEFAULT_LANGUAGE, T, check_language, language

# Rough seconds of each full run, for scheduling only (the longest start first).
EXPECTED_SECONDS = {"overfitting": 55, "gradients": 25, "xor": 8, "boundaries": 6}


@dataclass
class Section:
    """One experiment's run: its result, or the error that stopped it."""

    name: str
    title: str
    title_zh: str
    claim: str | T  # a T where the lab writes it in both languages
    seconds: float
    result: ExperimentResult | None = None
    error: str | None = None


@dataclass
class Tour:
    """What :func:`run_tour` did: the report's path and every section."""

    path: Path
    sections: list[Section] = field(default_factory=list)
    seconds: float = 0.0
    lang: str = DEFAULT_LANGUAGE

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.error is not None]


def _run_one(name: str, folder: Path, quick: bool, seed: int, lang: str,
             one_thread: bool = False) -> Section:
    """Run experiment ``name`` into ``folder`` (in this process or a worker)."""
    module = discover()[name]
    section = Section(name, module.TITLE, getattr(module, "TITLE_ZH", ""),
                      getattr(module, "CLAIM", ""), 0.0)
    t0 = time.perf_counter()
    try:
        with language(lang):
            if one_thread:
                from threadpoolctl import threadpool_limits

                with threadpool_limits(1):
                    section.result = module.run(folder, quick=quick, seed=seed)
            else:
                section.result = module.run(folder, quick=quick, seed=seed)
            section.result.save_json(folder)
    except Exception:  # one broken experiment must not lose the others' report
        section.error = traceback.format_exc()
    section.seconds = time.perf_counter() - t0
    return section


def run_tour(out: Path, *, quick: bool = False, seed: int = 0, only: list[str] | None = None,
             embed: bool = True, lang: str = DEFAULT_LANGUAGE, jobs: int = 1,
             progress: Callable[[str, int, int, Section | None], None] | None = None) -> Tour:
    """Run every experiment into ``out/NAME/`` and write ``out/index.html``.

    Parameters
    ----------
    out : folder of the report (created).
    quick : smaller, faster runs.
    seed : seed of every experiment.
    only : run just these experiments (by NAME), in tour order.
    embed : put the figures inside index.html (base64), so the one file is the whole report;
        they are written beside it in ``out/NAME/`` as well.
    lang : ``"zh"`` (the lecture's Chinese) or ``"en"``: the report, captions and figures.
    jobs : worker processes (1: run here, one after the other).
    progress : called as ``progress(name, i, n, None)`` when an experiment starts and
        ``(name, i, n, section)`` when it ends.
    """
    check_language(lang)
    check_seed(seed)
    if only is not None and not only:
        raise ConfigError("--only names no experiment; give NAME[,NAME…] "
                          f"from: {', '.join(discover())}, or leave --only out to run all")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs must be an integer ≥ 1, got {jobs!r}")
    experiments = discover()
    if only:
        unknown = [n for n in only if n not in experiments]
        if unknown:
            raise ConfigError(f"unknown experiment {unknown[0]!r}; choose from: "
                              f"{', '.join(experiments)}")
        experiments = {k: v for k, v in experiments.items() if k in only}
    out.mkdir(parents=True, exist_ok=True)
    for name in experiments:
        (out / name).mkdir(exist_ok=True)
    tour = Tour(out / "index.html", lang=lang)
    start = time.perf_counter()
    names = list(experiments)
    if jobs == 1 or len(names) == 1:
        done = {}
        for i, name in enumerate(names, start=1):
            if progress:
                progress(name, i, len(names), None)
            done[name] = _run_one(name, out / name, quick, seed, lang)
            if progress:
                progress(name, i, len(names), done[name])
    else:
        done = _run_parallel(names, out, quick, seed, lang, jobs, progress)
    tour.sections = [done[name] for name in names]  # lecture order, whatever finished first
    tour.seconds = time.perf_counter() - start
    from .report import render

    atomic_write(tour.path, render(tour, quick=quick, seed=seed, embed=embed, lang=lang),
                 "tour report")
    return tour


def _run_parallel(names, out: Path, quick, seed, lang, jobs, progress) -> dict[str, Section]:
    longest_first = sorted(names, key=lambda n: -EXPECTED_SECONDS.get(n, 3))
    done: dict[str, Section] = {}
    # spawn, not fork: the parent may hold BLAS or OpenMP threads, which fork does not copy
    with ProcessPoolExecutor(min(jobs, len(names)), mp_context=get_context("spawn")) as pool:
        futures = {}
        for name in longest_first:
            if progress:
                progress(name, names.index(name) + 1, len(names), None)
            futures[pool.submit(_run_one, name, out / name, quick, seed, lang, True)] = name
        for future in as_completed(futures):
            name = futures[future]
            done[name] = future.result()
            if progress:
                progress(name, names.index(name) + 1, len(names), done[name])
    return done


def default_jobs() -> int:
    """Two workers where two cores are free to us (the tour's sections are independent)."""
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1)))
