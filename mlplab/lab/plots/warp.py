"""The hidden-space warp: the lecture's two-panel picture of what a hidden layer does.

Left, the input plane with a grid, the data and the network's curved boundary. Right, the
same grid and data carried through the hidden layers, ``h = a⁽ᴸ⁻¹⁾(x)``, where the output
layer ``z⁽ᴸ⁾ = W⁽ᴸ⁾h + b⁽ᴸ⁾`` draws a *straight* boundary ``z⁽ᴸ⁾ = 0``. Hidden spaces wider
than 2 are projected to 2-D, and the figure says so: along the output layer's normal w
(where the boundary is exact) and the main principal component of the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text import tr
from .boundary import grid, probability, scatter_classes
from .style import PALETTE, PROBABILITY_CMAP, figure, save

Array = np.ndarray


def hidden(net, X: Array) -> Array:
    """``a⁽ᴸ⁻¹⁾``: the last hidden layer's output for the rows of ``X``."""
    A = np.asarray(X, dtype=net.dtype)
    for layer in net.layers[:-1]:
        A = layer.forward(A)
    return A


def output_line(net) -> tuple[Array, float]:
    """``(w, c)`` with the boundary ``w·h + c = 0`` in hidden space (output z = 0, p = 0.5)."""
    out = net.layers[-1]
    if out.n_out == 1:
        return out.W[0].astype(float), float(out.b[0])
    if out.n_out == 2:  # softmax: p₁ = p₀ where z₁ − z₀ = 0
        return (out.W[1] - out.W[0]).astype(float), float(out.b[1] - out.b[0])
    raise ValueError("the warp figure draws one boundary: give a network with 1 or 2 outputs")


@dataclass
class Warp:
    """The numbers behind the warp figure (in the right panel's 2-D coordinates)."""

    H: Array            # (m, 2) the data in hidden space (projected when wider than 2)
    w: Array            # (2,) the output boundary is w·u + c = 0 in these coordinates
    c: float
    projected: bool     # True when the hidden space was wider than 2 and projected
    explained: float    # variance share the two axes keep (1.0 when not projected)
    path: object = None
    cuts_outside: tuple = ()  # hidden units whose own cut w_i·x + b_i = 0 misses the left panel


def _grid_lines(X: Array, n_lines: int = 17, n_points: int = 200) -> list[Array]:
    xx, yy = grid(X, steps=n_lines, margin=0.15)
    xs, ys = xx[0], yy[:, 0]
    fine_x = np.linspace(xs[0], xs[-1], n_points)
    fine_y = np.linspace(ys[0], ys[-1], n_points)
    lines = [np.c_[np.full(n_points, x), fine_y] for x in xs]
    lines += [np.c_[fine_x, np.full(n_points, y)] for y in ys]
    return lines


_SUB = "₀₁₂₃₄₅₆₇₈₉"


def _grid_color(i: int, n: int) -> str:
    """Lines of constant x₁ dark grey, of constant x₂ purple: the warp stays readable."""
    return "0.45" if i < n // 2 else "#9B6A8F"


def _legend_below(ax) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8.5, frameon=False)


def _label_points(ax, U: Array, X: Array) -> None:
    """Name each point by its input coordinates when there are few (the XOR corners)."""
    if len(X) > 8:
        return
    for i, (u, x) in enumerate(zip(U, X)):
        ax.annotate(f"({x[0]:g}, {x[1]:g})", u, xytext=(9, 9 if i % 2 == 0 else -15),
                    textcoords="offset points", fontsize=9, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))


def _draw_line(ax, w: Array, c: float, **style) -> bool:
    """Draw w·u + c = 0 inside the current axes limits; a line that misses them gets only its
    legend entry, marked "(outside the view)". Returns whether it is drawn."""
    from .perceptron import OUTSIDE, line_points

    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    pts = line_points(np.asarray(w, float), c, xlim, ylim)
    if pts is None:
        style["label"] = style.get("label", "") + tr(*OUTSIDE)
        ax.plot([], [], **style)
    else:
        ax.plot(pts[:, 0], pts[:, 1], **style)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    return pts is not None


