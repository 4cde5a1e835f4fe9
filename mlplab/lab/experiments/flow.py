"""04 多层感知机 · 流程: the lecture's gradient descent in seven steps, each step's code line
beside the numbers it produced, on the 3-3-2 network and the 8 corners of the cube."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from ..text import R, T
from . import Code, ExperimentResult, Table

NAME = "flow"
TITLE = "The procedure: gradient descent in seven steps"
TITLE_ZH = "流程"
CLAIM = "Init, forward, output δ, backward δ and gradients, update, stop below ε, output."
LECTURE = T("gradient descent with learning rate α ∈ (0, 1] and threshold ε: 1 initialize W, b; "
            "2 forward; 3 the output layer's δ; 4 the δ of each layer backwards, and the "
            "gradients; 5 update W ← W − α∂C/∂W, b ← b − α∂C/∂b; 6 stop when every change is "
            "below ε, else back to 2; 7 output W, b.",
            "梯度下降，学习率 α ∈ (0, 1]，阈值 ε：1 初始化 W、b；2 前向计算；3 计算输出层 δ；"
            "4 反向逐层计算 δ 与梯度；5 更新 W ← W − α∂C/∂W，b ← b − α∂C/∂b；"
            "6 所有变化都小于 ε 时停止，否则回到 2；7 输出 W、b。")

PRODUCED = {  # what each step's row shows, (English, Chinese) with references into numbers
    1: ("W⁽¹⁾ = {initial.W1:.2f}, W⁽²⁾ = {initial.W2:.2f} (random, seed {seed})",
        "W⁽¹⁾ = {initial.W1:.2f}，W⁽²⁾ = {initial.W2:.2f}（随机，种子 {seed}）"),
    2: ("epoch 1, sample x = {x:g}: a⁽²⁾ = {first.a_L:.4f}; mean cost C = {cost_first:.5f}",
        "第 1 轮，样本 x = {x:g}：a⁽²⁾ = {first.a_L:.4f}；平均代价 C = {cost_first:.5f}"),
    3: ("δ⁽²⁾ = {first.delta_L:.5f} for that sample: step 4 starts from it",
        "该样本的 δ⁽²⁾ = {first.delta_L:.5f}：步骤 4 从它出发"),
    4: ("∂C/∂b⁽²⁾ = {first.db2:.5f}, ∂C/∂b⁽¹⁾ = {first.db1:.5f} (mean over the samples)",
        "∂C/∂b⁽²⁾ = {first.db2:.5f}，∂C/∂b⁽¹⁾ = {first.db1:.5f}（对全部样本取平均）"),
    5: ("α∂C/∂b⁽²⁾ = {first.step_b2:.5f} subtracted from b⁽²⁾",
        "从 b⁽²⁾ 中减去 α∂C/∂b⁽²⁾ = {first.step_b2:.5f}"),
    6: ("largest change {first_change:.2e} in epoch 1; {last_change:.4e} < ε = {epsilon:g} "
        "in epoch {epochs}: stop",
        "第 1 轮最大变化 {first_change:.2e}；第 {epochs} 轮为 {last_change:.4e} < ε = {epsilon:g}：停止"),
    7: ("W⁽²⁾ = {final.W2:.2f}, b⁽²⁾ = {final.b2:.2f}; cost {cost_last:.2e}, "
        "{correct} of {samples} samples right",
        "W⁽²⁾ = {final.W2:.2f}，b⁽²⁾ = {final.b2:.2f}；代价 {cost_last:.2e}，"
        "{samples} 个样本中对 {correct} 个"),
}


def _numbers(seed: int) -> dict:
    from ._lecture_net import ALPHA, EPSILON, SAMPLE, SIZES, cube_data, trained

    before, net, record, epochs, last_change = trained(seed)
    X, Y = cube_data()
    first = dict(record.first)
    changes = first.pop("changes")
    # grads are [W1, b1, W2, b2]: the step's changes divided by α give the mean gradients
    first |= {"db1": (np.array(changes[1]) / ALPHA).tolist(),
              "db2": (np.array(changes[3]) / ALPHA).tolist(), "step_b2": changes[3]}
    check = copy.deepcopy(before)  # the same run through mlplab's own fit: must agree
    history = check.fit(X, Y, optimizer="gd", learning_rate=ALPHA, epsilon=EPSILON,
                        max_epochs=epochs + 10, batch_size=len(X), shuffle=False)
    prediction = net.forward(X) > 0.5
    return {
        "sizes": SIZES, "seed": seed, "alpha": ALPHA, "epsilon": EPSILON, "x": X[SAMPLE].tolist(),
        "samples": len(X), "epochs": epochs, "last_change": last_change,
        "first_change": float(max(np.abs(c).max() for c in map(np.array, changes))),
        "initial": {k: v.tolist() for k, v in zip(("W1", "b1", "W2", "b2"), before.params)},
        "final": {k: v.tolist() for k, v in zip(("W1", "b1", "W2", "b2"), net.params)},
        "first": first, "cost": record.cost, "cost_first": record.cost[0],
        "cost_last": record.cost[-1],
        "correct": int(np.all(prediction == (Y > 0.5), axis=1).sum()),
        "fit_check": {"epochs": history.epochs, "stop_reason": history.stop_reason,
                      "max_weight_difference": float(max(np.abs(p - q).max() for p, q in
                                                         zip(net.params, check.params)))},
    }


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.curves import loss_curves
    from ..text import tr
    from ._lecture_net import step_lines

    numbers = _numbers(seed)
    lines = step_lines()
    steps = Table(T("The seven steps as code (mlplab.lab.experiments._lecture_net.seven_steps) "
                    "and what each produced", "七个步骤的代码（mlplab.lab.experiments._lecture_net."
                    "seven_steps）及每步得到的数字"),
                  [T("step", "步骤"), T("code", "代码"), T("what it produced", "得到的数字")],
                  [[R(f"step_numbers.{k - 1}", "d"), Code(lines[k]), T(*PRODUCED[k])]
                   for k in sorted(lines)])
    numbers["step_numbers"] = sorted(lines)
    path = loss_curves({tr("cost C (mean of ½‖a − y‖² over the 8 samples)",
                           "代价 C（8 个样本的 ½‖a − y‖² 的平均）"): numbers["cost"]},
                       Path(out) / "flow_cost.png",
                       title=T("gradient descent on the {sizes:arch} network: α = {alpha:g}, "
                               "ε = {epsilon:g}", "{sizes:arch} 网络上的梯度下降：α = {alpha:g}，"
                               "ε = {epsilon:g}").text(numbers),
                       xlabel=tr("epoch (one pass of steps 2–6)", "轮次（步骤 2–6 走一遍）"),
                       ylabel=tr("cost C", "代价 C"))
    caption = T("The cost after each pass of steps 2–6, log scale: it falls fast, then ever more "
                "slowly as σ' and the errors shrink, until in epoch {epochs} every change is below "
                "ε = {epsilon:g}.",
                "每走一遍步骤 2–6 后的代价（对数坐标）：先降得快，随着 σ' 与误差变小越降越慢，"
                "直到第 {epochs} 轮所有变化都小于 ε = {epsilon:g}。")
    findings = [
        T("Stopped by step 6 after {epochs} epochs: the largest change was {last_change:.4e} < "
          "ε = {epsilon:g}; cost {cost_first:.4f} → {cost_last:.2e}; {correct} of {samples} "
          "samples on the right side of 0.5 for both outputs.",
          "第 {epochs} 轮由步骤 6 停止：最大变化 {last_change:.4e} < ε = {epsilon:g}；代价 "
          "{cost_first:.4f} → {cost_last:.2e}；{samples} 个样本中 {correct} 个的两个输出都在 0.5 的正确一侧。"),
        T("mlplab's own net.fit (optimizer gd, full batch, the same α and ε) from the same start "
          "stops after {fit_check.epochs} epochs with weights within "
          "{fit_check.max_weight_difference:.1e} of the seven steps'.",
          "从同一起点用 mlplab 自己的 net.fit（gd，全批量，相同 α 与 ε）训练，{fit_check.epochs} 轮后停止，"
          "权重与七步代码的结果相差不超过 {fit_check.max_weight_difference:.1e}。"),
    ]
    notes = [T("mlplab's note: the sample shown in steps 2–3 is the one traced in the previous "
               "two sections; steps 4–5 use the mean over all samples, as the cost C does.",
               "mlplab 的说明：步骤 2–3 显示的样本就是前两节追踪的那个；步骤 4–5 用的是全部样本的平均，"
               "与代价 C 一致。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, [(path, caption)], [steps],
                            findings, lecture=LECTURE, notes=notes)
