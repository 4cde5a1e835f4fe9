"""The playground's page as a stock machine shows it: no emoji or CJK font installed.

Every character the static page writes must be in DejaVu Sans (the font a stock Debian or
Ubuntu machine falls back to; matplotlib bundles the same file, so the check needs no system
font), and a layer index between ⁽ ⁾ must be written in superscript digits.
"""

import re
from pathlib import Path

import pytest

import mlplab

STATIC = Path(mlplab.__file__).parent / "apps" / "playground" / "static"
FILES = sorted(p for p in STATIC.iterdir() if p.suffix in (".html", ".js", ".css"))


@pytest.fixture(scope="module")
def dejavu_chars() -> set[int]:
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    path = font_manager.findfont("DejaVu Sans", fallback_to_default=False)
    return set(TTFont(path).getBestCmap())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_character_is_in_dejavu_sans(path, dejavu_chars):
    """An emoji such as the share button's 🔗 drew an empty box."""
    missing = sorted({c for c in path.read_text(encoding="utf-8")
                      if ord(c) > 127 and ord(c) not in dejavu_chars})
    assert not missing, [f"U+{ord(c):04X} {c}" for c in missing]


def test_layer_indices_are_superscript_digits():
    """`a⁽${l}⁾` put a full-size digit between superscript parentheses: a⁽3⁾."""
    source = "".join(p.read_text(encoding="utf-8") for p in FILES if p.suffix == ".js")
    raw = re.findall(r"⁽\$\{(?!sup\()[^}]*\}⁾", source)
    assert not raw, raw
    assert len(re.findall(r"⁽\$\{sup\(", source)) >= 4
