"""The tour: run every lecture experiment and gather them in one self-contained HTML report.

Sections come from :func:`mlplab.experiments.discover`, in ``ORDER``: adding an experiment
module adds a section, with nothing to change here. Each section shows the lecture's claim,
its Chinese title, the figures with captions, the tables, the findings and the raw numbers.
"""

from __future__ import annotations

import base64
import html
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..io.files import atomic_write
from .experiments import ExperimentResult, discover

MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}


@dataclass
class Section:
    """One experiment's run: its result, or the error that stopped it."""

    name: str
    title: str
    title_zh: str
    claim: str
    seconds: float
    result: ExperimentResult | None = None
    error: str | None = None


@dataclass
class Tour:
    """What :func:`run_tour` did: the report's path and every section."""

    path: Path
    sections: list[Section] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.error is not None]


def run_tour(out: Path, *, quick: bool = False, seed: int = 0, only: list[str] | None = None,
             embed: bool = True, progress: Callable[[str, int, int, Section | None], None] | None = None
             ) -> Tour:
    """Run every experiment into ``out/NAME/`` and write ``out/index.html``.

    Parameters
    ----------
    out : folder of the report (created).
    quick : smaller, faster runs.
    seed : seed of every experiment.
    only : run just these experiments (by NAME), in tour order.
    embed : put the figures inside index.html (base64), so the one file is the whole report;
        they are written beside it in ``out/NAME/`` as well.
    progress : called as ``progress(name, i, n, None)`` before and ``(name, i, n, section)``
        after each experiment.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    experiments = discover()
    if only:
        unknown = [n for n in only if n not in experiments]
        if unknown:
            raise ConfigError(f"unknown experiment {unknown[0]!r}; choose from: "
                              f"{', '.join(experiments)}")
        experiments = {k: v for k, v in experiments.items() if k in only}
    out.mkdir(parents=True, exist_ok=True)
    tour = Tour(out / "index.html")
    start = time.perf_counter()
    for i, (name, module) in enumerate(experiments.items(), start=1):
        if progress:
            progress(name, i, len(experiments), None)
        folder = out / name
        folder.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        section = Section(name, module.TITLE, getattr(module, "TITLE_ZH", ""),
                          getattr(module, "CLAIM", ""), 0.0)
        try:
            section.result = module.run(folder, quick=quick, seed=seed)
            section.result.save_json(folder)
        except Exception:  # one broken experiment must not lose the others' report
            section.error = traceback.format_exc()
        section.seconds = time.perf_counter() - t0
        tour.sections.append(section)
        if progress:
            progress(name, i, len(experiments), section)
    tour.seconds = time.perf_counter() - start
    atomic_write(tour.path, render(tour, quick=quick, seed=seed, embed=embed), "tour report")
    return tour


# ----------------------------------------------------------------- HTML
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC",
"Microsoft YaHei",sans-serif;max-width:1100px;margin:2em auto;padding:0 1.2em;color:#1a1a1a;
line-height:1.5}
h1{margin-bottom:.2em} .sub{color:#555;margin-top:0}
nav ol{columns:2;padding-left:1.4em} nav a{text-decoration:none;color:#0060a0}
section{border-top:2px solid #ddd;margin-top:2.2em;padding-top:.6em}
h2 .zh{color:#b35900;margin-right:.5em}
.claim{border-left:4px solid #E69F00;background:#fff8ea;margin:1em 0;padding:.6em 1em}
.figures{display:flex;flex-wrap:wrap;gap:1em 1.5em;justify-content:center;align-items:flex-start}
figure{margin:.6em 0;text-align:center;flex:1 1 440px;max-width:100%}
figure.wide{flex-basis:100%} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.93em;max-width:850px;margin:.4em auto 0;text-align:left}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} caption{font-weight:600;text-align:left;padding:.3em 0}
.findings li{margin:.25em 0} .error{background:#fdecea;border-left:4px solid #D55E00;padding:.6em 1em}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.8em;max-height:24em}
.meta{color:#666;font-size:.85em} footer{color:#666;font-size:.85em;margin:3em 0 1em}
"""


def _image(path: Path, base: Path, embed: bool) -> str:
    path = Path(path)
    if embed and path.exists():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"data:{MIME.get(path.suffix.lower(), 'application/octet-stream')};base64,{data}"
    return html.escape(path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path))


def _width(path: Path) -> int:
    """Pixel width of an image (0 if unreadable): wide figures get a row of their own."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size[0]
    except Exception:  # a missing or odd file still gets a figure, just not a wide one
        return 0


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _section(s: Section, base: Path, embed: bool) -> str:
    e = html.escape
    parts = [f'<section id="{e(s.name)}">',
             f'<h2><span class="zh">{e(s.title_zh)}</span>{e(s.title)}</h2>',
             f'<p class="claim"><b>The lecture says:</b> {e(s.claim)}</p>']
    if s.error is not None:
        parts.append(f'<div class="error"><b>This experiment failed.</b><pre>{e(s.error)}</pre></div>')
    else:
        r = s.result
        if r.findings:
            parts.append("<h3>Measured</h3><ul class=\"findings\">"
                         + "".join(f"<li>{e(f)}</li>" for f in r.findings) + "</ul>")
        parts.append('<div class="figures">')
        for path, caption in r.figures:
            wide = ' class="wide"' if _width(path) > 800 else ""
            parts.append(f'<figure{wide}><img src="{_image(path, base, embed)}" alt="{e(caption)}">'
                         f"<figcaption>{e(caption)}</figcaption></figure>")
        parts.append("</div>")
        for t in r.tables:
            head = "".join(f"<th>{e(str(c))}</th>" for c in t.columns)
            rows = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                           for row in t.rows)
            parts.append(f"<table><caption>{e(t.title)}</caption><tr>{head}</tr>{rows}</table>")
        numbers = json.dumps(r.numbers, indent=1, ensure_ascii=False, default=float)
        parts.append(f"<details><summary>All numbers (results.json of <code>mlplab lab {e(s.name)}"
                     f"</code>)</summary><pre>{e(numbers)}</pre></details>")
    parts.append(f'<p class="meta">ran in {s.seconds:.1f} s · <code>mlplab lab {e(s.name)} '
                 f"--out DIR</code> reruns this section alone</p></section>")
    return "\n".join(parts)


def render(tour: Tour, *, quick: bool = False, seed: int = 0, embed: bool = True) -> str:
    """The report as one HTML page."""
    e = html.escape
    base = tour.path.parent
    toc = "".join(f'<li><a href="#{e(s.name)}"><span class="zh">{e(s.title_zh)}</span> '
                  f"{e(s.title)}</a>{' (failed)' if s.error else ''}</li>" for s in tour.sections)
    body = "\n".join(_section(s, base, embed) for s in tour.sections)
    mode = "quick run" if quick else "full run"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlplab tour: the lecture, executable</title><style>{CSS}</style></head>
<body><h1>mlplab tour: the lecture, executable</h1>
<p class="sub">Every claim below was measured just now by training the networks live
({mode}, seed {seed}, {tour.seconds:.0f} s in all). Chinese titles are the lecture's sections.</p>
<nav><ol>{toc}</ol></nav>
{body}
<footer>Written by <code>mlplab tour</code>. Figures are embedded in this file and also saved
beside it, one folder per section, with each section's <code>results.json</code>.</footer>
</body></html>
"""
