"""Figures of the recurrent-network lab (see :mod:`mlplab.lab.experiments.rnn`, whose result
dicts these functions draw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .style import PALETTE, figure, save

KIND_LABELS = {"rnn": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
KIND_COLORS = {"rnn": PALETTE[5], "gru": PALETTE[2], "lstm": PALETTE[0]}


def vanishing(grads: dict, path: Path) -> Path:
    """‖∂C/∂hₜ‖ / ‖∂C/∂h_T‖ against the distance to the loss, one line per network, log scale."""
    fig, ax = figure(figsize=(6.6, 4.6))
    colors = [PALETTE[5], PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[4]]
    for color, (name, run) in zip(colors, grads.items()):
        label = name
        if "factor_mean" in run:
            label += f"  (W_hᵀdiag(g′): ‖·‖₂ {run['factor_mean']:.2f}, rms {run['factor_rms']:.2f})"
        elif "forget_mean" in run:
            label += f"  (forget gate ≈ {run['forget_mean']:.2f})"
        relative = np.array(run["grad_h"]) / run["grad_h"][-1]
        ax.plot(run["distance"], relative, color=color, lw=2, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("distance to the loss, T − t (steps)")
    ax.set_ylabel("‖∂C/∂hₜ‖ / ‖∂C/∂h_T‖ (mean over sequences)")
    ax.set_title("Backpropagation through time: the error reaching step t")
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
    ax.axhline(1 / 6, color="0.4", ls="--", lw=1.2, label="predict the mean (1/6)")
    ax.axhline(0.01, color="0.4", ls=":", lw=1.2, label="target 0.01")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("test MSE, mean (a − y)²")
    ax.set_title("Memory: the adding problem")
    ax.set_xticks(sorted({r["T"] for r in runs.values()}))
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(loc="best")
    return save(fig, path)


def language_model(lm: dict, path: Path) -> Path:
    """Cross-entropy per character by epoch; the epochs that were sampled marked."""
    fig, ax = figure(figsize=(6.0, 3.8))
    epochs = np.arange(1, len(lm["loss_per_char"]) + 1)
    ax.plot(epochs, lm["loss_per_char"], "-", color=PALETTE[0], lw=2, label="LSTM (training)")
    sampled = [s["epoch"] for s in lm["samples"]]
    ax.plot(sampled, [lm["loss_per_char"][e - 1] for e in sampled], "o", color=PALETTE[1],
            label="sampled (see the table)")
    ax.axhline(lm["uniform_nats"], color="0.4", ls="--", lw=1.2, label="uniform guess")
    ax.axhline(lm["unigram_nats"], color="0.4", ls=":", lw=1.2, label="character frequencies")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per character")
    ax.set_title(f"Character-level LSTM ({lm['hidden']} units) on Coriolanus")
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="center right")
    return save(fig, path)


def forecast(sines: dict, path: Path) -> Path:
    """The test segment: noisy observations, the noise-free truth, the one-step forecast."""
    fig, ax = figure(figsize=(7.2, 3.6))
    t = np.array(sines["t"])
    ax.plot(t, sines["noisy"], ".", color="0.6", ms=3, label="observed (noisy)")
    ax.plot(t, sines["clean"], "-", color=PALETTE[7], lw=1.5, label="truth (noise-free)")
    ax.plot(t, sines["prediction"], "-", color=PALETTE[1], lw=2, label="GRU, one step ahead")
    ax.set_xlabel("t")
    ax.set_ylabel("value")
    ax.set_title(f"Forecasting a noisy sum of sines (test MSE vs truth "
                 f"{sines['mse_vs_clean']:.4f})")
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
    return save(fig, path)
