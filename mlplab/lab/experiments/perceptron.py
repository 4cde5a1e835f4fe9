"""03 单层感知机: the perceptron rule from a random line; a misclassified sample pulls the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "perceptron"
TITLE = "The single-layer perceptron"
TITLE_ZH = "03 单层感知机"
CLAIM = "Trained sample by sample, the perceptron's line moves towards each misclassified sample."
LECTURE = T("the single-layer perceptron (sgn neurons) learns sample by sample: a misclassified "
            "sample pulls the line towards itself.",
            "单层感知机（sgn 神经元）逐个样本学习：分错的样本把直线拉向自己。")

CENTERS = np.array([(2.0, 5.0), (5.0, 3.0)])  # off the origin: the bias b has to learn too
ETA = 0.2


def separable_blobs(n: int, seed: int, margin: float = 0.3):
    """Two blobs ("cats vs dogs") with the points near the bisector removed: separable."""
    from ...datasets import blobs

    X, y = blobs(n, noise=0.8, seed=seed, centers=CENTERS)
    w = CENTERS[1] - CENTERS[0]
    z = (X - CENTERS.mean(0)) @ w / np.linalg.norm(w)   # signed distance to the bisector
    keep = np.where(y == 1, z, -z) > margin
    return X[keep], y[keep]


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.perceptron import (dancing_line_gif, dancing_line_still, drawn_updates,
                                    lines_in_view, mistakes_plot)
    from ..text import tr
    from ._rules import perceptron_rule

    out = Path(out)
    X, y = separable_blobs(100, seed)
    dance = perceptron_rule(X, y, eta=ETA, max_epochs=1000, seed=seed)
    w0, b0 = dance.line_at(0)
    numbers = {"samples": len(X), "eta": ETA, "epochs": dance.n_iter_, "updates": dance.n_updates_,
               "converged": dance.converged_, "start": {"w": w0.tolist(), "b": b0},
               "start_accuracy": dance.accuracy(X, y, 0), "accuracy": dance.accuracy(X, y),
               "final": {"w": dance.line_at(dance.n_updates_)[0].tolist(),
                         "b": dance.line_at(dance.n_updates_)[1]},
               "mistakes": dance.mistakes_, "smallest_margin": dance.smallest_margin(X),
               "lines_drawn": len(lines_in_view(dance, X, drawn_updates(dance.n_updates_)))}
    figures = [
        (dancing_line_gif(dance, X, y, out / "perceptron_dance.gif", max_frames=25 if quick else 60),
         T("The dancing line (animated): it starts as a random line; each frame is one update, "
           "and the ringed sample is the misclassified one that pulled the line towards itself.",
           "会跳舞的线（动图）：起点是一条随机的线；每帧是一次更新，圈出的是分错的那个样本，它把线拉向自己。")),
        (dancing_line_still(dance, X, y, out / "perceptron_blobs.png",
                            title=T("separated after {updates} updates in {epochs} epochs",
                                    "{epochs} 轮、{updates} 次更新后分开").text(numbers)),
         T("Every line the rule visited, in order from pale to dark ({lines_drawn} of the "
           "{updates} lines before the last are drawn), the random start dashed and the final "
           "separating line bold.",
           "规则走过的每条线，按先后由浅到深（画出最终之前 {updates} 条线中的 {lines_drawn} 条），"
           "随机起点为虚线，最终分开两类的线为粗线。")),
        (mistakes_plot({tr("blobs", "两团点"): (dance.mistakes_, len(X))},
                       out / "perceptron_mistakes.png"),
         T("Mistakes per epoch: the rule stops after the first epoch without a mistake "
           "(epoch {epochs}).", "每轮分错的样本数：出现第一个零错误的轮次（第 {epochs} 轮）后规则停止。")),
    ]
    table = Table(T("The perceptron rule on separable blobs (η = {eta:g})",
                    "可分的两团点上的感知机规则（η = {eta:g}）"),
                  [T("samples", "样本数"), T("epochs", "轮数"), T("updates", "更新次数"),
                   T("accuracy of the random start", "随机起点的正确率"),
                   T("final accuracy", "最终正确率")],
                  [[R("samples"), R("epochs"), R("updates"), R("start_accuracy", ".0%"),
                    R("accuracy", ".0%")]])
    findings = [
        T("From a random line that classifies {start_accuracy:.0%} of the samples, the rule "
          "made {updates} updates and separated all {samples} after {epochs} epochs.",
          "从一条只分对 {start_accuracy:.0%} 样本的随机直线出发，规则更新 {updates} 次，"
          "{epochs} 轮后把 {samples} 个样本全部分开。"),
        T("No line it visited ran through a sample: the smallest |w·x + b| was "
          "{smallest_margin:.3g}, so no count depends on what sgn(0) is.",
          "走过的线都不经过任何样本：|w·x + b| 的最小值为 {smallest_margin:.3g}，所以没有哪个计数取决于 sgn(0) 的取值。"),
    ]
    notes = [T("mlplab's note: the update is w ← w + η·t·x, b ← b + η·t for a sample with "
               "target t = ±1 that sgn(w·x + b) gets wrong; it moves the line towards the "
               "sample. Where no line separates the classes it never stops: see “只能切一刀”.",
               "mlplab 的说明：对于目标 t = ±1、被 sgn(w·x + b) 分错的样本，更新 w ← w + η·t·x，"
               "b ← b + η·t，把线移向该样本。若没有直线能分开两类，它就永不停止：见“只能切一刀”。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table], findings,
                            lecture=LECTURE, notes=notes)