def warp_figure(net, X: Array, y: Array, path, *, title: str = "", show_cuts: bool = True) -> Warp:
    """Draw the two panels into ``path``; returns the :class:`Warp` numbers behind them."""
    X = np.asarray(X, float)
    y = np.asarray(y).ravel()
    fig, (left, right) = figure(1, 2, figsize=(12, 5.4))
    lines = _grid_lines(X)
    size = 70 if len(X) <= 10 else 28
    outside = _input_panel(left, net, X, y, lines, size, show_cuts)
    # ---- right: the same grid and data in hidden space, and a straight boundary
    H = hidden(net, X)
    d = H.shape[1]
    w, c = output_line(net)
    mean, P2, explained = np.zeros(d), np.eye(d)[:2], 1.0
    if d > 2:
        # View axis 1 along the output's normal w (so the boundary stays exact and straight),
        # axis 2 along the main principal component of what is left (PCA of the residual).
        mean = H.mean(0)
        w_hat = w / np.linalg.norm(w)
        C = H - mean
        R = C - np.outer(C @ w_hat, w_hat)
        _, _, Vt = np.linalg.svd(R, full_matrices=False)
        P2 = np.vstack([w_hat, Vt[0]])
        explained = float(((C @ P2.T) ** 2).sum() / (C ** 2).sum())
    elif d == 1:
        raise ValueError("the warp figure needs at least 2 hidden units")
    project = lambda A: (A - mean) @ P2.T  # noqa: E731
    # on the plane h = mean + uᵀP2: z = w·(mean + P2ᵀu) + c, affine in u: a straight line
    w2, c2 = P2 @ w, float(w @ mean + c)
    U = project(H)
    for i, line in enumerate(lines):
        u = project(hidden(net, line))
        right.plot(u[:, 0], u[:, 1], color=_grid_color(i, len(lines)), lw=0.7, zorder=1)
    pad = (U.max(0) - U.min(0)) * 0.12 + 1e-6
    lo, hi = U.min(0) - pad, U.max(0) + pad
    uu, vv = np.meshgrid(np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 150))
    Zp = np.c_[uu.ravel(), vv.ravel()] @ w2 + c2
    right.contourf(uu, vv, (1 / (1 + np.exp(-Zp))).reshape(uu.shape), levels=np.linspace(0, 1, 11),
                   cmap=PROBABILITY_CMAP, alpha=0.45)
    scatter_classes(right, U, y, size=size)
    _label_points(right, U, X)
    right.set_xlim(lo[0], hi[0])
    right.set_ylim(lo[1], hi[1])
    _draw_line(right, w2, c2, color="black", lw=2.5,
               label=tr("output layer's boundary z⁽ᴸ⁾ = 0", "输出层的决策边界 z⁽ᴸ⁾ = 0"))
    names = ((tr("h₁ (hidden unit 1's output)", "h₁（隐藏单元 1 的输出）"),
              tr("h₂ (hidden unit 2's output)", "h₂（隐藏单元 2 的输出）")) if d == 2 else
             (tr("h along w, the output layer's normal", "h 沿输出层法向量 w 的分量"),
              tr("h along the top principal component of the rest", "h 在其余部分第一主成分上的分量")))
    right.set_xlabel(names[0])
    right.set_ylabel(names[1])
    if d == 2:
        right.set_title(tr("hidden space: the same grid, warped; a straight boundary",
                           "隐藏空间：同一网格被扭曲；边界是直线"))
    else:
        right.set_title(tr(f"hidden space ({d}-D) projected to 2-D ({explained:.0%} of its variance)",
                           f"隐藏空间（{d} 维）投影到 2 维（保留 {explained:.0%} 的方差）"),
                        fontsize=10.5)
    _legend_below(right)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    saved = save(fig, path)
    return Warp(H=U, w=w2, c=c2, projected=d > 2, explained=explained, path=saved,
                cuts_outside=tuple(outside))


def _input_panel(left, net, X: Array, y: Array, lines, size: int, show_cuts: bool) -> list[int]:
    """The left panel: the input plane, its grid and the network's curved boundary; returns
    the hidden units (1-based) whose cut lies outside it."""
    xx, yy = grid(X, steps=200, margin=0.15)
    P = probability(net, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    left.contourf(xx, yy, P, levels=np.linspace(0, 1, 11), cmap=PROBABILITY_CMAP, alpha=0.45)
    for i, line in enumerate(lines):
        left.plot(line[:, 0], line[:, 1], color=_grid_color(i, len(lines)), lw=0.7, zorder=1)
    if P.min() < 0.5 < P.max():
        left.contour(xx, yy, P, levels=[0.5], colors="black", linewidths=2.5)
    left.plot([], [], color="black", lw=2.5, label=tr("network's boundary (p = 0.5)",
                                                       "网络的决策边界（p = 0.5）"))
    left.set_xlim(xx.min(), xx.max())
    left.set_ylim(yy.min(), yy.max())
    first, outside = net.layers[1], []
    if show_cuts and first.n_in == 2 and first.n_out <= 4 and net.L > 1:
        for i in range(first.n_out):  # each hidden unit's own cut w_i·x + b_i = 0
            if not _draw_line(left, first.W[i], float(first.b[i]), color=PALETTE[2 + i], lw=1.8,
                              ls="--", label=tr(f"hidden unit {i + 1}'s cut", f"隐藏单元 {i + 1} 的一刀")
                              + f": w{_SUB[i + 1]}·x + b{_SUB[i + 1]} = 0"):
                outside.append(i + 1)
    scatter_classes(left, X, y, size=size)
    _label_points(left, X, X)
    left.set_xlabel("x₁")
    left.set_ylabel("x₂")
    left.set_title(tr("input space: the network's boundary", "输入空间：网络的决策边界"))
    _legend_below(left)
    return outside
