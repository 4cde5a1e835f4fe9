"""Figures of the gradients lab: per-layer gradient norms, σ', remedies (see
:mod:`mlplab.experiments.gradients`, whose result dicts these functions draw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matplotlib.patches import Patch

from ..text import tr
from .style import PALETTE, figure, save


def _nan(values) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


def smooth(values: np.ndarray, window: int = 10) -> np.ndarray:
    """Moving geometric mean over ``window`` epochs (centred; shorter at the ends): gradient
    norms of minibatch training jump from epoch to epoch, their trend is what matters."""
    logs = np.log(values)
    out = np.empty_like(logs)
    for i in range(len(logs)):
        part = logs[max(0, i - window // 2): i + window // 2 + 1]
        out[i] = np.nanmean(part) if np.isfinite(part).any() else np.nan
    return np.exp(out)


def speed_of_learning(speed: dict, path: Path, escape: int | None = None) -> Path:
    """One panel per network (1–4 hidden layers): ‖∂C/∂b⁽ˡ⁾‖ vs epoch, log scale, smoothed;
    ``escape`` marks the epoch the deepest network leaves its plateau."""
    fig, axes = figure(1, len(speed), figsize=(3.6 * len(speed), 3.4), sharey=True)
    for ax, (depth, run) in zip(np.atleast_1d(axes), speed.items()):
        grad_b = _nan(run["grad_b"])
        for l in range(grad_b.shape[1]):
            ax.plot(run["epochs"], smooth(grad_b[:, l]), color=PALETTE[l], lw=1.8,
                    label=tr(f"hidden layer {l + 1}", f"隐藏层 {l + 1}"))
        ax.set_yscale("log")
        ax.set_title(tr(f"{depth} hidden layer{'s' if depth != '1' else ''}", f"{depth} 个隐藏层"))
        ax.set_xlabel(tr("epoch", "轮次"))
        ax.grid(alpha=0.3, which="both", lw=0.5)
    if escape:
        np.atleast_1d(axes)[-1].axvline(escape, color="0.3", ls=":", lw=1.5)
    np.atleast_1d(axes)[0].set_ylabel(tr("‖∂C/∂b⁽ˡ⁾‖ (on a fixed set of training images)", "‖∂C/∂b⁽ˡ⁾‖（在固定的一组训练图片上）"))
    np.atleast_1d(axes)[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(tr("Speed of learning: sigmoid networks on digits",
                    "学习速度：digits 上的 sigmoid 网络"), y=1.02)
    return save(fig, path)


def nielsen_comparison(ours, nielsen, path: Path) -> Path:
    """Start-of-training bias-gradient norms per layer: mlplab beside Nielsen's numbers."""
    fig, ax = figure(figsize=(5.2, 3.6))
    layers = np.arange(1, len(ours) + 1)
    ax.plot(layers, nielsen, "o-", color=PALETTE[1], lw=2, label="Nielsen, MNIST")
    ax.plot(layers, ours, "s-", color=PALETTE[0], lw=2, label="mlplab, digits")
    for x, a, b in zip(layers, ours, nielsen):
        ax.annotate(f"{b:g}", (x, b), textcoords="offset points", xytext=(-7, 5), fontsize=8,
                    color=PALETTE[1], ha="right")
        ax.annotate(f"{a:.2g}", (x, a), textcoords="offset points", xytext=(7, -11), fontsize=8,
                    color=PALETTE[0], ha="left")
    ax.set_xlim(0.4, len(ours) + 0.5)
    ax.set_yscale("log")
    ax.set_xticks(layers)
    ax.set_xlabel(tr("hidden layer l (1 = nearest the input)", "隐藏层 l（1 = 最靠近输入）"))
    ax.set_ylabel(tr("‖∂C/∂b⁽ˡ⁾‖ at the start", "训练开始时的 ‖∂C/∂b⁽ˡ⁾‖"))
    ax.set_title(tr("4 sigmoid hidden layers of 30", "4 个 sigmoid 隐藏层，每层 30"))
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(loc="upper left")
    return save(fig, path)


def sigmoid_bound(z, s, s_prime, path: Path) -> Path:
    """σ and σ' with the maximum 0.25 marked."""
    fig, ax = figure(figsize=(5.6, 3.6))
    ax.plot(z, s, color=PALETTE[0], lw=2, label="σ(z)")
    ax.plot(z, s_prime, color=PALETTE[5], lw=2, label="σ'(z) = σ(z)(1 − σ(z))")
    ax.axhline(0.25, color="0.4", ls="--", lw=1)
    ax.plot([0], [0.25], "o", color=PALETTE[5])
    ax.annotate(tr("max σ' = 0.25 at z = 0", "z = 0 处 σ' 最大 = 0.25"), (0, 0.25), xytext=(1.2, 0.36),
                arrowprops=dict(arrowstyle="->", color="0.3"), fontsize=9)
    ax.set_xlabel("z")
    ax.set_ylim(-0.03, 1.05)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3, lw=0.5)
    return save(fig, path)


