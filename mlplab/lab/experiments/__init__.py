"""Experiments: one module per lecture question; each runs, measures and draws.

An experiment module defines

- ``NAME`` (its CLI name: ``mlplab lab NAME``), ``ORDER`` (its place in ``mlplab tour``),
- ``TITLE``, ``TITLE_ZH`` (the lecture's Chinese section title) and ``CLAIM`` (the lecture's
  claim in one sentence),
- ``run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult``, which writes
  its figures (PNG) into ``out`` and returns the numbers. It never prints.

Modules are discovered: adding a file here adds a lab command and a tour section.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ...errors import ConfigError


@dataclass
class Table:
    """A small table for the report: ``rows`` are lists aligned with ``columns``."""

    title: str
    columns: list[str]
    rows: list[list]

    def as_dict(self) -> dict:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass
class ExperimentResult:
    """What an experiment measured and drew.

    ``numbers`` must be JSON-serializable; it becomes ``results.json``. ``figures`` are paths
    of PNG files inside the output folder, with a caption each.
    """

    name: str
    title: str
    title_zh: str
    claim: str
    numbers: dict
    figures: list[tuple[Path, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "title_zh": self.title_zh,
                "claim": self.claim, "findings": self.findings, "numbers": self.numbers,
                "tables": [t.as_dict() for t in self.tables],
                "figures": [{"path": p.name, "caption": c} for p, c in self.figures]}

    def save_json(self, out: Path) -> Path:
        path = Path(out) / "results.json"
        path.write_text(json.dumps(self.as_dict(), indent=1, default=float))
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
    found.sort(key=lambda m: getattr(m, "ORDER", 100))
    return {m.NAME: m for m in found}


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
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    result = module.run(out, quick=quick, seed=seed, **options)
    result.save_json(out)
    return result
