"""The tour's HTML report: the lecture's outline, in Chinese or English, one self-contained file.

The page follows :data:`mlplab.lab.outline.OUTLINE`: a ``<section>`` per part (``<h2>``) and
per section (``<h3>``), each with its stable id. An experiment's section shows, in this order,
what the lecture says (and only that), the figures with captions, what was measured, mlplab's
notes, the tables (mlplab's answers to homework questions marked so) and the raw numbers. Every
number in prose is a ``<data>`` element naming its path in that section's ``results.json``.
Fonts (a DejaVu subset and the CJK subset) and figures are embedded, so the one file is the
report on any machine.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from .experiments import Code, Table
from .fonts import font_face_css
from .outline import BY_ID, HOMEWORK, OUTLINE, experiment_ids
from .text import as_html, colon, plain

MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}
e = html.escape

# The page's own words, (English, Chinese).
WORDS = {
    "title": ("mlplab tour: the lecture, executable", "mlplab 导览：可以运行的讲义"),
    "sub": ("Every number below was measured just now by training the networks live ({mode}, "
            "seed {seed}, {seconds} s in all). Part and section titles follow the lecture's "
            "outline; boxes marked “The lecture” say only what the lecture says, everything "
            "else is mlplab's.",
            "下面每个数字都是刚刚实际训练网络测得的（{mode}，随机种子 {seed}，共 {seconds} 秒）。"
            "各部分与小节标题沿用讲义的提纲；标为“讲义”的方框只写讲义所说的内容，其余都是 mlplab 的补充。"),
    "quick": ("quick run", "快速运行"), "full": ("full run", "完整运行"),
    "lecture": ("The lecture", "讲义"), "measured": ("Measured", "实测"),
    "notes": ("mlplab's notes", "mlplab 的说明"),
    "answer": ("mlplab's answer (measured), not the lecture's", "mlplab 的答案（实测），非讲义内容"),
    "numbers": ("All numbers (results.json of", "全部数字（results.json，来自"),
    "failed": ("This experiment failed.", "本实验运行失败。"),
    "meta": ("ran in {seconds} s · <code>mlplab lab {name} --out DIR</code> reruns this section",
             "用时 {seconds} 秒 · 单独重跑本节：<code>mlplab lab {name} --out DIR</code>"),
    "beyond": ("Beyond the lecture", "讲义之后"),
    "footer": ("Written by <code>mlplab tour</code>. Figures and fonts are embedded in this file; "
               "the figures are also saved beside it, one folder per section, with each "
               "section's <code>results.json</code>. Chinese glyphs: a subset of Noto Sans CJK "
               "SC (SIL Open Font License 1.1).",
               "由 <code>mlplab tour</code> 生成。图与字体都嵌在本文件中；图也按小节分文件夹保存在旁边，"
               "每节附 <code>results.json</code>。中文字形：Noto Sans CJK SC 的子集（SIL 开放字体许可 1.1）。"),
    "other_lang": ("中文版：<code>mlplab tour --lang zh</code>", "English: <code>mlplab tour --lang en</code>"),
}

CSS = """
body{font-family:"mlplab Sans","mlplab CJK",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1.2em;color:#1a1a1a;line-height:1.55}
code,pre{font-family:"mlplab Mono","mlplab CJK",monospace}
h1{margin-bottom:.2em} .sub{color:#555;margin-top:0}
nav ol{columns:2;padding-left:1.4em;list-style:none} nav ol ol{columns:1} nav a{text-decoration:none;color:#0060a0}
section.part{border-top:3px solid #bbb;margin-top:2.6em;padding-top:.4em}
section.section{border-top:1px solid #ddd;margin-top:1.8em;padding-top:.4em}
h2 .alt,h3 .alt{color:#b35900;margin-left:.6em;font-size:.8em;font-weight:normal}
.lecture{border-left:4px solid #E69F00;background:#fff8ea;margin:1em 0;padding:.6em 1em}
.notes{border-left:4px solid #009E73;background:#eefaf5;margin:1em 0;padding:.3em 1em}
.answer{border:2px solid #009E73;padding:.2em .8em;margin:1em 0}
.label{font-weight:600}
.figures{display:flex;flex-wrap:wrap;gap:1em 1.5em;justify-content:center;align-items:flex-start}
figure{margin:.6em 0;text-align:center;flex:1 1 440px;max-width:100%}
figure.wide{flex-basis:100%} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.93em;max-width:850px;margin:.4em auto 0;text-align:left}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} caption{font-weight:600;text-align:left;padding:.3em 0}
td code{white-space:pre;font-size:.95em}
.findings li{margin:.25em 0} .error{background:#fdecea;border-left:4px solid #D55E00;padding:.6em 1em}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.8em;max-height:24em}
.meta{color:#666;font-size:.85em} footer{color:#666;font-size:.85em;margin:3em 0 1em}
data{font-variant-numeric:tabular-nums}
"""


def word(key: str, lang: str, **values) -> str:
    en, zh = WORDS[key]
    return (zh if lang == "zh" else en).format(**values)


def _image(path: Path, base: Path, embed: bool) -> str:
    path = Path(path)
    if embed and path.exists():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"data:{MIME.get(path.suffix.lower(), 'application/octet-stream')};base64,{data}"
    return e(path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path))


def _width(path: Path) -> int:
    """Pixel width of an image (0 if unreadable): wide figures get a row of their own."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size[0]
    except Exception:  # a missing or odd file still gets a figure, just not a wide one
        return 0


def _cell(value, numbers, lang) -> str:
    if isinstance(value, Code):
        return f"<code>{e(value.source)}</code>"
    return as_html(value, numbers, lang)


def _table(t: Table, numbers, lang: str) -> str:
    head = "".join(f"<th>{_cell(c, numbers, lang)}</th>" for c in t.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(v, numbers, lang)}</td>" for v in row) + "</tr>"
                   for row in t.rows)
    anchor = f' id="{e(t.id)}"' if t.id else ""
    table = (f"<table{anchor}><caption>{as_html(t.title, numbers, lang)}</caption>"
             f"<tr>{head}</tr>{rows}</table>")
    if t.answer:
        return f'<div class="answer"><p class="label">{word("answer", lang)}</p>{table}</div>'
    return table


def _body(s, base: Path, embed: bool, lang: str) -> list[str]:
    """The inside of one experiment's section (everything under its heading)."""
    r, parts = s.result, []
    n = r.numbers
    if r.lecture is not None:
        parts.append(f'<div class="lecture"><p><span class="label">{word("lecture", lang)}{colon(lang)}</span>'
                     f"{as_html(r.lecture, n, lang)}</p></div>")
    elif s.name not in BY_ID and s.claim:  # a lab beyond the lecture states its own claim
        parts.append(f'<div class="notes"><p>{as_html(s.claim, n, lang)}</p></div>')
    parts.append('<div class="figures">')
    for path, caption in r.figures:
        wide = ' class="wide"' if _width(path) > 800 else ""
        alt = e(plain(caption, n, lang), quote=True)  # escaped once: the plain text, not HTML
        parts.append(f'<figure{wide}><img src="{_image(path, base, embed)}" alt="{alt}">'
                     f"<figcaption>{as_html(caption, n, lang)}</figcaption></figure>")
    parts.append("</div>")
    if r.findings:
        parts.append(f'<p class="label">{word("measured", lang)}</p><ul class="findings">'
                     + "".join(f"<li>{as_html(f, n, lang)}</li>" for f in r.findings) + "</ul>")
    if r.notes:
        parts.append(f'<div class="notes"><p class="label">{word("notes", lang)}</p>'
                     + "".join(f"<p>{as_html(f, n, lang)}</p>" for f in r.notes) + "</div>")
    parts.extend(_table(t, n, lang) for t in r.tables)
    dump = json.dumps(n, indent=1, ensure_ascii=False, default=float)
    parts.append(f"<details><summary>{word('numbers', lang)} <code>mlplab lab {e(s.name)}</code>)"
                 f"</summary><pre>{e(dump)}</pre></details>")
    return parts


def _heading(entry_id: str, level: int, zh: str, en: str, lang: str) -> str:
    main, alt = (zh, "") if lang == "zh" else (en, zh)
    alt_html = f'<span class="alt" lang="zh">{e(alt)}</span>' if alt else ""
    return f"<h{level + 1}>{e(main)}{alt_html}</h{level + 1}>"


def _section(s, level: int, base: Path, embed: bool, lang: str) -> str:
    entry = BY_ID.get(s.name)
    zh, en = (entry.zh, entry.en) if entry else (s.title_zh, s.title)
    parts = [f'<section class="{"part" if level == 1 else "section"}" id="{e(s.name)}">',
             _heading(s.name, level, zh, en, lang)]
    if s.error is not None:
        parts.append(f'<div class="error"><b>{word("failed", lang)}</b><pre>{e(s.error)}</pre></div>')
    else:
        parts.extend(_body(s, base, embed, lang))
    parts.append(f'<p class="meta">{word("meta", lang, seconds=f"{s.seconds:.1f}", name=e(s.name))}'
                 "</p></section>")
    return "\n".join(parts)


def _homework(entry_id: str, ran: dict, lang: str) -> str:
    """The homework sections: the lecture's three tasks, linked to where mlplab answers them."""
    from .homework import homework_html

    return homework_html(entry_id, ran, lang)


def render(tour, *, quick: bool = False, seed: int = 0, embed: bool = True, lang: str = "zh") -> str:
    """The report as one HTML page in ``lang``."""
    base = tour.path.parent
    ran = {s.name: s for s in tour.sections}
    lecture_ids = set(experiment_ids())
    full = lecture_ids <= set(ran)  # the homework links need the whole lecture
    body, toc, open_part = [], [], False
    for i, entry in enumerate(OUTLINE):
        is_part_head = i + 1 < len(OUTLINE) and OUTLINE[i + 1].level > entry.level
        if entry.id in HOMEWORK and not full:
            continue
        if entry.level == 2 or not is_part_head:
            if entry.id not in ran and entry.id not in HOMEWORK:
                continue
        if entry.level == 1 and open_part:
            body.append("</section>")
            open_part = False
        if is_part_head:
            children = [c for c in OUTLINE[i + 1:] if c.level == 2]
            if not any(c.id in ran or (c.id in HOMEWORK and full) for c in children):
                continue
            body.append(f'<section class="part" id="{e(entry.id)}">'
                        + _heading(entry.id, 1, entry.zh, entry.en, lang))
            open_part = True
        elif entry.id in HOMEWORK:
            body.append(_homework(entry.id, ran, lang))
        else:
            body.append(_section(ran[entry.id], entry.level, base, embed, lang))
        toc.append((entry, entry.level))
    if open_part:
        body.append("</section>")
    extra = [s for s in tour.sections if s.name not in lecture_ids]
    if extra:
        body.append(f'<section class="part" id="beyond"><h2>{word("beyond", lang)}</h2>')
        body.extend(_section(s, 2, base, embed, lang) for s in extra)
        body.append("</section>")
    return _page(tour, body, toc, extra, quick=quick, seed=seed, lang=lang)


def _toc(toc, extra, ran, lang: str) -> str:
    items = []
    for entry, level in toc:
        failed = " ✗" if entry.id in ran and ran[entry.id].error else ""
        link = f'<a href="#{e(entry.id)}">{e(entry.title(lang))}</a>{failed}'
        items.append(f'<li style="margin-left:{(level - 1) * 1.2}em">{link}</li>')
    items += [f'<li style="margin-left:1.2em"><a href="#{e(s.name)}">'
              f"{e(s.title_zh if lang == 'zh' else s.title)}</a></li>" for s in extra]
    return "<nav><ol>" + "".join(items) + "</ol></nav>"


def _page(tour, body: list[str], toc, extra, *, quick: bool, seed: int, lang: str) -> str:
    ran = {s.name: s for s in tour.sections}
    mode = word("quick" if quick else "full", lang)
    head = (f"<h1>{word('title', lang)}</h1>"
            f'<p class="sub">{e(word("sub", lang, mode=mode, seed=seed, seconds=f"{tour.seconds:.0f}"))}'
            f" · {word('other_lang', lang)}</p>" + _toc(toc, extra, ran, lang))
    main = "\n".join(body)
    footer = f"<footer>{word('footer', lang)}</footer>"
    visible = re.sub(r"<[^>]+>", " ", head + main + footer)
    fonts = font_face_css(html.unescape(visible) + word("title", lang))
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{word('title', lang)}</title><style>{fonts}\n{CSS}</style></head>\n"
            f"<body>{head}\n{main}\n{footer}\n</body></html>\n")


__all__ = ["render"]
