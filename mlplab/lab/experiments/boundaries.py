"""深度剖析2 · 决策分界: a hidden layer bends the plane (两层神经网络决策分界) until the output layer's
boundary is a straight line in hidden space (输出层决策分界); and what one, two and many layers
of sgn, sigmoid and ReLU neurons can draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import T
from . import ExperimentResult, Table

NAME = "boundaries"
TITLE = "Decision boundaries"
TITLE_ZH = "决策分界"
CLAIM = "A hidden layer warps the plane until a straight line separates the classes."
LECTURE = T("two figures: the decision boundary of a two-layer network (两层神经网络决策分界) and "
            "the output layer's decision boundary (输出层决策分界), where the hidden layer has "
            "bent the plane so that the classes are separated by a line.",
            "两幅图：两层神经网络决策分界，与输出层决策分界——隐藏层把平面弯折，使两类可以用一条直线分开。")

L2_PENALTY = 1e-2  # keeps the tanh units out of saturation: the warped grid stays open
DEPTHS = {"one": [], "two": [8], "many": [8, 8, 8]}
ACTIVATIONS = ("sgn", "sigmoid", "relu")
CIRCLES_HIDDEN = 4


def _fit(X, y, hidden: list[int], activation: str, seed: int, epochs: int, l2: float = 0.0):
    from ...core.network import Network
    from ...train.regularizers import L2

    net = Network([2, *hidden, 1], activation=activation, loss="cross_entropy",
                  init="he_normal" if activation == "relu" else "xavier_normal", seed=seed)
    net.fit(X, y, optimizer="adam", learning_rate=0.05 if hidden else 0.1, epsilon=None,
            max_epochs=epochs, callbacks=[L2(l2)] if l2 else [])
    return net


def _sgn_accuracy(net, X, y) -> float:
    """The sigmoid network's weights with every hidden sigmoid replaced by sgn (as a 0/1 step):
    the network of hard cuts that the trained one approximates."""
    A = np.asarray(X, float)
    for layer in net.layers[1:-1]:
        A = (A @ layer.W.T + layer.b > 0).astype(float)
    out = net.layers[-1]
    return float(np.mean(((A @ out.W.T + out.b)[:, 0] > 0) == (np.asarray(y) == 1)))


def comparison(seed: int, epochs: int) -> dict:
    """Accuracy of one / two / many layers × sgn / sigmoid / ReLU on XOR clusters and circles."""
    from ...datasets import circles, xor_clusters
    from ._rules import perceptron_rule

    data = {"xor": xor_clusters(200, noise=0.25, seed=seed), "circles": circles(200, noise=0.05,
                                                                                seed=seed)}
    table = {}
    for depth, hidden in DEPTHS.items():
        for activation in ACTIVATIONS:
            cell = {}
            for name, (X, y) in data.items():
                if activation == "sgn" and not hidden:
                    dance = perceptron_rule(X, y, eta=0.1, max_epochs=epochs // 4, seed=seed)
                    cell[name] = max(dance.accuracies(X, y))  # the best line it ever held
                elif activation == "sgn":
                    cell[name] = _sgn_accuracy(_fit(X, y, hidden, "sigmoid", seed, epochs), X, y)
                else:
                    cell[name] = _fit(X, y, hidden, activation, seed, epochs).score(X, y)
            table[f"{depth}_{activation}"] = cell
    return table


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...datasets import circles, two_curves
    from ..plots.boundary import decision_boundary_figure
    from ..plots.warp import warp_figure
    from ..text import tr

    out = Path(out)
    epochs = 800 if quick else 1500
    X, y = two_curves(200, noise=0.0, seed=seed)   # the lecture's two clean curves
    net = _fit(X, y, [2], "tanh", seed, epochs, L2_PENALTY)
    linear = _fit(X, y, [], "sigmoid", seed, epochs)
    Xc, yc = circles(200, noise=0.05, seed=seed)
    wide = _fit(Xc, yc, [CIRCLES_HIDDEN], "tanh", seed, epochs, L2_PENALTY)
    warp = warp_figure(net, X, y, out / "boundaries_warp.png",
                       title=tr("two curves, 2-2-1 tanh network: curved here, straight there",
                                "两条曲线，2-2-1 tanh 网络：这里弯，那里直"))
    wide_warp = warp_figure(wide, Xc, yc, out / "boundaries_warp_circles.png",
                            title=tr("circles, 2-4-1 tanh network (4-D hidden space, projected)",
                                     "圆环，2-4-1 tanh 网络（4 维隐藏空间的投影）"))
    numbers = {
        "epochs": epochs, "l2": L2_PENALTY, "samples": len(X),
        "two_curves": {"hidden2": net.score(X, y), "linear": linear.score(X, y),
                       "output_line": {"w": warp.w.tolist(), "c": warp.c},
                       "hidden_accuracy": float(np.mean((warp.H @ warp.w + warp.c > 0) == y)),
                       "largest_weight": float(np.abs(net.layers[1].W).max())},
        "circles": {"accuracy": wide.score(Xc, yc), "projection_explained": wide_warp.explained},
        "comparison": comparison(seed, 300 if quick else 600),
        "depths": DEPTHS, "many_layers": len(DEPTHS["many"]), "circles_hidden": CIRCLES_HIDDEN,
    }
    figures = [
        (warp.path, T(
            "The lecture's pair. Left (两层神经网络决策分界): the input plane with its grid, the two "
            "curves and the network's curved boundary. Right (输出层决策分界): the same grid carried "
            "through the two hidden tanh neurons, a rubber sheet bent so that the output neuron's "
            "straight line separates {two_curves.hidden_accuracy:.0%} of the points.",
            "讲义的两幅图。左（两层神经网络决策分界）：输入平面及其网格、两条曲线与网络弯曲的决策边界。"
            "右（输出层决策分界）：同一网格经过两个隐藏 tanh 神经元后的样子，像一张被弯折的橡皮膜，"
            "输出神经元的一条直线分开了 {two_curves.hidden_accuracy:.0%} 的点。")),
        (decision_boundary_figure(linear, X, y, path=out / "boundaries_linear.png",
                                  title=T("no hidden layer: {two_curves.linear:.0%}",
                                          "没有隐藏层：{two_curves.linear:.0%}").text(numbers)),
         T("Without a hidden layer the boundary can only be a straight line: "
           "{two_curves.linear:.0%} of the two curves.",
           "没有隐藏层时边界只能是直线：两条曲线只分对 {two_curves.linear:.0%}。")),
        (wide_warp.path, T(
            "A disc inside a ring needs at least three hidden neurons; with {circles_hidden}, the "
            "hidden space has {circles_hidden} dimensions and is shown projected along the output layer's normal w (horizontal: there the "
            "boundary is exactly the vertical line) and the main principal component of the rest, "
            "which keeps {circles.projection_explained:.0%} of its variance.",
            "圆盘套在圆环里至少要三个隐藏神经元；用 {circles_hidden} 个时隐藏空间是 {circles_hidden} 维，图中沿输出层法向量 w（横轴：边界恰为竖直线）"
            "与其余部分的第一主成分投影，保留了 {circles.projection_explained:.0%} 的方差。")),
    ]
    notes = [TABLE_NOTE]
    c = numbers["comparison"]
    if c["one_sigmoid"]["xor"] < c["one_sgn"]["xor"]:
        notes.append(ONE_LAYER_NOTE)
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [_table()], FINDINGS,
                            lecture=LECTURE, notes=notes)


def _table() -> Table:
    names = {"one": T("one layer (no hidden)", "单层（无隐藏层）"),
             "two": T("two layers ({depths.two.0} hidden)", "两层（{depths.two.0} 个隐藏神经元）"),
             "many": T("many layers ({many_layers} × {depths.many.0} hidden)",
                       "多层（{many_layers} × {depths.many.0} 个隐藏神经元）")}
    return Table(T("What each network draws: training accuracy on XOR clusters / circles",
                    "各网络能画出什么：异或四团 / 圆环上的训练正确率"),
                  [T("layers", "层数")] + [T(a, a) for a in ("sgn", "sigmoid", "ReLU")],
                  [[names[d]] + [T(f"{{comparison.{d}_{a}.xor:.0%}} / {{comparison.{d}_{a}.circles:.0%}}",
                                   f"{{comparison.{d}_{a}.xor:.0%}} / {{comparison.{d}_{a}.circles:.0%}}")
                                 for a in ACTIVATIONS] for d in DEPTHS])


FINDINGS = [
        T("Two curves: no hidden layer {two_curves.linear:.0%}, two tanh hidden neurons "
          "{two_curves.hidden2:.0%} (largest hidden weight {two_curves.largest_weight:.2f}, so the "
          "grid stays open).", "两条曲线：无隐藏层 {two_curves.linear:.0%}，两个 tanh 隐藏神经元 "
          "{two_curves.hidden2:.0%}（最大隐藏权重 {two_curves.largest_weight:.2f}，网格因而保持张开）。"),
        T("In the hidden plane the output boundary is the straight line "
          "{two_curves.output_line.w:.2f}·h {two_curves.output_line.c:+.2f} = 0.",
          "在隐藏平面里，输出边界是直线 {two_curves.output_line.w:.2f}·h {two_curves.output_line.c:+.2f} = 0。"),
        T("One layer is one straight cut: its best on XOR is {comparison.one_sgn.xor:.0%} (the "
          "perceptron's best line; sigmoid {comparison.one_sigmoid.xor:.0%}) and on circles "
          "{comparison.one_sgn.circles:.0%}; with a hidden layer sigmoid reaches "
          "{comparison.two_sigmoid.xor:.0%} / {comparison.two_sigmoid.circles:.0%}.",
          "单层网络就是一刀：在异或上最好 {comparison.one_sgn.xor:.0%}（感知机走过的最好的线；sigmoid 为 "
          "{comparison.one_sigmoid.xor:.0%}），在圆环上 {comparison.one_sgn.circles:.0%}；有一个隐藏层的 "
          "sigmoid 网络达到 {comparison.two_sigmoid.xor:.0%} / {comparison.two_sigmoid.circles:.0%}。"),
]
TABLE_NOTE = T("mlplab's note on the table: networks with sgn hidden neurons cannot be trained by "
               "gradient descent (sgn' = 0), so the sgn column uses, for one layer, the best line "
               "the perceptron rule visited and, for more layers, the trained sigmoid network with "
               "each hidden sigmoid replaced by sgn: the network of hard cuts it approximates. All "
               "numbers are training accuracy (what the network can draw, not how it generalizes).",
               "mlplab 关于表格的说明：sgn 隐藏神经元无法用梯度下降训练（sgn' = 0），所以 sgn 一列对单层取感知机"
               "规则走过的最好的线，对多层取训练好的 sigmoid 网络并把每个隐藏 sigmoid 换成 sgn：即它所逼近的"
               "“硬切”网络。表中都是训练正确率（网络能画出什么，而非泛化能力）。")
ONE_LAYER_NOTE = T(
    "mlplab's note on the one-layer row: its sigmoid and ReLU cells ({comparison.one_sigmoid.xor:.0%} "
    "/ {comparison.one_sigmoid.circles:.0%}) are where gradient descent on cross-entropy ended, not "
    "the best a line can do (the sgn column's {comparison.one_sgn.xor:.0%} / "
    "{comparison.one_sgn.circles:.0%}). XOR and circles are symmetric about their centre, so the "
    "cross-entropy of one line is lowest near w = 0: a line that predicts about ½ everywhere, "
    "with about half the points on either side.",
    "mlplab 关于单层一行的说明：其中 sigmoid 与 ReLU 两格（{comparison.one_sigmoid.xor:.0%} / "
    "{comparison.one_sigmoid.circles:.0%}）是交叉熵上的梯度下降停下的地方，而不是一条直线所能做到的最好"
    "（sgn 一列为 {comparison.one_sgn.xor:.0%} / {comparison.one_sgn.circles:.0%}）。异或与圆环都关于"
    "中心对称，所以单条直线的交叉熵在 w 接近 0 处最小：这条线处处预测约 ½，两侧各约一半的点。")
