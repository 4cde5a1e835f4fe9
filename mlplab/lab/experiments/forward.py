"""04 多层感知机 · 前向推导: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = σ(z⁽ˡ⁾) on the 3-3-2 network, one sample's numbers."""

from __future__ import annotations

from pathlib import Path

from ..text import T
from . import ExperimentResult, Table

NAME = "forward"
TITLE = "The forward derivation"
TITLE_ZH = "前向推导"
CLAIM = "Layer by layer, z = W a + b and a = σ(z), from the input to the output."
LECTURE = T("on a 3-3-2 network, layer by layer: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ and a⁽ˡ⁾ = g(z⁽ˡ⁾).",
            "在 3-3-2 网络上逐层推导：z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾，a⁽ˡ⁾ = g(z⁽ˡ⁾)。")


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.diagram import flow_figure
    from ._lecture_net import SIZES, sample_labels, trace_rows, traced, trained

    numbers = traced(seed) | {"sizes": SIZES, "seed": seed}
    t = numbers["trace"]
    before = trained(seed)[0]
    a = [t["a0"]["value"], t["a1"]["value"], t["a2"]["value"]]
    z = [[None] * len(a[0]), t["z1"]["value"], t["z2"]["value"]]
    path = flow_figure(before, sample_labels(a, "a"), sample_labels(z, "z"),
                       Path(out) / "forward.png", directions=(1, 1),
                       titles=(T("forward: a⁽ˡ⁾ of sample x = {x:g}", "前向：样本 x = {x:g} 的 a⁽ˡ⁾")
                               .text(numbers),
                               T("the same pass: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ at each neuron",
                                 "同一次前向：每个神经元的 z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾").text(numbers)))
    caption = T("The {sizes:arch} network (random W, b, before training) computing sample "
                "x = {x:g}: top, each neuron's output a; bottom, its weighted input z. The output "
                "layer gives a⁽²⁾ = {trace.a2.value:.3f} for the target y = {y:g}.",
                "{sizes:arch} 网络（训练前的随机 W、b）计算样本 x = {x:g}：上图是每个神经元的输出 a，"
                "下图是它的加权输入 z。输出层给出 a⁽²⁾ = {trace.a2.value:.3f}，目标 y = {y:g}。")
    given = Table(T("Given: the weights and the sample", "已知：权重与样本"),
                  [T("symbol", "符号"), T("what", "含义"), T("value", "数值")],
                  trace_rows(numbers, ["W1", "b1", "W2", "b2", "a0", "y"]))
    forward = Table(T("The forward derivation, one line per equation", "前向推导，每个公式一行"),
                    [T("symbol", "符号"), T("formula", "公式"), T("value", "数值")],
                    trace_rows(numbers, ["z1", "a1", "z2", "a2"]))
    findings = [T("The untrained network answers a⁽²⁾ = {trace.a2.value:.4f} where y = {y:g}: "
                  "the cost of this sample is C = ½‖a⁽²⁾ − y‖² = {cost:.5f}.",
                  "未训练的网络输出 a⁽²⁾ = {trace.a2.value:.4f}，而目标 y = {y:g}："
                  "这个样本的代价 C = ½‖a⁽²⁾ − y‖² = {cost:.5f}。")]
    notes = [T("mlplab's note: these numbers come from mlplab.trace(net, x, y), which runs the "
               "network's own forward pass; the next section continues the same trace backwards. "
               "Homework 1: derive them yourself and compare entry by entry.",
               "mlplab 的说明：这些数字来自 mlplab.trace(net, x, y)，它运行的就是网络自己的前向计算；"
               "下一节沿同一个 trace 反向继续。作业一：自己推导一遍，逐项对照。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, [(path, caption)],
                            [given, forward], findings, lecture=LECTURE, notes=notes)
