"""The report's words in two languages, its numbers as references into ``results.json``.

Two ideas, one module:

- **Language.** The lab writes Chinese (``"zh"``, the lecture's language, the default) or
  English (``"en"``). :func:`language` sets it for a block of code (a context variable, so
  experiments need no extra argument); :func:`tr` picks the word a figure needs.
- **Numbers.** A sentence :class:`T` holds both languages as templates whose placeholders
  ``{path:fmt}`` name a value of the experiment's ``numbers`` (the dict that becomes
  ``results.json``): ``T("{solved.epochs} epochs", "{solved.epochs} 轮")``. No number is
  typed into a sentence by hand, so none can disagree with ``results.json``; in HTML each
  becomes ``<data data-key="solved.epochs" data-fmt="">1234</data>``, which a test re-reads.

Paths are dotted; list items are addressed by their index (``runs.0.accuracy``). A format
spec is Python's (``.3g``, ``.1%``, ``d``); a missing value (``None``, NaN) prints as "—".
A list prints as ``[a, b]`` (each entry formatted), or joined by "-" with the spec ``arch``
(a network's sizes, 3-3-2) or by "×" with ``shape`` (a matrix's shape, 2×3).
"""

from __future__ import annotations

import html
import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import ConfigError

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"  # the lecture's language; `--lang en` for everyone else
_language: ContextVar[str] = ContextVar("mlplab_lab_language", default=DEFAULT_LANGUAGE)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)(?::([^{}]*))?\}")
MISSING = "—"
BOOLEANS = {"en": {True: "yes", False: "no"}, "zh": {True: "是", False: "否"}}


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else a :class:`ConfigError` naming them."""
    if lang not in LANGUAGES:
        raise ConfigError(f"unknown language {lang!r}; choose one of: {', '.join(LANGUAGES)} "
                          "(zh: the lecture's Chinese, en: English)")
    return lang


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Write the lab's text (figures, captions, findings) in ``lang`` inside this block."""
    token = _language.set(check_language(lang))
    try:
        yield lang
    finally:
        _language.reset(token)


def current_language() -> str:
    """The language set by the innermost :func:`language` block (default :data:`DEFAULT_LANGUAGE`)."""
    return _language.get()


def tr(en: str, zh: str) -> str:
    """The word in the current language: for figure labels, which hold no numbers of record."""
    return zh if current_language() == "zh" else en


def colon(lang: str | None = None) -> str:
    """The colon that ends a label: full-width "：" in Chinese, ": " in English."""
    return "：" if (lang or current_language()) == "zh" else ": "


def lookup(numbers: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``numbers`` (dicts by key, lists by integer index)."""
    value = numbers
    for part in path.split("."):
        try:
            value = value[int(part)] if isinstance(value, (list, tuple)) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"no number {path!r} in results.json (failed at {part!r})") from None
    return value


def format_value(value: Any, fmt: str = "", lang: str | None = None) -> str:
    """``value`` formatted by ``fmt``; None and NaN print as "—", a truth value as yes/no
    (是/否 in Chinese: the report's words, not Python's True/False)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return BOOLEANS[lang or current_language()][value]
    if isinstance(value, (list, tuple)):
        if fmt in ("arch", "shape"):
            return ("-" if fmt == "arch" else "×").join(str(v) for v in value)
        return "[" + ", ".join(format_value(v, fmt, lang) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt).replace("-", "−")  # a true minus sign, as in the formulas
    return format(value, fmt)


@dataclass(frozen=True)
class T:
    """A sentence in English and Chinese; ``{path:fmt}`` placeholders name numbers.

    Parameters
    ----------
    en, zh : the two templates. Literal braces are doubled, as in :meth:`str.format`.
    """

    en: str
    zh: str

    def template(self, lang: str | None = None) -> str:
        return self.zh if (lang or current_language()) == "zh" else self.en

    def refs(self) -> list[str]:
        """Every path either template names."""
        return [m.group(1) for t in (self.en, self.zh) for m in PLACEHOLDER.finditer(t)]

    def text(self, numbers: Any = None, lang: str | None = None) -> str:
        """Plain text, the numbers filled in (for figures, the terminal, results.json)."""
        return _fill(self.template(lang), numbers, lambda s: s,
                     lambda path, fmt, value: format_value(value, fmt, lang))

    def html(self, numbers: Any = None, lang: str | None = None) -> str:
        """Escaped HTML; each number a ``<data>`` element that names its path and format."""
        def number(path, fmt, value):
            return (f'<data value="{html.escape(str(value))}" data-key="{html.escape(path)}" '
                    f'data-fmt="{html.escape(fmt)}">{html.escape(format_value(value, fmt, lang))}</data>')
        return _fill(self.template(lang), numbers, html.escape, number)

    def __str__(self) -> str:
        return self.text()


def _fill(template: str, numbers, literal, number) -> str:
    out, pos = [], 0
    for m in PLACEHOLDER.finditer(template):
        out.append(literal(template[pos:m.start()].replace("{{", "{").replace("}}", "}")))
        path, fmt = m.group(1), m.group(2) or ""
        out.append(number(path, fmt, lookup(numbers, path)))
        pos = m.end()
    out.append(literal(template[pos:].replace("{{", "{").replace("}}", "}")))
    return "".join(out)


def R(path: str, fmt: str = "") -> T:
    """One number of record as a table cell or a figure label: ``R("runs.0.epochs", "d")``."""
    spec = f"{{{path}:{fmt}}}" if fmt else f"{{{path}}}"
    return T(spec, spec)


def plain(value: Any, numbers: Any = None, lang: str | None = None) -> str:
    """Any text of a result (a :class:`T` or a plain string) as plain text."""
    return value.text(numbers, lang) if isinstance(value, T) else str(value)


def as_html(value: Any, numbers: Any = None, lang: str | None = None) -> str:
    """Any text of a result as escaped HTML (plain strings: other labs' English text)."""
    if isinstance(value, T):
        return value.html(numbers, lang)
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape(str(value))


def sup(l: int | str) -> str:
    """A layer index as the lecture writes it: ``sup(2)`` is ``⁽²⁾``."""
    return "⁽" + str(l).translate(str.maketrans("0123456789L+-l", "⁰¹²³⁴⁵⁶⁷⁸⁹ᴸ⁺⁻ˡ")) + "⁾"
