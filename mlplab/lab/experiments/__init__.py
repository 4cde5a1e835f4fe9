"""Experiments: one module per lecture question; each runs, measures and draws.

An experiment module defines

- ``NAME`` (its CLI name: ``mlplab lab NAME``), ``ORDER`` (its place among the labs that
  follow the lecture; the lecture's own sections keep the outline's order),
- ``TITLE``, ``TITLE_ZH`` (English and Chinese titles) and ``CLAIM`` (what it shows, in one
  sentence),
- ``run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult``, which writes
  its figures (PNG) into ``out`` and returns the numbers. It never prints.

Modules are discovered: adding a file here adds a lab command and a tour section. A module
whose ``NAME`` is a section id of :mod:`mlplab.lab.outline` fills that section of the
lecture; any other (the CNN and RNN labs, say) follows the lecture, linked from homework 3.

Text of a result (captions, findings, table cells, notes) is a plain string or a
:class:`~mlplab.lab.text.T` in both languages whose numbers name paths of ``numbers``; it is
written in the language of :func:`mlplab.lab.text.language` (Chinese unless set).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ...errors import ConfigError
from ...io.files import atomic_write
from ..text import T, current_language, plain


@dataclass(frozen=True)
class Code:
    """A table cell holding a line of source code (shown as code, its digits are not data)."""

    source: str

    def __str__(self) -> str:
        return self.source


@dataclass
class Table:
    """A small table for the report: ``rows`` are lists aligned with ``columns``.

    ``answer`` marks a table that is mlplab's measured answer to a homework question; ``id``
    is its anchor in the report (homework 2 links to it).
    """

    title: str | T
    columns: list
    rows: list[list]
    answer: bool = False
    id: str = ""

    def as_dict(self, numbers=None) -> dict:
        return {"title": plain(self.title, numbers),
                "columns": [plain(c, numbers) for c in self.columns],
                "rows": [[c if isinstance(c, (int, float)) else plain(c, numbers) for c in row]
                         for row in self.rows], "answer": self.answer, "id": self.id}


@dataclass
class ExperimentResult:
    """What an experiment measured and drew.

    ``numbers`` must be JSON-serializable; it becomes ``results.json``. ``figures`` are paths
    of PNG files inside the output folder, with a caption each. ``lecture`` is what the
    lecture itself says here (quoted or closely paraphrased, nothing more); ``notes`` are
    mlplab's explanations and answers, shown labelled as mlplab's.
    """

    name: str
    title: str
    title_zh: str
    claim: str | T
    numbers: dict
    figures: list[tuple[Path, str | T]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    findings: list[str | T] = field(default_factory=list)
    lecture: T | str | None = None
    notes: list[str | T] = field(default_factory=list)

    def as_dict(self) -> dict:
        n = self.numbers
        return {"name": self.name, "title": self.title, "title_zh": self.title_zh,
                "claim": plain(self.claim, n), "lang": current_language(),
                "lecture": plain(self.lecture, n) if self.lecture is not None else None,
                "findings": [plain(f, n) for f in self.findings],
                "notes": [plain(f, n) for f in self.notes], "numbers": n,
                "tables": [t.as_dict(n) for t in self.tables],
                "figures": [{"path": p.name, "caption": plain(c, n)} for p, c in self.figures]}

    def save_json(self, out: Path) -> Path:
        path = Path(out) / "results.json"
        atomic_write(path, json.dumps(self.as_dict(), indent=1, default=float,
                                      ensure_ascii=False), "results file")
        return path


def discover() -> dict[str, ModuleType]:
    """Every experiment module of this package, by ``NAME``, in tour order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found.append(module)
    from ..outline import order

    found.sort(key=lambda m: (order(m.NAME), getattr(m, "ORDER", 100), m.NAME))
    return {m.NAME: m for m in found}


MAX_SEED = 2**31 - 1  # experiments add small offsets; numpy and scikit-learn take < 2**32


def check_seed(seed, name: str = "--seed") -> int:
    """``seed`` if it is a whole number from 0 to :data:`MAX_SEED`, else a ConfigError
    (numpy refuses a negative seed only deep inside a run, as a traceback)."""
    from ...core.validation import check_seed as check

    return check(seed, name, MAX_SEED)


def get_experiment(name: str) -> ModuleType:
    experiments = discover()
    if name not in experiments:
        raise ConfigError(f"unknown experiment {name!r}; choose one of: "
                          f"{', '.join(experiments) or '(none installed)'}")
    return experiments[name]


def run_experiment(name: str, out: Path, *, quick: bool = False, seed: int = 0,
                   **options) -> ExperimentResult:
    """Run experiment ``name`` into folder ``out`` and write ``out/results.json``; ``options``
    go to that experiment's ``run`` (e.g. ``cifar10=DIR`` for the cnn lab)."""
    module = get_experiment(name)
    check_seed(seed)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    result = module.run(out, quick=quick, seed=seed, **options)
    result.save_json(out)
    return result
