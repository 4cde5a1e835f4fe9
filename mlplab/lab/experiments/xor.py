"""深度剖析2 · 异或: a hidden layer of two sigmoid neurons learns XOR by the lecture's gradient
descent (when the run does not stall), and on four clusters its two cuts make XOR separable."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "xor"
TITLE = "XOR"
TITLE_ZH = "异或"
CLAIM = "Two layers can do XOR: each hidden neuron makes one cut, the output combines them."
LECTURE = T("XOR (异或) is the example one layer cannot learn; a network with a hidden layer can.",
            "异或是单层网络学不会的例子；带隐藏层的网络可以。")

LECTURE_GD = dict(optimizer="gd", learning_rate=1.0, epsilon=1e-4)  # α = 1, ε = 1e-4
MAX_EPOCHS = 50_000
L2_CLUSTERS = 2e-2  # keeps the tanh units out of saturation: the warped grid stays visible


def _truth_table_runs(X, Y, seeds) -> list[dict]:
    from ...core.network import Network

    runs = []
    for s in seeds:
        net = Network([2, 2, 1], activation="sigmoid", loss="mse", init="normal", seed=s)
        history = net.fit(X, Y, max_epochs=MAX_EPOCHS, **LECTURE_GD)
        a = net.forward(X)[:, 0]
        solved = bool(np.all((a > 0.5) == (Y[:, 0] > 0.5)))
        outcome = ("solved" if solved else
                   "plateau" if history.converged else "max_epochs")
        runs.append({"seed": s, "accuracy": net.score(X, Y), "epochs": history.epochs,
                     "final_loss": history.loss[-1], "outputs": a.tolist(), "outcome": outcome,
                     "stuck_at_half": int(np.sum(np.abs(a - 0.5) < 0.05)),
                     "loss": history.loss, "net": net})
    return runs


def _clusters_net(seed: int, epochs: int):
    """2-2-1 tanh on the four clusters: the first of five seeds that reaches 99 %."""
    from ...core.network import Network
    from ...datasets import xor_clusters
    from ...train.regularizers import L2

    X, y = xor_clusters(200, noise=0.25, seed=seed)
    for s in range(seed, seed + 5):
        net = Network([2, 2, 1], activation="tanh", loss="cross_entropy", init="xavier_normal",
                      seed=s)
        net.fit(X, y, optimizer="adam", learning_rate=0.05, epsilon=None, max_epochs=epochs,
                callbacks=[L2(L2_CLUSTERS)])
        if net.score(X, y) >= 0.99:
            break
    return net, s, X, y


def _band_class(net, X, y) -> int:
    """The class of most points between the two hidden cuts (both normals turned one way:
    between the cuts, the two z have opposite signs)."""
    W, b = net.layers[1].W, net.layers[1].b
    z = X @ W.T + b
    if W[0] @ W[1] < 0:  # the second cut's normal points the other way: turn it
        z[:, 1] = -z[:, 1]
    band = np.sign(z[:, 0]) != np.sign(z[:, 1])
    return int(np.round(np.mean(y[band]))) if band.any() else int(np.round(np.mean(y)))


OUTCOME = {"solved": T("solved", "学会"),
           "plateau": T("stopped by ε on a plateau: not a solution", "在平台上因 ε 停止：不是解"),
           "max_epochs": T("ran out of epochs", "达到最大轮数")}


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...datasets import xor
    from ..plots.curves import loss_curves
    from ..plots.diagram import network_diagram
    from ..plots.warp import warp_figure
    from ..text import tr

    out = Path(out)
    X, Y = xor()
    runs = _truth_table_runs(X, Y, range(seed, seed + (3 if quick else 5)))
    solved = [r for r in runs if r["outcome"] == "solved"]
    stalled = [r for r in runs if r["outcome"] != "solved"]
    net_c, seed_c, Xc, yc = _clusters_net(seed, 400 if quick else 800)
    warp = warp_figure(net_c, Xc, yc, out / "xor_warp.png",
                       title=tr("2-2-1 tanh network on four XOR clusters",
                                "四团异或数据上的 2-2-1 tanh 网络"))
    W = net_c.layers[1].W
    angles = np.degrees(np.arctan2(-W[:, 0], W[:, 1])) % 180  # direction of each cut
    numbers = {
        "alpha": LECTURE_GD["learning_rate"], "epsilon": LECTURE_GD["epsilon"],
        "runs": [{k: v for k, v in r.items() if k not in ("net", "loss")} for r in runs],
        "seeds_tried": len(runs), "seeds_solved": len(solved),
        "clusters": {"seed": seed_c, "samples": len(Xc), "accuracy": net_c.score(Xc, yc),
                     "l2": L2_CLUSTERS, "cut_angles": angles.tolist(),
                     "angle_between_cuts": float(min(abs(angles[0] - angles[1]),
                                                     180 - abs(angles[0] - angles[1]))),
                     "output_line": {"w": warp.w.tolist(), "c": warp.c},
                     "hidden_accuracy": float(np.mean((warp.H @ warp.w + warp.c > 0) == yc)),
                     "band_class": _band_class(net_c, Xc, yc)},
    }
    figures = [(warp.path, T(
        "Left: the four clusters and the two hidden neurons' cuts (dashed), at "
        "{clusters.cut_angles:.0f}°: {clusters.angle_between_cuts:.0f}° apart, nearly "
        "parallel, so class {clusters.band_class} is the band between them. Right: the same grid "
        "seen by the hidden layer (h₁, h₂), where one straight line, the output neuron's, "
        "separates {clusters.hidden_accuracy:.1%} of the points. Because the two cuts are nearly parallel, "
        "both hidden neurons respond to nearly one direction of the plane, so the whole grid "
        "folds onto the one thin curve seen here: the geometry of this solution, not of the "
        "drawing (the open rubber sheet is in 决策分界).",
        "左：四团数据与两个隐藏神经元的两刀（虚线），方向为 {clusters.cut_angles:.0f}°：相差 "
        "{clusters.angle_between_cuts:.0f}°，几乎平行，类别 {clusters.band_class} 就是两刀之间的带状区域。"
        "右：隐藏层（h₁, h₂）看到的同一网格，输出神经元的一条直线在这里分开了 "
        "{clusters.hidden_accuracy:.1%} 的点。由于两刀几乎平行，"
        "两个隐藏神经元几乎只响应平面上的同一个方向，整张网格被折叠到图中这一条细曲线上：这是该解的几何性质，"
        "不是画法问题（展开的“橡皮膜”见“决策分界”）。"))]
    if solved:
        best = solved[0]
        numbers["solved"] = {"seed": best["seed"], "epochs": best["epochs"],
                             "W1": best["net"].layers[1].W.tolist(),
                             "W2": best["net"].layers[2].W.tolist()}
        figures.append((network_diagram(best["net"], out / "xor_network.png",
                                        title=tr("the trained 2-2-1 network", "训练好的 2-2-1 网络")),
                        T("The weights the lecture's gradient descent found for the truth table "
                          "(seed {solved.seed}, {solved.epochs} epochs): line width ∝ |w|.",
                          "讲义的梯度下降在真值表上找到的权重（种子 {solved.seed}，{solved.epochs} 轮）：线宽 ∝ |w|。")))
    curves = {tr(f"seed {r['seed']}: ", f"种子 {r['seed']}：") + OUTCOME[r["outcome"]].text(): r["loss"]
              for r in runs}
    figures.append((loss_curves(curves, out / "xor_loss.png",
                                title=tr("XOR truth table: cost per epoch (gd, α = 1)",
                                         "异或真值表：每轮代价（gd，α = 1）"),
                                ylabel=tr("cost C", "代价 C"), xlabel=tr("epoch", "轮次")),
                    T("Cost per epoch of each seed. A solving run has a long plateau, then drops; "
                      "a stalled run flattens where every change falls below ε = {epsilon:g}.",
                      "每个种子的每轮代价。学会的运行先有一段长平台再骤降；停滞的运行在所有变化都小于 ε = "
                      "{epsilon:g} 的地方变平。")))
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [_table(runs)],
                            _findings(runs, stalled), lecture=LECTURE, notes=[CUTS_NOTE])


def _table(runs) -> Table:
    return Table(T("The 2-2-1 sigmoid network on the XOR truth table, gd with α = {alpha:g}, "
                    "ε = {epsilon:g}", "异或真值表上的 2-2-1 sigmoid 网络，gd，α = {alpha:g}，ε = {epsilon:g}"),
                  [T("seed", "种子"), T("epochs", "轮数"), T("outputs a for (0,0) (0,1) (1,0) (1,1)",
                                                          "四个输入 (0,0) (0,1) (1,0) (1,1) 的输出 a"),
                   T("accuracy", "正确率"), T("what happened", "结果")],
                  [[R(f"runs.{i}.seed"), R(f"runs.{i}.epochs"), R(f"runs.{i}.outputs", ".3f"),
                    R(f"runs.{i}.accuracy", ".0%"), OUTCOME[r["outcome"]]]
                   for i, r in enumerate(runs)])


def _findings(runs, stalled) -> list:
    findings = [T("{seeds_solved} of {seeds_tried} seeds solve the truth table with the lecture's "
                  "gradient descent.", "{seeds_tried} 个种子中有 {seeds_solved} 个用讲义的梯度下降学会了真值表。")]
    for r in stalled:
        i = runs.index(r)
        findings.append(T(
            f"Seed {{runs.{i}.seed}} stopped after {{runs.{i}.epochs}} epochs because every change "
            f"fell below ε, with outputs {{runs.{i}.outputs:.3f}}: {{runs.{i}.stuck_at_half}} of them "
            "sit near 0.5. The hidden layer gives inputs of opposite classes nearly the same "
            "representation, so their errors pull the weights in opposite directions and cancel: "
            "the cost is flat there (a plateau or saddle), not small because σ' is small (σ' is "
            f"largest at 0.5). That is a plateau, not a solution (accuracy "
            f"{{runs.{i}.accuracy:.0%}}).",
            f"种子 {{runs.{i}.seed}} 训练 {{runs.{i}.epochs}} 轮后因所有变化都小于 ε 而停止，输出为 "
            f"{{runs.{i}.outputs:.3f}}：其中 {{runs.{i}.stuck_at_half}} 个停在 0.5 附近。隐藏层把相反类别的输入"
            "映射到几乎相同的表示，它们的误差把权重往相反方向拉而互相抵消：代价在那里是平的（平台或鞍点），"
            "并不是因为 σ' 小（σ' 在 0.5 处最大）。"
            f"这是平台，不是解（正确率 {{runs.{i}.accuracy:.0%}}）。"))
    findings.append(T("On the clusters the trained network reaches {clusters.accuracy:.1%}; in its "
                      "hidden space the output boundary w·h + c = 0 is a straight line.",
                      "在四团数据上训练后的网络达到 {clusters.accuracy:.1%}；在它的隐藏空间里，输出边界 "
                      "w·h + c = 0 是一条直线。"))
    return findings


CUTS_NOTE = T("mlplab's note on the cuts: a horizontal and a vertical cut alone cannot give XOR "
               "with one hidden layer, because an output that adds a function of x₁'s side to a "
               "function of x₂'s side gives f(0,0) + f(1,1) = f(0,1) + f(1,0), so it cannot put "
               "both diagonals on different sides. Trained networks find two parallel cuts "
               "instead; the horizontal-and-vertical picture needs a second hidden layer (AND of "
               "the cuts, then OR).",
               "mlplab 关于“两刀”的说明：只有一层隐藏层时，单靠一横一竖两刀得不到异或：输出若是“x₁ 在哪一侧”"
               "的函数加上“x₂ 在哪一侧”的函数，必有 f(0,0) + f(1,1) = f(0,1) + f(1,0)，无法把两条对角线分到两边。"
               "训练出的网络改用两条平行的刀；一横一竖的画法需要第二个隐藏层（先对两刀取“与”，再取“或”）。")