def layer_profiles(remedies: dict, depth: int, path: Path) -> Path:
    """‖∂C/∂b⁽ˡ⁾‖ per hidden layer at the start, one line per network; two panels by case."""
    fig, axes = figure(1, 2, figsize=(11, 4), sharey=True)
    layers = np.arange(1, depth + 1)
    panels = [("vanishing", tr("sigmoid baseline and its remedies", "sigmoid 基线及其补救")),
              ("exploding", tr("large-init ReLU and its remedies", "大初始化 ReLU 及其补救"))]
    for ax, (case, title) in zip(axes, panels):
        runs = [r for r in remedies.values() if r["case"] == case]
        base = runs[0]
        for i, r in enumerate(runs):
            if i and np.allclose(r["start"], base["start"]):  # clipping: same weights, same start
                ax.plot(layers, r["start"], "--", color=PALETTE[i % 7], lw=1.4,
                        label=r["label"] + tr(" (same start)", "（起点相同）"))
                continue
            ax.plot(layers, r["start"], "o-", color="black" if i == 0 else PALETTE[i % 7],
                    lw=2.6 if i == 0 else 1.6, ms=4, label=r["label"])
        ax.set_yscale("log")
        ax.set_xticks(layers)
        ax.set_xlabel(tr("hidden layer l (1 = nearest the input)", "隐藏层 l（1 = 最靠近输入）"))
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both", lw=0.5)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    axes[0].set_ylabel(tr("‖∂C/∂b⁽ˡ⁾‖ at the start", "训练开始时的 ‖∂C/∂b⁽ˡ⁾‖"))
    return save(fig, path)


OFF_SCALE = 1e4  # a cross-entropy above this is an overflowing run, not a training curve


def exploding_training(remedies: dict, path: Path) -> Path:
    """Training cost per epoch of the exploding case and its remedies. The axis covers the
    finite costs of ordinary size; a cost far above them (an overflowing run) is drawn as ▲ at
    the top edge, a NaN cost as ×, so one huge value cannot flatten every curve."""
    fig, ax = figure(figsize=(6, 3.8))
    runs = [r for r in remedies.values() if r["case"] == "exploding"]
    costs = [np.array([np.nan if v is None else v for v in r["loss"]], dtype=float) for r in runs]
    finite = np.concatenate([c[np.isfinite(c)] for c in costs])
    ordinary = finite[finite <= OFF_SCALE]
    top = float(ordinary.max() * 2) if ordinary.size else 10.0
    for i, (r, loss) in enumerate(zip(runs, costs)):
        epochs = np.arange(1, len(loss) + 1)
        color = "black" if i == 0 else PALETTE[i % 7]
        ok = np.isfinite(loss) & (loss <= top)
        if ok.any():
            ax.plot(epochs[ok], loss[ok], "o-", color=color, lw=1.8, ms=3, label=r["label"])
        for e, value in zip(epochs[~ok], loss[~ok]):
            marker = "x" if np.isnan(value) else "^"
            text = tr("NaN", "NaN") if np.isnan(value) else f"{value:.0e}".replace("-", "−")
            ax.plot([e], [top], marker, color=color, ms=11, mew=2.5, clip_on=False,
                    label=r["label"] + f": {text}" + tr(f" in epoch {e}", f"（第 {e} 轮）"))
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(tr("epoch", "轮次"))
    ax.set_ylabel(tr("training cost (cross-entropy)", "训练代价（交叉熵）"))
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(fontsize=8)
    return save(fig, path)


def remedy_bars(remedies: dict, path: Path) -> Path:
    """Two bar panels: first-to-last ratio (log, 1 marked) and test accuracy per network."""
    names = list(remedies)
    labels = [remedies[n]["label"] for n in names]
    ratio = np.array([remedies[n]["ratio_start"] for n in names], dtype=float)
    acc = np.array([remedies[n]["test_accuracy"] for n in names], dtype=float)
    colors = ["black" if n in ("sigmoid", "exploding") else
              (PALETTE[0] if remedies[n]["case"] == "vanishing" else PALETTE[5]) for n in names]
    y = np.arange(len(names))[::-1]
    fig, (ax1, ax2) = figure(1, 2, figsize=(11, 0.42 * len(names) + 1.4), sharey=True)
    # bars grow from 1 (no vanishing or exploding) towards the measured ratio
    ax1.barh(y, np.abs(ratio - 1), left=np.minimum(ratio, 1), color=colors)
    ax1.set_xscale("log")
    ax1.axvline(1, color="0.3", ls="--", lw=1)
    finite = ratio[np.isfinite(ratio)]
    ax1.set_xlim(min(finite.min(), 1) / 30, max(finite.max(), 1) * 8)
    ax1.set_xlabel(tr("‖∂C/∂b⁽¹⁾‖ / ‖∂C/∂b⁽ᴸ⁻¹⁾‖ at the start (1 = no vanishing or exploding)",
                      "训练开始时 ‖∂C/∂b⁽¹⁾‖ / ‖∂C/∂b⁽ᴸ⁻¹⁾‖（1 = 既不消失也不爆炸）"))
    ax1.set_yticks(y, labels)
    for yi, r in zip(y, ratio):
        ax1.annotate(f"{r:.2g}", (r, yi), xytext=(3 if r >= 1 else -3, -3),
                     textcoords="offset points", fontsize=8, ha="left" if r >= 1 else "right")
    ax2.barh(y, np.nan_to_num(acc), color=colors)
    for yi, a in zip(y, acc):
        ax2.annotate(f"{a:.2f}", (a, yi), xytext=(3, -3), textcoords="offset points", fontsize=8)
    ax2.set_xlim(0, 1.12)
    ax2.axvline(0.1, color="0.5", ls=":", lw=1)
    ax2.set_xlabel(tr("test accuracy (chance = 0.1)", "测试正确率（随机猜测 = 0.1）"))
    fig.legend(handles=[Patch(color="black", label=tr("baselines", "基线")),
                        Patch(color=PALETTE[0], label=tr("remedies for vanishing (sigmoid)",
                                                         "针对消失的方法（sigmoid）")),
                        Patch(color=PALETTE[5], label=tr("remedies for exploding (large-init ReLU)",
                                                         "针对爆炸的方法（大初始化 ReLU）"))],
               loc="upper center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 1.02))
    return save(fig, path)
