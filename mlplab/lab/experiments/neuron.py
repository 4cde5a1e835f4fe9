"""02 神经元: the lecture's neuron a = g(Σ w x + b) with sgn, its numbers, and other activations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import T
from . import ExperimentResult

NAME = "neuron"
TITLE = "The neuron"
TITLE_ZH = "02 神经元"
CLAIM = "A neuron weighs its inputs, adds a bias and passes the sum through an activation."
LECTURE = T("a neuron computes a = g(Σ w x + b); the activation g is sgn.",
            "神经元计算 a = g(Σ w x + b)，激活函数 g 取 sgn。")


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...core.activations import get_activation
    from ..plots.neuron import activations_figure, neuron_figure

    rng = np.random.default_rng(seed)
    x = np.array([1.0, 0.0, 1.0, 1.0])
    w = np.round(rng.normal(0, 1, 4), 1)
    b = float(np.round(rng.normal(0, 1), 1))
    z = float(w @ x + b)
    zz = np.linspace(-8, 8, 1601)
    numbers = {"x": x.tolist(), "w": w.tolist(), "b": b, "z": z, "a": float(np.sign(z)),
               "n_inputs": len(x),
               "max_sigmoid_prime": float(get_activation("sigmoid").g_prime(zz).max())}
    out = Path(out)
    figures = [
        (neuron_figure(w, b, x, out / "neuron.png"),
         T("The lecture's neuron with numbers: inputs x₁ … x₄ = {x:g}, weights w = {w:g} "
           "(orange w > 0, blue w < 0), bias b = {b:g} from the +1 unit; Σ gives z = {z:.3g}, "
           "sgn gives a = {a:g}, and that one output goes to every neuron of the next layer.",
           "讲义的神经元，带上数字：输入 x₁ … x₄ = {x:g}，权重 w = {w:g}（橙色 w > 0，蓝色 w < 0），"
           "来自 +1 单元的偏置 b = {b:g}；Σ 得 z = {z:.3g}，sgn 得 a = {a:g}，这一个输出送往下一层的每个神经元。")),
        (activations_figure(out / "activations.png"),
         T("Activation functions g (solid) and their derivatives g' (dashed). sgn is the lecture's; "
           "sigmoid, tanh and ReLU are the smooth (or piecewise linear) choices later sections "
           "train with, because gradient descent multiplies by g'.",
           "激活函数 g（实线）及其导数 g'（虚线）。sgn 是讲义用的；sigmoid、tanh、ReLU 是后面各节训练时用的"
           "光滑（或分段线性）选择，因为梯度下降要乘以 g'。")),
    ]
    findings = [T("z = Σ wⱼxⱼ + b = {z:.3g}, so a = sgn(z) = {a:g}.",
                  "z = Σ wⱼxⱼ + b = {z:.3g}，所以 a = sgn(z) = {a:g}。"),
                T("The sigmoid's derivative never exceeds {max_sigmoid_prime:.4f} (at z = 0).",
                  "sigmoid 的导数最大为 {max_sigmoid_prime:.4f}（在 z = 0 处）。")]
    notes = [T("mlplab's note: sgn is flat on both sides of 0, so its derivative is 0 wherever it "
               "exists and gradient descent cannot train through it; the perceptron's rule (next "
               "section) does not need a derivative. That is why the multilayer perceptron of "
               "part 04 uses the sigmoid.",
               "mlplab 的说明：sgn 在 0 的两侧都是平的，凡是可导处导数都是 0，梯度下降无法穿过它训练；"
               "下一节的感知机学习规则不需要导数。这就是第 04 部分的多层感知机改用 sigmoid 的原因。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [], findings,
                            lecture=LECTURE, notes=notes)
