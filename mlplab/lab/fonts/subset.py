"""Regenerate ``mlplab-cjk.otf``: Noto Sans CJK SC cut to the CJK characters the lab writes.

Usage (a maintainer's step, after adding Chinese text to the lab)::

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python -m mlplab.lab.fonts.subset noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

It scans every ``.py`` file of ``mlplab/lab`` and ``mlplab/apps/cli``, every notebook and the
playground's page (``mlplab/apps/playground/static``: its Chinese words) for
characters from U+2E80 up (CJK punctuation, ideographs, full-width forms), keeps those the
font has, renames the family to "mlplab CJK" (the licence allows modified versions under a
new name) and writes the subset beside this file. ``tests/test_tour.py`` fails when a
character the report or a figure uses is missing, naming this command, and
``tests/test_playground_zh.py`` when one of the playground's is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import CJK_FAMILY, CJK_FONT, CJK_START

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("mlplab/lab/**/*.py", "mlplab/apps/cli/*.py", "notebooks/*.ipynb",
           "mlplab/apps/playground/static/*")


def used_characters(root: Path = ROOT) -> str:
    """Every character from U+2E80 up in the lab's sources, the notebooks and the playground's
    page."""
    chars: set[str] = set()
    for pattern in SOURCES:
        for path in root.glob(pattern):
            chars |= {ch for ch in path.read_text(encoding="utf-8") if ord(ch) >= CJK_START}
    return "".join(sorted(chars))


def make_subset(source: Path, out: Path = CJK_FONT, font_number: int = 2) -> tuple[int, int]:
    """Write the subset; returns (characters kept, bytes). ``font_number`` 2 is SC in the TTC."""
    from fontTools import subset

    text = used_characters()
    options = subset.Options()
    options.font_number = font_number
    options.layout_features = ["*"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    font = subset.load_font(str(source), options)
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 3, 4, 6, 16):
            name = CJK_FAMILY if record.nameID in (1, 4, 16) else CJK_FAMILY.replace(" ", "-")
            record.string = name
    subset.save_font(font, str(out), options)
    kept = sum(1 for ch in text if ord(ch) in font.getBestCmap())
    return kept, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="NotoSansCJK-Regular.ttc (or an SC .otf)")
    parser.add_argument("--font-number", type=int, default=2, help="index in a .ttc (2 = SC)")
    args = parser.parse_args()
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "notebooks").is_dir():
        parser.error(f"run this from a clone of mlplab (it reads the notebooks and writes the "
                     f"font into the package): {ROOT} is not one")
    kept, size = make_subset(args.source, font_number=args.font_number)
    print(f"{CJK_FONT}: {kept} characters, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
