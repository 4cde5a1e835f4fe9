"""Figures of the overfitting lab: loss curves, decision boundaries, gaps, error curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .style import CLASS_COLORS, PALETTE, PROBABILITY_CMAP, figure, save

Array = np.ndarray


def extent_of(X: Array, margin: float = 0.3, q: float = 0.5) -> tuple[float, float, float, float]:
    """A plotting window around the bulk of ``X`` (percentiles ``q``…``100 − q``, plus margin)."""
    lo, hi = np.percentile(X, [q, 100 - q], axis=0)
    return lo[0] - margin, hi[0] + margin, lo[1] - margin, hi[1] + margin


def decision_boundary(ax, net, X: Array, y: Array, extent, resolution: int = 200,
                      point_size: float = 22) -> None:
    """Shade ``P(class 1)`` of a one-output sigmoid ``net``, draw its 0.5 contour and the points."""
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    p = net.predict_proba(grid)[:, 0].reshape(gx.shape)
    ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap=PROBABILITY_CMAP, alpha=0.75)
    ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.2)
    many = len(X) > 100  # a crowd of points: small and edgeless, so the boundary stays visible
    for k in (0, 1):
        ax.scatter(*X[y == k].T, s=point_size, c=CLASS_COLORS[k], edgecolors="k",
                   linewidths=0 if many else 0.6, alpha=0.7 if many else 1, label=f"class {k}")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[], aspect="equal")


def loss_curves(curves: dict, path: Path) -> Path:
    """Train vs test loss (left) and accuracy (right) over the epochs of one long run."""
    fig, (ax_l, ax_a) = figure(1, 2, figsize=(11, 4))
    e = curves["epoch"]
    ax_l.plot(e, curves["train_loss"], label="training loss", color=PALETTE[0])
    ax_l.plot(e, curves["test_loss"], label="test loss", color=PALETTE[5])
    ax_l.set(xscale="log", yscale="log", xlabel="epoch", ylabel="cross-entropy (mean per sample)",
             title="Loss: training falls, test turns and rises")
    ax_a.plot(e, 100 * np.asarray(curves["train_acc"]), label="training accuracy", color=PALETTE[0])
    ax_a.plot(e, 100 * np.asarray(curves["test_acc"]), label="test accuracy", color=PALETTE[5])
    ax_a.set(xscale="log", xlabel="epoch", ylabel="accuracy (%)",
             title="Accuracy: training reaches 100 %, test does not")
    for ax in (ax_l, ax_a):
        ax.axvline(curves["best_test_epoch"], color="0.4", ls="--", lw=1)
    ax_l.annotate(f"lowest test loss\n(epoch {curves['best_test_epoch']})",
                  (curves["best_test_epoch"], min(curves["test_loss"])), xytext=(-10, -30),
                  textcoords="offset points", ha="right", fontsize=9, color="0.3",
                  arrowprops={"arrowstyle": "->", "color": "0.4"})
    ax_l.legend(loc="lower left")
    ax_a.legend(loc="lower left")
    return save(fig, path)


def boundaries(runs: dict, methods: dict, X_test: Array, y_test: Array, path: Path) -> Path:
    """One panel per method: the boundary of its seed-0 network over its training points."""
    keys = list(runs)
    cols = 4
    rows = -(-len(keys) // cols)
    fig, axes = figure(rows, cols, figsize=(3.3 * cols, 3.1 * rows + 0.4))
    extent = extent_of(X_test)
    for ax, key in zip(np.ravel(axes), keys):
        r = runs[key]
        size = 22 if len(r["X"]) <= 100 else 4
        decision_boundary(ax, r["net"], r["X"], r["y"], extent, point_size=size)
        ax.set_title(f"{methods[key][0]}\ntrain {100 * r['train_acc']:.0f}% · "
                     f"test {100 * r['test_acc']:.0f}%", fontsize=10)
    for ax in np.ravel(axes)[len(keys):]:
        ax.axis("off")
    fig.suptitle("Decision boundaries: shading is P(class 1), black line is 0.5; "
                 "dots are each network's training points", fontsize=11)
    fig.tight_layout()
    return save(fig, path)


def gap_bars(numbers: dict, methods: dict, path: Path) -> Path:
    """Grouped bars: train and test accuracy per method, the gap written above each pair."""
    keys = list(numbers)
    x = np.arange(len(keys))
    fig, ax = figure(figsize=(11, 4.2))
    for dx, key, label, color in ((-0.2, "train_acc", "train", PALETTE[0]),
                                  (0.2, "test_acc", "test", PALETTE[5])):
        ax.bar(x + dx, [100 * numbers[k][key + "_mean"] for k in keys], 0.38,
               yerr=[100 * numbers[k][key + "_std"] for k in keys], color=color,
               label=f"{label} accuracy", capsize=3)
    for i, k in enumerate(keys):
        r = numbers[k]
        top = 100 * max(r["train_acc_mean"] + r["train_acc_std"], r["test_acc_mean"] + r["test_acc_std"])
        ax.text(i, top + 1.5, f"gap {100 * r['gap_mean']:.0f}", ha="center", fontsize=9)
    base_test = 100 * numbers["baseline"]["test_acc_mean"]
    ax.axhline(base_test, color="0.4", ls=":", lw=1, label="baseline test accuracy")
    ax.set_xticks(x, [methods[k][0].replace(" ", "\n", 1) for k in keys], fontsize=9)
    ax.set(ylim=(50, 108), ylabel="accuracy (%)", yticks=range(50, 101, 10),
           title="Each regularizer trades training accuracy for a smaller train–test gap")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    return save(fig, path)


def error_curve(curve: dict, over: str, path: Path) -> Path:
    """Train and test error (mean ± std over seeds) against data size ``n`` or ``width``."""
    v = np.asarray(curve[over])
    fig, ax = figure(figsize=(6.5, 4.2))
    for key, label, color in (("train_error", "training error", PALETTE[0]),
                              ("test_error", "test error", PALETTE[5])):
        mean, std = 100 * np.asarray(curve[key]), 100 * np.asarray(curve[key + "_std"])
        ax.plot(v, mean, "o-", color=color, label=label)
        ax.fill_between(v, mean - std, mean + std, color=color, alpha=0.15)
    ax.set_xscale("log")
    ax.set_xticks(v, [str(int(t)) for t in v])
    ax.minorticks_off()
    if over == "n":
        ax.set(xlabel="training-set size (points)", title="Learning curve (width 100)")
        loc = "upper right"
    else:
        i = int(np.argmin(curve["test_error"]))
        ax.scatter([v[i]], [100 * curve["test_error"][i]], s=120, facecolors="none",
                   edgecolors="k", zorder=3, label="lowest test error")
        loc = "center right"
        ax.set(xlabel="hidden units per layer (2 hidden layers)",
               title="Capacity curve (40 training points)")
        ax.text(0.02, 0.97, "← underfitting", transform=ax.transAxes, va="top", fontsize=9,
                color="0.3")
        ax.text(0.98, 0.97, "overfitting →", transform=ax.transAxes, ha="right", va="top",
                fontsize=9, color="0.3")
    ax.set(ylabel="error (%)", ylim=(min(-2, ax.get_ylim()[0]), ax.get_ylim()[1] * 1.12))
    ax.legend(loc=loc)
    return save(fig, path)
