"""深度剖析2 · Hebb算法: Hebb's rule Δw = η·t·x, which learns from every sample, against the
perceptron's rule, which learns only from mistakes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "hebb"
TITLE = "Hebb's rule"
TITLE_ZH = "Hebb算法"
CLAIM = "Hebb's rule strengthens a connection whenever input and target agree."
LECTURE = T("Hebb's rule (Hebb算法).", "Hebb算法。")

GATES = {"and": (np.array([0, 0, 0, 1])), "or": (np.array([0, 1, 1, 1])), "xor": np.array([0, 1, 1, 0])}
ENCODINGS = {"bipolar": np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], float),
             "binary": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)}


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.perceptron import rule_panels
    from ._rules import hebb_rule, perceptron_rule

    runs = []
    for gate, y in GATES.items():
        for encoding, X in ENCODINGS.items():
            hebb = hebb_rule(X, y, seed=seed)
            w, b = hebb.line_at(hebb.n_updates_)
            perceptron = perceptron_rule(X, y, eta=1.0, max_epochs=100, seed=seed)
            on_line = bool(np.any(X @ w + b == 0))  # sgn(0) would decide: no accuracy to report
            runs.append({"gate": gate, "encoding": encoding, "w": w.tolist(), "b": b,
                         "hebb_accuracy": None if on_line else hebb.accuracy(X, y),
                         "perceptron_smallest_margin": perceptron.smallest_margin(X),
                         "no_line": bool(not np.any(w)),
                         "perceptron_accuracy": perceptron.accuracy(X, y),
                         "perceptron_converged": perceptron.converged_,
                         "perceptron_updates": perceptron.n_updates_})
    numbers = {"eta": 1.0, "runs": runs,
               "hebb_solved": sum(r["hebb_accuracy"] == 1.0 for r in runs),
               "hebb_undecided": sum(r["hebb_accuracy"] is None for r in runs),
               "perceptron_solved": sum(r["perceptron_accuracy"] == 1.0 for r in runs),
               "runs_total": len(runs)}
    names = {"and": T("AND", "与"), "or": T("OR", "或"), "xor": T("XOR", "异或"),
             "bipolar": T("±1 inputs", "±1 输入"), "binary": T("0/1 inputs", "0/1 输入")}
    shown = [0, 1, 4]  # AND ±1 (works), AND 0/1 (fails), XOR ±1 (nothing learned)
    panels = [(f"{names[runs[i]['gate']].text()}, {names[runs[i]['encoding']].text()}: Hebb "
               + R(f"runs.{i}.hebb_accuracy", ".0%").text(numbers),
               ENCODINGS[runs[i]["encoding"]], GATES[runs[i]["gate"]], runs[i]["w"], runs[i]["b"])
              for i in shown]
    figures = [(rule_panels(panels, Path(out) / "hebb.png"),
                T("What one pass of Hebb's rule learns. With ±1 inputs and targets it learns AND "
                  "(w = {runs.0.w:g}, b = {runs.0.b:g}); with 0/1 inputs the samples whose input "
                  "is 0 teach nothing and AND fails (w = {runs.1.w:g}, b = {runs.1.b:g}); on XOR "
                  "the four samples cancel out to w = {runs.4.w:g}: no line at all.",
                  "Hebb 规则走一遍学到的东西。输入与目标取 ±1 时学会了“与”（w = {runs.0.w:g}，b = {runs.0.b:g}）；"
                  "输入取 0/1 时，输入为 0 的样本什么也教不了，“与”学不会（w = {runs.1.w:g}，b = {runs.1.b:g}）；"
                  "在异或上四个样本互相抵消，w = {runs.4.w:g}：根本没有线。"))]
    table = Table(T("Hebb's rule (one pass from w = 0) against the perceptron rule",
                    "Hebb 规则（从 w = 0 走一遍）对比感知机规则"),
                  [T("gate", "逻辑门"), T("inputs", "输入"), T("Hebb: w, b", "Hebb：w、b"),
                   T("Hebb accuracy", "Hebb 正确率"), T("perceptron accuracy", "感知机正确率"),
                   T("perceptron updates", "感知机更新次数")],
                  [[names[r["gate"]], names[r["encoding"]],
                    T(f"{{runs.{i}.w:g}}, {{runs.{i}.b:g}}", f"{{runs.{i}.w:g}}，{{runs.{i}.b:g}}"),
                    R(f"runs.{i}.hebb_accuracy", ".0%"), R(f"runs.{i}.perceptron_accuracy", ".0%"),
                    R(f"runs.{i}.perceptron_updates")] for i, r in enumerate(runs)])
    findings = [
        T("Hebb's rule solves {hebb_solved} of the {runs_total} gate/encoding pairs, the "
          "perceptron rule (from a random line) {perceptron_solved}: the perceptron fails only on "
          "XOR, where no line exists; Hebb's rule also fails with 0/1 inputs. In "
          "{hebb_undecided} runs Hebb's line is w = 0, b = 0 and classifies nothing (shown —).",
          "{runs_total} 组“逻辑门 × 编码”中，Hebb 规则解出 {hebb_solved} 组，感知机规则（从随机直线出发）解出 "
          "{perceptron_solved} 组：感知机只在不存在直线的异或上失败；Hebb 规则在 0/1 输入时也会失败。"
          "有 {hebb_undecided} 组 Hebb 得到 w = 0、b = 0，什么也分不了（记为 —）。"),
    ]
    notes = [T("mlplab's statement of the rule (the textbook form; the lecture's slide is not "
               "quoted here): for each sample, Δw = η·t·x and Δb = η·t with target t = ±1, "
               "whether the sample is right or wrong. The perceptron rule is the same update "
               "made only for the samples sgn(w·x + b) gets wrong, which is why it can keep "
               "correcting where Hebb's sum stalls.",
               "mlplab 对规则的表述（教科书形式，并非引用讲义原文）：对每个样本，无论分对分错，"
               "Δw = η·t·x，Δb = η·t，目标 t = ±1。感知机规则是同样的更新，但只对 sgn(w·x + b) 分错的样本进行，"
               "所以在 Hebb 的累加停滞处它还能继续纠正。")]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table], findings,
                            lecture=LECTURE, notes=notes)
