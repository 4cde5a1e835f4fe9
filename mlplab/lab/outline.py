"""The lecture's outline: the report's parts and sections, their stable ids and titles.

The lecture (lesson 6) runs 01 NN概述 · 02 神经元 · 03 单层感知机 · 04 多层感知机 (前向推导,
反向递推, 流程) · 深度剖析1 (梯度消失/爆炸; 泛化/正则化) · 深度剖析2 (Hebb算法, 只能切一刀,
异或, 万能逼近, 决策分界) · 作业. The Chinese titles below are the lecture's terms; the English
ones are mlplab's translation. A section's id is its anchor in the report and, where an
experiment fills it, that experiment's ``NAME`` (``mlplab lab ID``). Ids never change:
links into old reports keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One heading of the report: a part (level 1) or a section inside it (level 2)."""

    id: str
    level: int
    zh: str
    en: str

    def title(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


OUTLINE: tuple[Entry, ...] = (
    Entry("overview", 1, "01 NN概述", "01 Neural networks: an overview"),
    Entry("neuron", 1, "02 神经元", "02 The neuron"),
    Entry("perceptron", 1, "03 单层感知机", "03 The single-layer perceptron"),
    Entry("mlp", 1, "04 多层感知机", "04 The multilayer perceptron"),
    Entry("forward", 2, "前向推导", "The forward derivation"),
    Entry("backprop", 2, "反向递推", "The backward recursion (backpropagation)"),
    Entry("flow", 2, "流程", "The procedure: gradient descent in seven steps"),
    Entry("deep-dive-1", 1, "深度剖析1", "In depth 1"),
    Entry("gradients", 2, "梯度消失/爆炸", "Vanishing and exploding gradients"),
    Entry("overfitting", 2, "泛化/正则化", "Generalization and regularization"),
    Entry("deep-dive-2", 1, "深度剖析2", "In depth 2"),
    Entry("hebb", 2, "Hebb算法", "Hebb's rule"),
    Entry("one-cut", 2, "只能切一刀", "One layer cuts only once"),
    Entry("xor", 2, "异或", "XOR"),
    Entry("universal", 2, "万能逼近", "Universal approximation"),
    Entry("boundaries", 2, "决策分界", "Decision boundaries"),
    Entry("homework", 1, "作业", "Homework"),
    Entry("homework-1", 2, "作业1：手推前向与反向", "Homework 1: derive forward and backward by hand"),
    Entry("homework-2", 2, "作业2：面试题", "Homework 2: interview questions"),
    Entry("homework-3", 2, "作业3：CNN 与 RNN", "Homework 3: on to CNN and RNN"),
)
BY_ID = {e.id: e for e in OUTLINE}
HOMEWORK = ("homework-1", "homework-2", "homework-3")
# The labs that other issues add for homework 3; the bridge links each one that is installed.
BRIDGE = {"cnn": ("卷积神经网络（CNN）", "Convolutional networks (CNN)"),
          "rnn": ("循环神经网络（RNN）", "Recurrent networks (RNN)")}


def experiment_ids() -> list[str]:
    """The outline's sections that an experiment fills (all level-2 entries and the parts
    without sections), in lecture order."""
    ids = []
    for i, e in enumerate(OUTLINE):
        has_children = i + 1 < len(OUTLINE) and OUTLINE[i + 1].level > e.level
        if not has_children and e.id not in HOMEWORK:
            ids.append(e.id)
    return ids


def order(name: str) -> int:
    """Place of an experiment in the tour: its outline position; others after the lecture."""
    ids = experiment_ids()
    return ids.index(name) if name in ids else len(OUTLINE) + 1
