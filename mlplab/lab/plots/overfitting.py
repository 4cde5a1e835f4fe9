"""Figures of the overfitting lab: loss curves, decision boundaries, gaps, error curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import tr

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
                   linewidths=0 if many else 0.6, alpha=0.7 if many else 1, label=tr(f"class {k}", f"类别 {k}"))
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[], aspect="equal")


def loss_curves(curves: dict, path: Path) -> Path:
    """Train vs test loss (left) and accuracy (right) over the epochs of one long run."""
    fig, (ax_l, ax_a) = figure(1, 2, figsize=(11, 4))
    e = curves["epoch"]
    ax_l.plot(e, curves["train_loss"], label=tr("training loss", "训练损失"), color=PALETTE[0])
    ax_l.plot(e, curves["test_loss"], label=tr("test loss", "测试损失"), color=PALETTE[5])
    ax_l.set(xscale="log", yscale="log", xlabel=tr("epoch", "轮次"), ylabel=tr("cross-entropy (mean per sample)", "交叉熵（每样本平均）"),
             title=tr("Loss: training falls, test turns and rises", "损失：训练一直降，测试先降后升"))
    ax_a.plot(e, 100 * np.asarray(curves["train_acc"]), label=tr("training accuracy", "训练正确率"), color=PALETTE[0])
    ax_a.plot(e, 100 * np.asarray(curves["test_acc"]), label=tr("test accuracy", "测试正确率"), color=PALETTE[5])
    ax_a.set(xscale="log", xlabel=tr("epoch", "轮次"), ylabel=tr("accuracy (%)", "正确率（%）"),
             title=tr("Accuracy: training reaches 100 %, test does not", "正确率：训练到 100 %，测试达不到"))
    for ax in (ax_l, ax_a):
        ax.axvline(curves["best_test_epoch"], color="0.4", ls="--", lw=1)
    ax_l.annotate(tr("lowest test loss\n(epoch {})", "测试损失最低\n（第 {} 轮）").format(curves["best_test_epoch"]),
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
        ax.set_title(f"{tr(*methods[key][0])}\n" + tr("train", "训练") + f" {100 * r['train_acc']:.0f}% · "
                     + tr("test", "测试") + f" {100 * r['test_acc']:.0f}%", fontsize=10)
    for ax in np.ravel(axes)[len(keys):]:
        ax.axis("off")
    fig.suptitle(tr("Decision boundaries: shading is P(class 1), black line is 0.5; dots are each "
                    "network's training points", "决策边界：底色为 P(类别 1)，黑线为 0.5；点为各网络的训练样本"),
                 fontsize=11)
    fig.tight_layout()
    return save(fig, path)


def gap_bars(numbers: dict, methods: dict, path: Path) -> Path:
    """Grouped bars: train and test accuracy per method, the gap written above each pair."""
    keys = list(numbers)
    x = np.arange(len(keys))
    fig, ax = figure(figsize=(11, 4.2))
    for dx, key, label, color in ((-0.2, "train_acc", tr("training accuracy", "训练正确率"), PALETTE[0]),
                                  (0.2, "test_acc", tr("test accuracy", "测试正确率"), PALETTE[5])):
        ax.bar(x + dx, [100 * numbers[k][key + "_mean"] for k in keys], 0.38,
               yerr=[100 * numbers[k][key + "_std"] for k in keys], color=color,
               label=label, capsize=3)
    for i, k in enumerate(keys):
        r = numbers[k]
        top = 100 * max(r["train_acc_mean"] + r["train_acc_std"], r["test_acc_mean"] + r["test_acc_std"])
        ax.text(i, top + 1.5, tr("gap", "差距") + f" {100 * r['gap_mean']:.0f}", ha="center", fontsize=9)
    base_test = 100 * numbers["baseline"]["test_acc_mean"]
    ax.axhline(base_test, color="0.4", ls=":", lw=1, label=tr("baseline test accuracy", "基线测试正确率"))
    ax.set_xticks(x, [tr(*methods[k][0]).replace(" ", "\n", 1) for k in keys], fontsize=9)
    ax.set(ylim=(50, 108), ylabel=tr("accuracy (%)", "正确率（%）"), yticks=range(50, 101, 10),
           title=tr("Each regularizer trades training accuracy for a smaller train–test gap",
                    "每种正则化都用一点训练正确率换更小的训练–测试差距"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    return save(fig, path)


def error_curve(curve: dict, over: str, path: Path) -> Path:
    """Train and test error (mean ± std over seeds) against data size ``n`` or ``width``."""
    v = np.asarray(curve[over])
    fig, ax = figure(figsize=(6.5, 4.2))
    for key, label, color in (("train_error", tr("training error", "训练误差"), PALETTE[0]),
                              ("test_error", tr("test error", "测试误差"), PALETTE[5])):
        mean, std = 100 * np.asarray(curve[key]), 100 * np.asarray(curve[key + "_std"])
        ax.plot(v, mean, "o-", color=color, label=label)
        # an error rate lies in [0, 100] %: the ± std band is clipped there
        ax.fill_between(v, np.clip(mean - std, 0, 100), np.clip(mean + std, 0, 100), color=color,
                        alpha=0.15)
    ax.set_xscale("log")
    ax.set_xticks(v, [str(int(t)) for t in v])
    ax.minorticks_off()
    if over == "n":
        ax.set(xlabel=tr("training-set size (points)", "训练集大小（点数）"),
               title=tr("Learning curve (width 100)", "学习曲线（宽度 100）"))
        loc = "upper right"
    else:
        i = int(np.argmin(curve["test_error"]))
        ax.scatter([v[i]], [100 * curve["test_error"][i]], s=120, facecolors="none",
                   edgecolors="k", zorder=3, label=tr("lowest test error", "最低测试误差"))
        loc = "center right"
        ax.set(xlabel=tr("hidden units per layer (2 hidden layers)", "每层隐藏单元数（2 个隐藏层）"),
               title=tr("Capacity curve (40 training points)", "容量曲线（40 个训练点）"))
        ax.text(0.02, 0.97, tr("← underfitting", "← 欠拟合"), transform=ax.transAxes, va="top", fontsize=9,
                color="0.3")
        ax.text(0.98, 0.97, tr("overfitting →", "过拟合 →"), transform=ax.transAxes, ha="right", va="top",
                fontsize=9, color="0.3")
    ax.set(ylabel=tr("error (%)", "误差（%）"), ylim=(min(-2, ax.get_ylim()[0]), ax.get_ylim()[1] * 1.12))
    ax.legend(loc=loc)
    return save(fig, path)
