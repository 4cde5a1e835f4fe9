"""深度剖析2 · 只能切一刀: one layer cuts the plane once, so it cannot do XOR; and (证) without a
nonlinearity, any depth collapses to one layer: the product W⁽ᴸ⁾…W⁽¹⁾ is that layer."""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "one-cut"
TITLE = "One layer cuts only once"
TITLE_ZH = "只能切一刀"
CLAIM = "One layer draws one straight cut; linear layers stacked to any depth are still one layer."
LECTURE = T("one layer can only cut once (只能切一刀), so it cannot separate XOR; 证 (proof): with "
            "only linear transformations, a fully connected network of any depth is no more "
            "expressive than a single layer, and is linear.",
            "单层网络只能切一刀，所以分不开异或；证：只有线性变换时，任意深度的全连接网络并不比单层网络更强，"
            "仍然是线性的。")
DEPTHS, WIDTHS = (1, 2, 4, 8), (2, 32)


def collapse(net) -> tuple[np.ndarray, np.ndarray]:
    """The one layer an all-identity network equals: ``W = W⁽ᴸ⁾⋯W⁽¹⁾`` and the folded bias
    ``b = W⁽ᴸ⁾(⋯(W⁽²⁾b⁽¹⁾ + b⁽²⁾)⋯) + b⁽ᴸ⁾``."""
    layers = net.layers[1:]
    W = reduce(lambda acc, layer: layer.W @ acc, layers, np.eye(layers[0].W.shape[1]))
    b = reduce(lambda acc, layer: layer.W @ acc + layer.b, layers, np.zeros(layers[0].W.shape[1]))
    return W, b


def _deep_linear(X, y, depth: int, width: int, seed: int, epochs: int) -> dict:
    from ...core.network import Network

    sizes = [2] + [width] * depth + [1]
    net = Network(sizes, activation="identity", output="sigmoid", loss="cross_entropy",
                  init="xavier_normal", seed=seed)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, epsilon=None, max_epochs=epochs)
    W, b = collapse(net)
    grid = np.random.default_rng(seed).uniform(-3, 3, (1000, 2))
    net.forward(grid)
    z = net.layers[-1].Z[:, 0]
    return {"sizes": sizes, "depth": depth, "width": width, "accuracy": net.score(X, y),
            "W": W.tolist(), "b": b.tolist(),
            "collapse_error": float(np.abs(z - (grid @ W.T + b)[:, 0]).max()),
            "scale": float(np.abs(z).max()), "net": net}


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...core.network import Network
    from ...datasets import truth_table, xor_clusters
    from ..plots.boundary import decision_boundary_figure
    from ..plots.perceptron import dancing_line_still
    from ._rules import perceptron_rule

    out = Path(out)
    Xt, Yt = truth_table("xor")
    yt = Yt.ravel().astype(int)
    dance = perceptron_rule(Xt, yt, eta=0.5, max_epochs=30 if quick else 100, seed=seed)
    best = int(np.argmax(dance.accuracies(Xt, yt)))
    X, y = xor_clusters(100 if quick else 200, seed=seed)
    epochs = 150 if quick else 300
    runs = [_deep_linear(X, y, d, w, seed, epochs) for d in DEPTHS for w in WIDTHS]
    nonlinear = Network([2, 4, 1], activation="tanh", loss="cross_entropy", init="xavier_normal",
                        seed=seed)
    nonlinear.fit(X, y, optimizer="adam", learning_rate=0.05, epsilon=None, max_epochs=epochs)
    deepest = runs[-1]
    numbers = {
        "perceptron": {"epochs": dance.n_iter_, "converged": dance.converged_,
                       "updates": dance.n_updates_, "best_accuracy": dance.accuracy(Xt, yt, best),
                       "final_accuracy": dance.accuracy(Xt, yt),
                       "smallest_margin": dance.smallest_margin(Xt)},
        "samples": len(X), "epochs": epochs,
        "linear": [{k: v for k, v in r.items() if k != "net"} for r in runs],
        "best_linear_accuracy": max(r["accuracy"] for r in runs),
        "largest_collapse_error": max(r["collapse_error"] for r in runs),
        "nonlinear": {"sizes": [2, 4, 1], "accuracy": nonlinear.score(X, y)},
    }
    figures = [
        (dancing_line_still(dance, Xt, yt, out / "one_cut_perceptron_xor.png",
                            title=T("XOR: {perceptron.epochs} epochs, no separating line",
                                    "异或：{perceptron.epochs} 轮，找不到分开的线").text(numbers),
                            highlight=best,
                            highlight_label=T("best line: {perceptron.best_accuracy:.0%} right",
                                              "最好的线：分对 {perceptron.best_accuracy:.0%}")
                            .text(numbers)),
         T("The perceptron rule on the XOR truth table, from a random line: it never has an "
           "epoch without a mistake; the best line it visited classifies "
           "{perceptron.best_accuracy:.0%} of the points. No line passed through a point "
           "(smallest |w·x + b| = {perceptron.smallest_margin:.3g}).",
           "感知机规则从随机直线出发学异或真值表：没有一轮是零错误；它走过的最好的线分对 "
           "{perceptron.best_accuracy:.0%} 的点。没有哪条线经过数据点（|w·x + b| 最小为 "
           "{perceptron.smallest_margin:.3g}）。")),
        (decision_boundary_figure(deepest["net"], X, y, path=out / "one_cut_deep_linear.png",
                                  title=T("{linear.7.sizes:arch}, identity: {linear.7.accuracy:.0%}",
                                          "{linear.7.sizes:arch}，恒等激活：{linear.7.accuracy:.0%}")
                                  .text(numbers)),
         T("A deep linear network ({linear.7.sizes:arch}, identity activations, sigmoid output) "
           "on the four XOR clusters: its boundary is one straight line.",
           "深层线性网络（{linear.7.sizes:arch}，恒等激活，sigmoid 输出）在四团异或数据上：决策边界仍是一条直线。")),
        (decision_boundary_figure(nonlinear, X, y, path=out / "one_cut_nonlinear.png",
                                  title=T("{nonlinear.sizes:arch}, tanh: {nonlinear.accuracy:.0%}",
                                          "{nonlinear.sizes:arch}，tanh：{nonlinear.accuracy:.0%}")
                                  .text(numbers)),
         T("One hidden layer with a nonlinearity (tanh, {nonlinear.sizes:arch}) on the same data: "
           "{nonlinear.accuracy:.0%}.", "同样的数据，加一层带非线性（tanh，{nonlinear.sizes:arch}）"
           "的隐藏层：{nonlinear.accuracy:.0%}。")),
    ]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [_table(len(runs))],
                            FINDINGS + _training_note(numbers), lecture=LECTURE,
                            notes=[PROOF_NOTE])


