"""The shared look of mlplab's figures: Okabe–Ito colours, readable sizes, PNG output.

Text is drawn in DejaVu Sans with the lab's CJK subset as the per-glyph fallback
(:mod:`mlplab.lab.fonts`), so Chinese labels render on machines without a CJK font.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402

from ...io.files import atomic_write  # noqa: E402

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000"]
CLASS_COLORS = PALETTE[:2]  # class 0 blue, class 1 orange
# Heat map from class-0 blue through white to class-1 orange (probability of class 1).
PROBABILITY_CMAP = LinearSegmentedColormap.from_list("mlplab_prob", ["#0072B2", "#FFFFFF", "#E69F00"])

RC = {
    "figure.dpi": 100, "savefig.dpi": 110, "font.size": 11, "axes.titlesize": 12,
    "axes.labelsize": 11, "legend.fontsize": 9, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False, "axes.spines.right": False,
}


def figure(*args, **kwargs):
    """``plt.subplots`` with mlplab's style applied (and the lab's fonts made the default, so
    that texts measured before saving, e.g. by ``tight_layout``, use them too)."""
    from ..fonts import register_matplotlib

    plt.rcParams["font.family"] = register_matplotlib()
    with plt.rc_context(RC):
        return plt.subplots(*args, **kwargs)


def use_lab_fonts(fig) -> None:
    """Set every text of ``fig`` to DejaVu Sans with the CJK subset as fallback.

    Done at saving time rather than through rcParams: texts added after :func:`figure`
    returns (titles, legends) would otherwise take the user's global font.
    """
    from matplotlib.text import Text

    from ..fonts import register_matplotlib

    family = register_matplotlib()
    for text in fig.findobj(Text):
        text.set_fontfamily(family)


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (lab fonts applied) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    use_lab_fonts(fig)
    with plt.rc_context(RC):
        atomic_write(path, lambda f: fig.savefig(f, format="png", bbox_inches="tight"), "figure")
    plt.close(fig)
    return path
