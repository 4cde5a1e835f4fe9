"""Fonts that travel with the report and the figures, so Chinese never shows as boxes.

- ``mlplab-cjk.otf``: a subset of Noto Sans CJK SC (SIL Open Font License 1.1, ``OFL.txt``)
  holding exactly the CJK characters the lab's sources write; made by
  ``python -m mlplab.lab.fonts.subset`` (see its docstring). Family name "mlplab CJK".
- DejaVu Sans and DejaVu Sans Mono, which matplotlib ships, for Latin, Greek and the lecture's
  symbols (⁽ˡ⁾, ᵀ, ⊙, ‖), which Noto CJK lacks.

Figures use DejaVu Sans with "mlplab CJK" as the fallback (matplotlib ≥ 3.6 falls back per
glyph). The HTML report embeds both, each cut down to the characters that page uses. The
playground's server sends the subset to its Chinese page (``GET /fonts/mlplab-cjk.otf``).
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent
CJK_FONT = HERE / "mlplab-cjk.otf"
CJK_FAMILY = "mlplab CJK"
CJK_START = 0x2E80  # CJK radicals, symbols and punctuation, ideographs, full-width forms


def dejavu(name: str = "DejaVuSans.ttf") -> Path:
    """A DejaVu font file from matplotlib's own data (always installed with mlplab)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


@lru_cache(maxsize=None)
def cmap(path: Path) -> frozenset[int]:
    """The code points a font file has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing(text: str) -> set[str]:
    """Characters of ``text`` that neither the CJK subset nor DejaVu Sans can draw."""
    cjk, latin = cmap(CJK_FONT), cmap(dejavu())
    return {ch for ch in set(text) if ch.isprintable() and ch != " "
            and ord(ch) not in (cjk if ord(ch) >= CJK_START else latin | cjk)}


@lru_cache(maxsize=1)
def register_matplotlib() -> list[str]:
    """Make matplotlib know the CJK subset; returns the font.family list to use."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(CJK_FONT))
    return ["DejaVu Sans", CJK_FAMILY]


def _woff(path: Path, text: str) -> str:
    """``path`` cut down to the characters of ``text``, as base64 WOFF."""
    import logging

    from fontTools import subset

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset" is fine
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(path), options)
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def font_face_css(text: str) -> str:
    """``@font-face`` rules embedding exactly the glyphs ``text`` needs (sans, mono, CJK)."""
    chars = "".join(sorted(set(text) | set(" 0123456789")))
    cjk = "".join(ch for ch in chars if ord(ch) >= CJK_START)
    latin = "".join(ch for ch in chars if ord(ch) < CJK_START)
    rules = [("mlplab Sans", dejavu("DejaVuSans.ttf"), latin),
             ("mlplab Mono", dejavu("DejaVuSansMono.ttf"), latin),
             (CJK_FAMILY, CJK_FONT, cjk or "中")]
    return "\n".join(f'@font-face{{font-family:"{family}";src:url(data:font/woff;base64,'
                     f'{_woff(path, part)}) format("woff");}}' for family, path, part in rules)
