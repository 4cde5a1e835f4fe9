"""04 多层感知机 · 反向递推: δ⁽ᴸ⁾, the δ recursion and the gradients of one sample, with the
gradient check beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "backprop"
TITLE = "The backward recursion (backpropagation)"
TITLE_ZH = "反向递推"
CLAIM = "δ⁽ᴸ⁾ = (a − y) ⊙ σ'(z), δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾), ∂C/∂W = δaᵀ, ∂C/∂b = δ."
LECTURE = T("by the chain rule: the output error δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾); the recursion "
            "δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾); the gradients ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ and ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾.",
            "由链式法则：输出层误差 δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾)；递推 "
            "δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾)；梯度 ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ，∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾。")


def _by_hand(numbers: dict) -> dict:
    """The lecture's four equations evaluated with NumPy on the trace's own z and a: how far
    each is from what backpropagation produced (a second, independent derivation)."""
    t = {k: np.array(v["value"]) for k, v in numbers["trace"].items()}
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ds = lambda z: s(z) * (1 - s(z))  # noqa: E731
    delta2 = (t["a2"] - t["y"]) * ds(t["z2"])
    delta1 = t["W2"].T @ delta2 * ds(t["z1"])
    hand = {"delta2": delta2, "dW2": np.outer(delta2, t["a1"]), "db2": delta2,
            "delta1": delta1, "dW1": np.outer(delta1, t["a0"]), "db1": delta1}
    return {k: float(np.abs(v - t[k]).max()) for k, v in hand.items()}


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.diagram import flow_figure
    from ._lecture_net import SIZES, sample_labels, trace_rows, traced, trained

    numbers = traced(seed) | {"sizes": SIZES, "seed": seed}
    numbers["by_hand_difference"] = _by_hand(numbers)
    numbers["by_hand_largest"] = max(numbers["by_hand_difference"].values())
    t = numbers["trace"]
    before = trained(seed)[0]
    deltas = [[None] * SIZES[0], t["delta1"]["value"], t["delta2"]["value"]]
    a = [t["a0"]["value"], t["a1"]["value"], t["a2"]["value"]]
    path = flow_figure(before, sample_labels(a, "a", ".3f"), sample_labels(deltas, "δ", ".4f"),
                       Path(out) / "backprop.png",
                       titles=(T("forward: a⁽ˡ⁾ (input to output)", "前向：a⁽ˡ⁾（输入到输出）").text(),
                               T("backward: δ⁽ˡ⁾ (output to input)", "反向：δ⁽ˡ⁾（输出到输入）").text()))
    caption = T("The same sample x = {x:g}, y = {y:g}: the forward pass leaves a at every neuron "
                "(top); the backward pass starts from δ⁽²⁾ at the output and sends it back through "
                "(W⁽²⁾)ᵀ to give δ⁽¹⁾ (bottom). Each δ is ∂C/∂z of its neuron.",
                "同一个样本 x = {x:g}，y = {y:g}：前向计算在每个神经元留下 a（上图）；反向计算从输出层的 δ⁽²⁾ "
                "开始，经 (W⁽²⁾)ᵀ 传回得到 δ⁽¹⁾（下图）。每个 δ 就是该神经元的 ∂C/∂z。")
    backward = Table(T("The backward recursion, output layer first", "反向递推，从输出层开始"),
                     [T("symbol", "符号"), T("formula", "公式"), T("value", "数值")],
                     trace_rows(numbers, ["delta2", "dW2", "db2", "delta1", "dW1", "db1"], ".5f"))
    check = Table(T("Gradient check beside it: backpropagation against finite differences",
                    "旁边的梯度检验：反向传播对比有限差分"),
                  [T("layer", "层"), T("relative error ‖g_bp − g_fd‖ / (‖g_bp‖ + ‖g_fd‖)",
                                      "相对误差 ‖g_bp − g_fd‖ / (‖g_bp‖ + ‖g_fd‖)"),
                   T("tolerance", "容差")],
                  [[f"W⁽{'¹²'[int(l) - 1]}⁾, b⁽{'¹²'[int(l) - 1]}⁾", R(f"gradcheck.errors.{l}", ".1e"),
                    R("gradcheck.tolerance", "g")] for l in numbers["gradcheck"]["errors"]])
    update = Table(T("One gradient-descent step on this sample alone (α = {alpha:g})",
                     "只用这一个样本走一步梯度下降（α = {alpha:g}）"),
                   [T("symbol", "符号"), T("formula", "公式"), T("value", "数值")],
                   trace_rows(numbers, ["W1_new", "b1_new", "W2_new", "b2_new"]))
    findings = [
        T("Gradient check: the largest relative error is {gradcheck.errors.1:.1e} (layer 1) and "
          "{gradcheck.errors.2:.1e} (layer 2), below the tolerance {gradcheck.tolerance:g}: "
          "passed = {gradcheck.passed}.",
          "梯度检验：最大相对误差为 {gradcheck.errors.1:.1e}（第 1 层）和 {gradcheck.errors.2:.1e}"
          "（第 2 层），低于容差 {gradcheck.tolerance:g}：通过 = {gradcheck.passed}。"),
        T("The four equations typed in by hand (NumPy, from the trace's z and a) agree with "
          "backpropagation to {by_hand_largest:.1e}.",
          "照讲义的四个公式用 NumPy 手算（取 trace 里的 z 和 a），与反向传播的结果相差不超过 {by_hand_largest:.1e}。"),
    ]
    if numbers["by_hand_largest"] == 0:
        findings[-1] = T("The four equations typed in by hand (NumPy, from the trace's z and a) "
                         "agree with backpropagation exactly (largest difference 0).",
                         "照讲义的四个公式用 NumPy 手算（取 trace 里的 z 和 a），与反向传播的结果完全一致（最大差为 0）。")
    notes = [T("mlplab's note: the update shown uses this one sample; training (next section) "
               "averages ∂C/∂W over all samples before each step. Homework 1: fill in the δ and "
               "gradient rows yourself before reading them.",
               "mlplab 的说明：这里的更新只用了这一个样本；训练（下一节）每步前先对全部样本的 ∂C/∂W 取平均。"
               "作业一：先自己填出 δ 与梯度各行，再来对照。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, [(path, caption)],
                            [backward, check, update], findings, lecture=LECTURE, notes=notes)
