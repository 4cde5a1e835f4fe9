"""The network diagram: neurons as circles, connections coloured and thickened by weight.

The lecture stresses that the connections, not the circles, are what is learned: each line's
colour is the sign of its weight (orange +, blue −) and its width grows with |w|.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Circle, Rectangle

from ..text import tr
from .style import PALETTE, figure, save

POSITIVE, NEGATIVE = PALETTE[1], PALETTE[0]
DX = 2.2  # horizontal distance between layers


def _ys(n: int) -> np.ndarray:
    return (np.arange(n) - (n - 1) / 2)[::-1] * 1.0


def network_diagram(net, path, *, show_bias: bool = True, show_values: bool | None = None,
                    title: str = ""):
    """Draw ``net`` (an :class:`mlplab.Network`) into ``path``."""
    sizes = _sizes(net)
    fig, ax = figure(figsize=(2.6 * len(sizes) + 0.6, 1.0 * max(sizes) + 2.6))
    draw_network(ax, net, show_bias=show_bias, show_values=show_values)
    ax.set_title(title or f"{net!r}\n" + tr("line width ∝ |w|", "线宽 ∝ |w|"), fontsize=10)
    return save(fig, path)


def flow_figure(net, forward: list[list[str]], backward: list[list[str]], path, *,
                titles: tuple[str, str] = ("", ""), directions: tuple[int, int] = (1, -1)):
    """The lecture's two flows on one network: forward (a⁽ˡ⁾ left to right) and training
    (δ⁽ˡ⁾ right to left); ``forward[l][i]`` / ``backward[l][i]`` label neuron i of layer l.

    ``directions`` are the arrows of the two panels: +1 left to right (a forward pass), −1
    right to left (the backward recursion)."""
    sizes = _sizes(net)
    fig, axes = figure(2, 1, figsize=(2.6 * len(sizes) + 1.2, 2 * (1.0 * max(sizes) + 2.4)))
    for ax, labels, direction, title in zip(axes, (forward, backward), directions, titles):
        draw_network(ax, net, show_bias=False, show_values=False, neuron_labels=labels)
        x0, x1 = (-0.3, (len(sizes) - 1) * DX + 0.3)[::direction]
        y = max(_ys(n)[0] for n in sizes) + 1.25
        ax.annotate("", (x1, y), (x0, y), arrowprops=dict(arrowstyle="-|>", lw=3,
                                                          color=PALETTE[1 if direction > 0 else 0]))
        ax.set_ylim(ax.get_ylim()[0], y + 0.5)
        ax.set_title(title, fontsize=11)
    return save(fig, path)


def _sizes(net) -> list[int]:
    from ...core.layers import Dense

    return [net.layers[0].n_out] + [layer.n_out for layer in net.layers if isinstance(layer, Dense)]


def draw_network(ax, net, *, show_bias: bool = True, show_values: bool | None = None,
                 neuron_labels: list[list[str]] | None = None) -> None:
    """Neurons as circles, connections coloured by the sign of w and as wide as |w|.

    ``neuron_labels[l][i]`` is written beside neuron i of layer l (e.g. its a or δ).
    """
    from ...core.layers import Dense

    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    sizes = _sizes(net)
    biggest = max(float(np.max(np.abs(np.r_[layer.W.ravel(), layer.b]))) for layer in dense) or 1.0
    if show_values is None:
        show_values = max(sizes) <= 4
    r = 0.22
    for l, layer in enumerate(dense, start=1):
        W, b = layer.W, layer.b
        for i, yi in enumerate(_ys(sizes[l])):
            sources = [(j, l - 1, yj, W[i, j]) for j, yj in enumerate(_ys(sizes[l - 1]))]
            if show_bias:
                sources.append((None, l - 1, _ys(sizes[l - 1])[-1] - 1.0, b[i]))
            for j, x0, y0, w in sources:
                lw = 0.5 + 5.5 * abs(w) / biggest
                color = POSITIVE if w >= 0 else NEGATIVE
                ax.plot([x0 * DX + r, l * DX - r], [y0, yi], color=color, lw=lw, alpha=0.85, zorder=1,
                        ls=":" if j is None else "-")
                if show_values:
                    t = 0.28
                    ax.text(x0 * DX + r + t * ((l - x0) * DX - 2 * r), y0 + t * (yi - y0), f"{w:+.2f}",
                            fontsize=8, ha="center", va="center", zorder=4,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    labels = _labels(sizes)
    for l, n in enumerate(sizes):
        for i, yi in enumerate(_ys(n)):
            face = "0.92" if l == 0 else "white"
            ax.add_patch(Circle((l * DX, yi), r, fc=face, ec="black", lw=1.5, zorder=3))
            ax.text(l * DX, yi, labels[l][i], ha="center", va="center", fontsize=10, zorder=5)
        if show_bias and l < len(sizes) - 1:
            yb = _ys(n)[-1] - 1.0
            ax.add_patch(Rectangle((l * DX - r * 0.8, yb - r * 0.8), 1.6 * r, 1.6 * r, fc="0.85",
                                   ec="black", lw=1.2, zorder=3))
            ax.text(l * DX, yb, "+1", ha="center", va="center", fontsize=9, zorder=5)
        name = (tr("input", "输入层") if l == 0 else
                tr("output", "输出层") if l == len(sizes) - 1 else tr(f"hidden {l}", f"隐藏层 {l}"))
        ax.text(l * DX, _ys(n)[0] + 0.55, f"{name}\n" + tr(f"layer {l}", f"第 {l} 层"),
                ha="center", va="bottom", fontsize=10)
        for i, yi in enumerate(_ys(n)):
            if neuron_labels is not None and neuron_labels[l][i]:
                ax.text(l * DX + r + 0.06, yi + r + 0.02, neuron_labels[l][i], fontsize=9,
                        ha="left", va="bottom", zorder=6,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="0.7", alpha=0.9))
    ax.plot([], [], color=POSITIVE, lw=4, label="w > 0")
    ax.plot([], [], color=NEGATIVE, lw=4, label="w < 0")
    if show_bias:
        ax.plot([], [], color="0.3", lw=2, ls=":", label=tr("bias b (from the +1 unit)",
                                                          "偏置 b（来自 +1 单元）"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8, frameon=False)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(-0.6, (len(sizes) - 1) * DX + 0.6)
    top = max(_ys(n)[0] for n in sizes) + 1.4
    bottom = min(_ys(n)[-1] for n in sizes) - (1.5 if show_bias else 0.6)
    ax.set_ylim(bottom, top)


def _labels(sizes: list[int]) -> list[list[str]]:
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    out = [[f"x{str(j + 1).translate(sub)}" for j in range(sizes[0])]]
    for l in range(1, len(sizes)):
        out.append([f"a{str(i + 1).translate(sub)}" for i in range(sizes[l])])
    return out
