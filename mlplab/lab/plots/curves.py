"""Loss curves and the universal-approximation panel."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..text import tr
from .style import PALETTE, figure, save


def loss_curves(curves: Mapping[str, Sequence[float]], path, *, title: str = "Training loss",
                ylabel: str = "cost C (mean over samples)", xlabel: str = "epoch",
                log: bool = True):
    """One line per run: ``{label: loss per epoch}``; log y axis by default."""
    fig, ax = figure(figsize=(6.4, 4.0))
    for i, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, float)
        ax.plot(np.arange(1, len(values) + 1), values, color=PALETTE[i % len(PALETTE)],
                lw=2, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    # below the axes: inside, the labels covered the curves where they fall
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False,
              ncol=1 if len(curves) < 4 else 2)
    return save(fig, path)


def universal_panel(x, targets: Mapping[str, np.ndarray], fits: Mapping[str, Mapping[int, np.ndarray]],
                    errors: Mapping[str, Mapping[int, tuple[float, float]]], path):
    """Row per function: the target and the fits of each width; last column: error vs width.

    ``fits[name][width]`` is the network's output on ``x``; ``errors[name][width]`` is
    ``(max_error, mean_error)``.
    """
    names = list(targets)
    fig, axes = figure(len(names), 2, figsize=(11, 3.3 * len(names)),
                       gridspec_kw={"width_ratios": [1.6, 1]}, squeeze=False)
    widths = sorted(next(iter(fits.values())))
    cmap = __import__("matplotlib").colormaps["viridis"]
    for row, name in enumerate(names):
        ax = axes[row, 0]
        ax.plot(x, targets[name], color="black", lw=3, label=tr("target f(x)", "目标 f(x)"), zorder=1)
        for i, w in enumerate(widths):
            ax.plot(x, fits[name][w], color=cmap(i / max(1, len(widths) - 1)), lw=1.6,
                    label=tr(f"{w} hidden", f"{w} 个隐藏单元"), zorder=2)
        ax.set_title(f"f(x) = {name}")
        ax.set_xlabel("x")
        ax.legend(fontsize=8, ncol=2, loc="best", framealpha=0.85)
        ax = axes[row, 1]
        mx = [errors[name][w][0] for w in widths]
        mean = [errors[name][w][1] for w in widths]
        ax.loglog(widths, mx, "o-", color=PALETTE[5], lw=2, label=tr("max |error|", "最大 |误差|"))
        ax.loglog(widths, mean, "s-", color=PALETTE[0], lw=2, label=tr("mean |error|", "平均 |误差|"))
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.set_xlabel(tr("hidden units (width)", "隐藏单元数（宽度）"))
        ax.set_ylabel(tr("error on [−1, 1]", "[−1, 1] 上的误差"))
        ax.set_title(tr("error against width", "误差随宽度的变化"))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    fig.tight_layout()
    return save(fig, path)
