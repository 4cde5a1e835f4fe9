"""Figures of convolutional networks: filters, feature maps, accuracy under shifts, and the
trace of one image (feature maps forward, δ maps backward)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import tr
from .style import figure, save

Array = np.ndarray
MAPS = "gray_r"  # ink dark on white, as the digits are drawn
SIGNED = "RdBu_r"  # δ and filters: blue negative, red positive, white 0


def _grid(axes_row, maps: Array, cmap: str, signed: bool) -> None:
    """One small image per map along a row of axes (empty axes hidden)."""
    limit = float(np.abs(maps).max()) or 1.0
    for ax, image in zip(axes_row, maps):
        kw = {"vmin": -limit, "vmax": limit} if signed else {}
        ax.imshow(image, cmap=cmap, interpolation="nearest", **kw)
    for ax in axes_row:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)


def filters(W: Array, path: Path) -> Path:
    """A convolution's filters ``(out_channels, in_channels, kh, kw)``: one image each (the
    first input channel), on one colour scale centred at 0."""
    W = np.asarray(W)[:, 0]
    columns = min(8, len(W))
    rows = -(-len(W) // columns)
    fig, axes = figure(rows, columns, figsize=(1.3 * columns, 1.4 * rows + 0.4), squeeze=False)
    _grid(axes.ravel(), W, SIGNED, signed=True)
    fig.suptitle(tr("first-layer filters (blue < 0 < red)", "第一层滤波器（蓝 < 0 < 红）"))
    return save(fig, path)


def feature_maps(net, x: Array, path: Path, per_row: int = 16) -> Path:
    """One image through the layers of ``net`` that keep maps: a row per layer."""
    net.forward(np.asarray(x, net.dtype)[None])
    rows = [(tr("input", "输入"), np.asarray(x))] + [
        (repr(layer).split("(")[0] + f" {l}", layer.A[0]) for l, layer in
        enumerate(net.layers[1:], start=1) if layer.A is not None and layer.A.ndim == 4]
    fig, axes = figure(len(rows), per_row, figsize=(0.9 * per_row, 1.1 * len(rows)),
                       squeeze=False)
    for (label, maps), axes_row in zip(rows, axes):
        _grid(axes_row, maps[:per_row], MAPS, signed=False)
        axes_row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        axes_row[0].set_frame_on(False)
    fig.suptitle(tr(f"feature maps a⁽ˡ⁾ of one image (at most {per_row} channels per layer)",
                    f"一幅图像的特征图 a⁽ˡ⁾（每层最多 {per_row} 个通道）"))
    return save(fig, path)


def shift_grid(grids: dict, path: Path) -> Path:
    """Accuracy over a grid of shifts (rows dy, columns dx) for each model, side by side."""
    fig, axes = figure(1, len(grids), figsize=(4.2 * len(grids), 3.8), squeeze=False)
    for ax, (name, grid) in zip(axes[0], grids.items()):
        grid = 100 * np.asarray(grid)
        reach = len(grid) // 2
        ax.imshow(grid, cmap="viridis", vmin=0, vmax=100)
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=9,
                    color="white" if value < 60 else "black")
        ticks = range(len(grid))
        labels = [str(d) for d in range(-reach, reach + 1)]
        ax.set(xticks=ticks, xticklabels=labels, yticks=ticks, yticklabels=labels,
               xlabel=tr("shift right dx (pixels)", "向右平移 dx（像素）"),
               ylabel=tr("shift down dy (pixels)", "向下平移 dy（像素）"),
               title=name.upper() + tr(": test accuracy (%)", "：测试正确率（%）"))
    return save(fig, path)


def trace_figure(trace, path: Path, per_row: int = 8) -> Path:
    """The maps of a :func:`mlplab.trace` of one image: every ``a⁽ˡ⁾`` that is a stack of maps
    (forward, grey) and every ``δ⁽ˡ⁾`` (backward, blue < 0 < red)."""
    rows = [(s.symbol, s.value, False) for s in trace.steps
            if s.symbol.startswith("a") and s.value.ndim == 3]
    rows += [(s.symbol, s.value, True) for s in trace.steps
             if s.symbol.startswith("δ") and s.value.ndim == 3]
    fig, axes = figure(len(rows), per_row, figsize=(1.0 * per_row, 1.1 * len(rows)),
                       squeeze=False)
    for (symbol, maps, signed), axes_row in zip(rows, axes):
        _grid(axes_row, maps[:per_row], SIGNED if signed else MAPS, signed)
        axes_row[0].set_ylabel(symbol, rotation=0, ha="right", va="center", fontsize=11)
    fig.suptitle(tr("trace of one image: maps forward, δ backward",
                    "一幅图像的追踪：前向的特征图，反向的 δ") + f" (C = {trace.cost:.3g})")
    return save(fig, path)
