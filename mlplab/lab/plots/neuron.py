"""The lecture's neuron, drawn: inputs, weights, Σ, the activation g, one output sent on to many.

Also the activation functions side by side, each with its derivative (the g' that the δ
recursion multiplies by).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from ..text import tr
from .style import PALETTE, figure, save

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _arrow(ax, start, end, **style) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 shrinkA=0, shrinkB=0, **{"color": "0.25", "lw": 1.4, **style}))


def neuron_figure(w, b: float, x, path, *, activation: str = "sgn", title: str = ""):
    """One neuron ``a = g(Σⱼ wⱼxⱼ + b)`` with its numbers: ``x`` and ``w`` of equal length."""
    w, x = np.asarray(w, float), np.asarray(x, float)
    z = float(w @ x + b)
    a = float(np.sign(z)) if activation == "sgn" else float(1 / (1 + np.exp(-z)))
    n = len(w)
    fig, ax = figure(figsize=(10, 4.6))
    ys = np.linspace(1.6, -1.6, n)
    sigma, g_box, out = (4.2, 0.0), (6.2, 0.0), (7.9, 0.0)
    for j, (xj, wj, yj) in enumerate(zip(x, w, ys), start=1):
        ax.add_patch(Circle((0.6, yj), 0.32, fc="0.92", ec="black", lw=1.4))
        ax.text(0.6, yj, f"x{str(j).translate(SUB)}", ha="center", va="center", fontsize=12)
        ax.text(-0.05, yj, f"{xj:g}", ha="right", va="center", fontsize=11, color=PALETTE[0])
        color = PALETTE[1] if wj >= 0 else PALETTE[0]
        end = (sigma[0] - 0.5, sigma[1] + 0.25 * yj / 1.6)
        _arrow(ax, (0.95, yj), end, color=color, lw=1 + 2.2 * abs(wj) / np.abs(w).max())
        at = (0.95 + 0.3 * (end[0] - 0.95), yj + 0.3 * (end[1] - yj))  # a third along its arrow
        ax.text(*at, f"w{str(j).translate(SUB)} = {wj:+g}".replace("-", "−"), fontsize=10.5,
                ha="center", va="center", color=color,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    ax.add_patch(Circle((0.6, -2.45), 0.28, fc="0.85", ec="black", lw=1.2))
    ax.text(0.6, -2.45, "+1", ha="center", va="center", fontsize=10)
    _arrow(ax, (0.9, -2.4), (sigma[0] - 0.45, sigma[1] - 0.35), ls=":")
    ax.text(2.3, -1.75, f"b = {b:+g}".replace("-", "−"), fontsize=10.5, ha="center",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    ax.add_patch(Circle(sigma, 0.5, fc="white", ec="black", lw=1.8))
    ax.text(*sigma, "Σ", ha="center", va="center", fontsize=22)
    ax.text(sigma[0], -0.85, f"z = Σ wⱼxⱼ + b\n= {z:+.3g}", ha="center", va="top", fontsize=10.5)
    _arrow(ax, (sigma[0] + 0.5, 0), (g_box[0] - 0.55, 0), lw=2)
    ax.add_patch(FancyBboxPatch((g_box[0] - 0.55, -0.45), 1.1, 0.9, boxstyle="round,pad=0.05",
                                fc="#fff3dc", ec="black", lw=1.6))
    ax.text(*g_box, activation, ha="center", va="center", fontsize=15)
    _arrow(ax, (g_box[0] + 0.6, 0), (out[0] - 0.35, 0), lw=2)
    ax.add_patch(Circle(out, 0.35, fc="white", ec="black", lw=1.8))
    ax.text(*out, "a", ha="center", va="center", fontsize=14)
    ax.text(out[0], -0.6, f"a = {activation}(z)\n= {a:+g}", ha="center", va="top", fontsize=10.5)
    for yk in np.linspace(1.5, -1.5, 5):  # one output, sent to every neuron of the next layer
        _arrow(ax, (out[0] + 0.35, 0), (9.6, yk), lw=1.1, color="0.45")
    ax.text(9.7, 0, tr("to every neuron\nof the next layer", "送往下一层\n的每个神经元"),
            ha="left", va="center", fontsize=10, color="0.3")
    ax.set_xlim(-0.8, 11.4)
    ax.set_ylim(-3.0, 2.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=12)
    return save(fig, path)


def activations_figure(path, names=("sgn", "sigmoid", "tanh", "relu")):
    """Each activation g (solid) and its derivative g' (dashed), one panel each."""
    from ...core.activations import get_activation

    z = np.linspace(-4, 4, 801)
    sgn = (np.sign, np.zeros_like)  # the lecture's sgn: ±1, flat on both sides
    fig, axes = figure(1, len(names), figsize=(3.2 * len(names), 3.1), sharey=True)
    labels = {"sgn": "sgn", "sigmoid": "sigmoid σ", "tanh": "tanh", "relu": "ReLU"}
    for ax, name in zip(axes, names):
        g, g_prime = sgn if name == "sgn" else (get_activation(name).g, get_activation(name).g_prime)
        ax.plot(z, g(z), color=PALETTE[0], lw=2.2, label="g(z)")
        ax.plot(z, g_prime(z), color=PALETTE[5], lw=1.8, ls="--", label="g'(z)")
        ax.axhline(0, color="0.6", lw=0.7)
        ax.axvline(0, color="0.6", lw=0.7)
        ax.set_title(labels.get(name, name))
        ax.set_xlabel("z")
        ax.set_ylim(-1.15, 1.6)
        ax.grid(alpha=0.3, lw=0.5)
    axes[0].legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return save(fig, path)
