"""Figures of the recurrent-network lab (see :mod:`mlplab.lab.experiments.rnn`, whose result
dicts these functions draw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import tr
from .style import PALETTE, figure, save

KIND_LABELS = {"rnn": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
KIND_COLORS = {"rnn": PALETTE[5], "gru": PALETTE[2], "lstm": PALETTE[0]}


def vanishing(grads: dict, path: Path) -> Path:
    """‖∂C/∂hₜ‖ / ‖∂C/∂h_T‖ against the distance to the loss, one line per network, log scale."""
    fig, ax = figure(figsize=(6.6, 4.6))
    colors = [PALETTE[5], PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[4]]
    for color, (name, run) in zip(colors, grads.items()):
        label = _name(name)
        if "factor_mean" in run:
            label += f"  (W_hᵀdiag(g′): ‖·‖₂ {run['factor_mean']:.2f}, rms {run['factor_rms']:.2f})"
        elif "forget_mean" in run:
            label += tr(f"  (forget gate ≈ {run['forget_mean']:.2f})",
                        f"（遗忘门 ≈ {run['forget_mean']:.2f}）")
        relative = np.array(run["grad_h"]) / run["grad_h"][-1]
        ax.plot(run["distance"], relative, color=color, lw=2, label=label)
    ax.set_yscale("log")
    ax.set_xlabel(tr("distance to the loss, T − t (steps)", "到损失的距离 T − t（步）"))
    ax.set_ylabel(tr("‖∂C/∂hₜ‖ / ‖∂C/∂h_T‖ (mean over sequences)",
                     "‖∂C/∂hₜ‖ / ‖∂C/∂h_T‖（各序列的均值）"))
    ax.set_title(tr("Backpropagation through time: the error reaching step t",
                    "沿时间的反向传播：到达第 t 步的误差"))
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1)
    return save(fig, path)


def adding(runs: dict, path: Path) -> Path:
    """Test MSE against the sequence length, one line per kind, with the baseline and target."""
    fig, ax = figure(figsize=(6.0, 4.0))
    kinds = list(dict.fromkeys(r["kind"] for r in runs.values()))
    for kind in kinds:
        points = sorted((r["T"], r["test_mse"]) for r in runs.values() if r["kind"] == kind)
        ax.plot(*zip(*points), "o-", color=KIND_COLORS[kind], lw=2, label=KIND_LABELS[kind])
    ax.axhline(1 / 6, color="0.4", ls="--", lw=1.2,
               label=tr("predict the mean (1/6)", "预测均值（1/6）"))
    ax.axhline(0.01, color="0.4", ls=":", lw=1.2, label=tr("target 0.01", "目标 0.01"))
    ax.set_yscale("log")
    ax.set_xlabel(tr("sequence length T", "序列长度 T"))
    ax.set_ylabel(tr("test MSE, mean (a − y)²", "测试 MSE，(a − y)² 的均值"))
    ax.set_title(tr("Memory: the adding problem", "记忆：加法问题"))
    ax.set_xticks(sorted({r["T"] for r in runs.values()}))
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(loc="best")
    return save(fig, path)


def language_model(lm: dict, path: Path) -> Path:
    """Cross-entropy per character by epoch; the epochs that were sampled marked."""
    fig, ax = figure(figsize=(6.0, 3.8))
    epochs = np.arange(1, len(lm["loss_per_char"]) + 1)
    ax.plot(epochs, lm["loss_per_char"], "-", color=PALETTE[0], lw=2,
            label=tr("LSTM (training)", "LSTM（训练）"))
    sampled = [s["epoch"] for s in lm["samples"]]
    ax.plot(sampled, [lm["loss_per_char"][e - 1] for e in sampled], "o", color=PALETTE[1],
            label=tr("sampled (see the table)", "采样（见表）"))
    ax.axhline(lm["uniform_nats"], color="0.4", ls="--", lw=1.2,
               label=tr("uniform guess", "均匀猜测"))
    ax.axhline(lm["unigram_nats"], color="0.4", ls=":", lw=1.2,
               label=tr("character frequencies", "仅用字符频率"))
    ax.set_xlabel(tr("epoch", "轮次"))
    ax.set_ylabel(tr("nats per character", "每字符的 nats"))
    ax.set_title(tr(f"Character-level LSTM ({lm['hidden']} units) on Coriolanus",
                    f"《科利奥兰纳斯》上的字符级 LSTM（{lm['hidden']} 个单元）"))
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="center right")
    return save(fig, path)


def forecast(sines: dict, path: Path) -> Path:
    """The test segment: noisy observations, the noise-free truth, the one-step forecast."""
    fig, ax = figure(figsize=(7.2, 3.6))
    t = np.array(sines["t"])
    ax.plot(t, sines["noisy"], ".", color="0.6", ms=3, label=tr("observed (noisy)", "观测（含噪声）"))
    ax.plot(t, sines["clean"], "-", color=PALETTE[7], lw=1.5,
            label=tr("truth (noise-free)", "真值（无噪声）"))
    ax.plot(t, sines["prediction"], "-", color=PALETTE[1], lw=2,
            label=tr("GRU, one step ahead", "GRU，向前一步预测"))
    ax.set_xlabel("t")
    ax.set_ylabel(tr("value", "值"))
    ax.set_title(tr(f"Forecasting a noisy sum of sines (test MSE vs truth "
                    f"{sines['mse_vs_clean']:.4f})",
                    f"预测含噪声的正弦和（相对真值的测试 MSE {sines['mse_vs_clean']:.4f}）"))
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
    return save(fig, path)


def _name(name: str) -> str:
    """A network's label in the current language (the results' keys stay English)."""
    trained = " trained (adding, T = "
    if trained in name:
        head, tail = name.split(trained)
        return tr(name, f"{head}（在加法问题上训练后，T = {tail.rstrip(')')}）")
    return name.replace("linear RNN", tr("linear RNN", "线性 RNN"))