def _training_note(numbers: dict) -> list:
    """The identity networks' accuracy is where training ended, not the best line: say so
    when the perceptron found a better one."""
    if numbers["best_linear_accuracy"] >= numbers["perceptron"]["best_accuracy"]:
        return []
    return [T("Their {best_linear_accuracy:.0%} is where gradient descent on cross-entropy ended, "
              "not the best a line can do (the perceptron's best line: "
              "{perceptron.best_accuracy:.0%}): on XOR's clusters, symmetric about the centre, "
              "the cross-entropy of one line is lowest near w = 0, which predicts about ½ "
              "everywhere.",
              "它们的 {best_linear_accuracy:.0%} 是交叉熵上的梯度下降停下的地方，而不是一条直线所能做到的最好"
              "（感知机最好的线：{perceptron.best_accuracy:.0%}）：异或四团关于中心对称，单条直线的交叉熵在 "
              "w 接近 0 处最小，这条线处处预测约 ½。")]


def _table(n_runs: int) -> Table:
    return Table(T("证, measured: identity-activation networks on XOR clusters",
                    "证，实测：恒等激活网络在异或数据上"),
                  [T("network", "网络"), T("accuracy", "正确率"),
                   T("max |z − (Wx + b)|, W = W⁽ᴸ⁾⋯W⁽¹⁾", "max |z − (Wx + b)|，W = W⁽ᴸ⁾⋯W⁽¹⁾"),
                   T("max |z|", "max |z|")],
                  [[R(f"linear.{i}.sizes", "arch"), R(f"linear.{i}.accuracy", ".0%"),
                    R(f"linear.{i}.collapse_error", ".1e"), R(f"linear.{i}.scale", ".3g")]
                   for i in range(n_runs)])


FINDINGS = [
        T("Perceptron on XOR: {perceptron.updates} updates in {perceptron.epochs} epochs, "
          "converged = {perceptron.converged}; best line {perceptron.best_accuracy:.0%}.",
          "异或上的感知机：{perceptron.epochs} 轮更新 {perceptron.updates} 次，收敛 = "
          "{perceptron.converged}；最好的线 {perceptron.best_accuracy:.0%}。"),
        T("Every identity network, at every depth and width tried, equals its one-layer product "
          "W⁽ᴸ⁾⋯W⁽¹⁾ with the folded bias to {largest_collapse_error:.1e} (rounding), and none "
          "does better than {best_linear_accuracy:.0%} on XOR.",
          "试过的每个深度与宽度的恒等网络，都与其单层乘积 W⁽ᴸ⁾⋯W⁽¹⁾（加折叠后的偏置）相差不超过 "
          "{largest_collapse_error:.1e}（舍入误差），在异或上都不超过 {best_linear_accuracy:.0%}。"),
        T("One nonlinearity solves it: {nonlinear.sizes:arch} tanh reaches {nonlinear.accuracy:.0%}.",
          "一个非线性就够了：{nonlinear.sizes:arch} tanh 网络达到 {nonlinear.accuracy:.0%}。"),
]
PROOF_NOTE = T("mlplab's note, the proof in one line: with g(z) = z, a⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, so "
               "a⁽ᴸ⁾ = (W⁽ᴸ⁾⋯W⁽¹⁾)x + b with b = W⁽ᴸ⁾(⋯(W⁽²⁾b⁽¹⁾ + b⁽²⁾)⋯) + b⁽ᴸ⁾: one layer, "
               "whose boundary z = 0 is one straight line.",
               "mlplab 的说明，一行证明：g(z) = z 时 a⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾，于是 "
               "a⁽ᴸ⁾ = (W⁽ᴸ⁾⋯W⁽¹⁾)x + b，其中 b = W⁽ᴸ⁾(⋯(W⁽²⁾b⁽¹⁾ + b⁽²⁾)⋯) + b⁽ᴸ⁾：仍是一层，"
               "其边界 z = 0 是一条直线。")
