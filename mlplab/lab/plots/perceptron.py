"""The perceptron's "dancing line": the line after every update, as a GIF and as a still."""

from __future__ import annotations

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter

from ..text import tr
from .boundary import scatter_classes
from .style import PALETTE, figure, save

Array = np.ndarray


def _limits(X: Array, margin: float | None = None):
    margin = (0.3 if len(X) <= 10 else 0.1) if margin is None else margin
    lo, hi = X.min(0), X.max(0)
    pad = (hi - lo) * margin + 1e-9
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def line_points(w: Array, b: float, xlim, ylim) -> Array | None:
    """The two end points of the part of ``w·x + b = 0`` inside the box ``xlim × ylim``;
    None when w = 0 (no line yet) or when the line misses the box (it is outside the view)."""
    w = np.asarray(w, float)
    if not np.any(w):
        return None
    (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
    ends = []
    if w[1] != 0:  # where it meets the left and right edges
        ends += [(x, -(w[0] * x + b) / w[1]) for x in (x0, x1)]
    if w[0] != 0:  # and the bottom and top edges
        ends += [(-(w[1] * y + b) / w[0], y) for y in (y0, y1)]
    tol = 1e-9 * max(x1 - x0, y1 - y0, 1.0)
    inside = np.array([(x, y) for x, y in ends
                       if x0 - tol <= x <= x1 + tol and y0 - tol <= y <= y1 + tol]).reshape(-1, 2)
    if len(inside) < 2:
        return None
    d = np.linalg.norm(inside[:, None] - inside[None], axis=-1)
    i, j = np.unravel_index(np.argmax(d), d.shape)
    return None if d[i, j] <= tol else inside[[i, j]]  # a corner touched is no line


def view_limits(X: Array, margin: float | None = None):
    """The box these figures show around the points ``X``: ``(xlim, ylim)``."""
    return _limits(np.asarray(X, float), margin)


def lines_in_view(clf, X: Array, updates, unit: int = 0) -> list[int]:
    """Which of ``updates`` leave a line ``clf.line_at(u)`` that crosses the figure's box."""
    xlim, ylim = view_limits(X)
    return [u for u in updates if line_points(*clf.line_at(u, unit), xlim, ylim) is not None]


OUTSIDE = (" (outside the view)", "（在视野之外）")  # appended to a label as it is


def _frames(n_updates: int, max_frames: int) -> list[int]:
    if n_updates + 1 <= max_frames:
        return list(range(n_updates + 1))
    picks = np.unique(np.linspace(0, n_updates, max_frames).round().astype(int))
    return [int(p) for p in picks]


def dancing_line_gif(clf, X: Array, y: Array, path, *, max_frames: int = 60, fps: int = 4,
                     unit: int = 0):
    """Animate ``clf`` (a fitted :class:`mlplab.Perceptron`) update by update into a GIF."""
    X = np.asarray(X, float)
    xlim, ylim = _limits(X)
    fig, ax = figure(figsize=(5.2, 4.8))
    frames = _frames(clf.n_updates_, max_frames)
    y = np.asarray(y).ravel()

    def draw(u: int):
        ax.clear()
        scatter_classes(ax, X, y)
        w, b = clf.line_at(u, unit)
        pts = line_points(w, b, xlim, ylim)
        if pts is not None:
            ax.plot(pts[:, 0], pts[:, 1], color="black", lw=2.5, label="w·x + b = 0")
        elif np.any(w):
            ax.plot([], [], color="black", lw=2.5, label="w·x + b = 0" + tr(*OUTSIDE))
            ax.text(0.5, 0.95, tr("the line is outside the view", "这条线在视野之外"),
                    transform=ax.transAxes, ha="center", va="top", fontsize=9, color=PALETTE[5],
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.7", alpha=0.9))
        if u > 0:
            k = clf.update_samples_[u - 1]
            ax.scatter(*X[k], s=260, facecolors="none", edgecolors=PALETTE[5], linewidths=2.5,
                       zorder=4, label=tr("misclassified: pulls the line", "分错的样本：把线拉向自己"))
            where = tr(f"update {u}/{clf.n_updates_}, epoch {clf.update_epochs_[u - 1]}",
                       f"第 {u}/{clf.n_updates_} 次更新，第 {clf.update_epochs_[u - 1]} 轮")
            if u == clf.n_updates_ and clf.converged_:
                where += tr(": separated", "：已分开")
        else:
            where = tr("start: a random line", "起点：一条随机的线")
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_title(tr("perceptron rule — ", "感知机规则 — ") + where, fontsize=10.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8,
                  frameon=False)
        fig.subplots_adjust(bottom=0.24)

    anim = FuncAnimation(fig, draw, frames=frames + [frames[-1]] * 3)  # linger on the end
    anim.save(str(path), writer=PillowWriter(fps=fps), dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def drawn_updates(n_updates: int, max_lines: int = 40) -> list[int]:
    """Which of the lines before the last to draw: all of them up to ``max_lines``, else
    evenly spaced ones (the start always among them)."""
    if n_updates <= max_lines:
        return list(range(n_updates))
    return sorted({int(u) for u in np.linspace(0, n_updates - 1, max_lines).round()})


def dancing_line_still(clf, X: Array, y: Array, path, *, title: str = "", unit: int = 0,
                       highlight: int | None = None, highlight_label: str = "",
                       max_lines: int = 40):
    """The lines the rule visited (pale to dark in order, the start dashed) and the final one
    (bold). ``highlight`` draws that update's line in red (e.g. the best line on XOR)."""
    X = np.asarray(X, float)
    xlim, ylim = _limits(X)
    fig, ax = figure(figsize=(5.6, 5.0))
    n = clf.n_updates_
    drawn = drawn_updates(n, max_lines)
    shown = lines_in_view(clf, X, drawn, unit)
    cmap = __import__("matplotlib").colormaps["Greys"]
    for u in shown:
        pts = line_points(*clf.line_at(u, unit), xlim, ylim)
        ax.plot(pts[:, 0], pts[:, 1], color=cmap(0.3 + 0.5 * u / max(n, 1)), lw=1.1,
                ls="--" if u == 0 else "-")
    ax.plot([], [], color="0.5", lw=1, label=_earlier_label(n, len(drawn), len(shown)))
    outside = "" if 0 in shown else tr(*OUTSIDE)
    ax.plot([], [], color="0.5", lw=1, ls="--", label=tr("the random start", "随机起点") + outside)
    _line_or_outside(ax, clf.line_at(n, unit), xlim, ylim, tr("final line", "最终的线"),
                     color="black", lw=2.8)
    if highlight is not None:
        _line_or_outside(ax, clf.line_at(highlight, unit), xlim, ylim, highlight_label,
                         color=PALETTE[5], lw=2.5, ls="--")
    scatter_classes(ax, X, y, size=60 if len(X) <= 10 else 28)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title or clf.stop_reason_, fontsize=10.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False)
    return save(fig, path)


def _earlier_label(n: int, sampled: int, shown: int) -> str:
    """What the grey lines are: how many of the ``n`` earlier lines are drawn, and why not all."""
    if shown == n:
        return tr(f"the {n} earlier lines", f"之前的 {n} 条线")
    if sampled == n:
        return tr(f"{shown} of the {n} earlier lines (the other {n - shown} outside the view)",
                  f"之前 {n} 条线中的 {shown} 条（另 {n - shown} 条在视野之外）")
    return tr(f"{shown} of the {n} earlier lines (of {sampled} sampled, {sampled - shown} "
              "outside the view)",
              f"之前 {n} 条线中的 {shown} 条（抽取 {sampled} 条，其中 {sampled - shown} 条在视野之外）")


def _line_or_outside(ax, line, xlim, ylim, label: str, **style) -> bool:
    """Draw ``line = (w, b)`` inside the box, or only its legend entry marked as outside."""
    pts = line_points(*line, xlim, ylim)
    if pts is None:
        if np.any(line[0]):
            ax.plot([], [], label=label + tr(*OUTSIDE), **style)
        return False
    ax.plot(pts[:, 0], pts[:, 1], label=label, **style)
    return True


def mistakes_plot(runs: dict, path, *, title: str = ""):
    """``{label: (mistakes per epoch, samples)}``: the separable run reaches 0, XOR never does.

    Plotted as the share of the samples misclassified, so data sets of any size compare.
    """
    fig, ax = figure(figsize=(6.4, 3.8))
    for i, (label, (mistakes, m)) in enumerate(runs.items()):
        ax.plot(np.arange(1, len(mistakes) + 1), np.asarray(mistakes) / m, "o-", ms=3, lw=1.6,
                color=PALETTE[i % len(PALETTE)], label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(tr("epoch", "轮次"))
    ax.xaxis.set_major_locator(__import__("matplotlib").ticker.MaxNLocator(integer=True))
    ax.set_ylabel(tr("share of samples misclassified", "分错的样本比例"))
    ax.yaxis.set_major_formatter(__import__("matplotlib").ticker.PercentFormatter(1.0))
    ax.set_title(title or tr("Mistakes per epoch", "每轮分错的样本"))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8.5, frameon=False)
    return save(fig, path)


def rule_panels(panels: list[tuple[str, Array, Array, Array, float]], path):
    """One panel per run of a one-layer rule: ``(title, X, y, w, b)``; draws the points and
    the learned line w·x + b = 0, or says that w = 0 leaves no line."""
    fig, axes = figure(1, len(panels), figsize=(4.2 * len(panels), 4.3))
    for ax, (title, X, y, w, b) in zip(np.atleast_1d(axes), panels):
        xlim, ylim = _limits(np.asarray(X, float), margin=0.4)
        pts = line_points(np.asarray(w, float), b, xlim, ylim)
        if pts is not None:
            ax.plot(pts[:, 0], pts[:, 1], color="black", lw=2.5, label="w·x + b = 0")
        else:
            ax.text(0.5, 0.5, tr("w = 0: no line", "w = 0：没有线"), transform=ax.transAxes,
                    ha="center", va="center", fontsize=11, color=PALETTE[5])
        scatter_classes(ax, np.asarray(X, float), y, size=90)
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_title(title, fontsize=10.5)
        ax.set_aspect("equal")
    fig.tight_layout()
    return save(fig, path)
