"""The lecture's homework (作业) as the report's last part: each task, and where mlplab answers it.

1. derive forward and backward by hand → the 前向推导 and 反向递推 sections hold one sample's
   every number, and notebook 02 lets the student check their own;
2. the interview questions "how do you solve vanishing gradients?" and "how do you prevent
   overfitting?" → the measured tables of 梯度消失/爆炸 and 泛化/正则化, marked as mlplab's answer;
3. "依据本节基础，可开始自行学习CNN，RNN" → a bridge to the CNN and RNN labs. Those are other
   experiment modules (``mlplab lab cnn``, ``mlplab lab rnn``): the bridge discovers them with
   :func:`mlplab.lab.experiments.discover` and links each one that is installed.
"""

from __future__ import annotations

import html

from .outline import BRIDGE, BY_ID
from .text import colon

e = html.escape


def _link(target: str, lang: str) -> str:
    entry = BY_ID[target]
    return f'<a href="#{target}">{e(entry.title(lang))}</a>'


def _nb(name: str) -> str:
    return f"<code>notebooks/{e(name)}</code>"


def _homework_1(ran, lang: str) -> str:
    if lang == "zh":
        return (f"<p>讲义作业一：自己手推前向与反向传播。{_link('forward', lang)} 与 "
                f"{_link('backprop', lang)} 两节给出 <span class='math'>3-3-2</span> 网络上一个样本的每个 z、a、δ、梯度和更新后的参数，"
                "可以逐项核对自己的推导；笔记本 "
                f"{_nb('02_forward_backward.ipynb')} 用另一个网络（Mazur 的经典例子）让你先手算、再用 "
                "<code>mlplab.trace</code> 对答案。</p>")
    return (f"<p>The lecture's homework 1: derive the forward and backward passes by hand. "
            f"{_link('forward', lang)} and {_link('backprop', lang)} show every z, a, δ, gradient and "
            "updated parameter of one sample through the <span class='math'>3-3-2</span> network, to check a derivation entry "
            f"by entry; notebook {_nb('02_forward_backward.ipynb')} gives another network (Mazur's "
            "well-known worked example) to work by hand first, then checks it with "
            "<code>mlplab.trace</code>.</p>")


def _homework_2(ran, lang: str) -> str:
    vanish = '<a href="#gradients-answer">'
    overfit = '<a href="#overfitting-answer">'
    if lang == "zh":
        return ("<p>讲义作业二是两道面试题：如何解决梯度消失（与梯度爆炸）？如何防止过拟合？"
                "讲义只提出问题；mlplab 的答案是实测的表格：每种方法单独试一次，与同一基线比较。</p><ul>"
                f"<li>{vanish}梯度消失/爆炸：mlplab 的答案</a>（ReLU、初始化、批归一化、残差连接、梯度裁剪）</li>"
                f"<li>{overfit}过拟合：mlplab 的答案</a>（L2、L1、dropout、早停、加噪声、max-norm、更多数据）</li>"
                "</ul>")
    return ("<p>The lecture's homework 2 is two interview questions: how do you solve vanishing "
            "(and exploding) gradients, and how do you prevent overfitting? The lecture asks; "
            "mlplab's answer is a measured table, each remedy tried alone against the same baseline.</p><ul>"
            f"<li>{vanish}Vanishing/exploding gradients: mlplab's answer</a> (ReLU, initialization, "
            "batch normalization, residual connections, gradient clipping)</li>"
            f"<li>{overfit}Overfitting: mlplab's answer</a> (L2, L1, dropout, early stopping, input "
            "noise, max-norm, more data)</li></ul>")


def _bridge_item(name: str, ran, lang: str) -> str:
    zh, en = BRIDGE[name]
    title = zh if lang == "zh" else en
    if name in ran:
        return f'<li><a href="#{name}">{e(title)}</a>{colon(lang)}<code>mlplab lab {name}</code></li>'
    if name in _installed():
        text = ("已安装，本次未运行：" if lang == "zh" else "installed, not run this time: ")
        return f"<li>{e(title)}{colon(lang)}{text}<code>mlplab lab {name}</code></li>"
    text = "这个版本的 mlplab 还没有此实验" if lang == "zh" else "not in this version of mlplab yet"
    left, right = ("（", "）") if lang == "zh" else (" (", ")")
    return f"<li>{e(title)}{colon(lang)}{text}{left}<code>mlplab lab {name}</code>{right}</li>"


def _installed() -> set[str]:
    from .experiments import discover

    return set(discover())


def _homework_3(ran, lang: str) -> str:
    items = "".join(_bridge_item(name, ran, lang) for name in BRIDGE)
    if lang == "zh":
        return ("<div class=\"lecture\"><p><span class=\"label\">讲义：</span>依据本节基础，可开始自行学习CNN，RNN。</p></div>"
                "<div class=\"notes\"><p class=\"label\">mlplab 的说明</p><p>本节的机制原样延续："
                "卷积层的前向是 z = W ⋆ a + b，反向仍是 δ 递推，只是把转置乘积换成与翻转卷积核的完全相关；"
                "循环网络在每个时间步共享同一个 W，随时间反向传播就是沿 t（而不是沿 l）运行的 δ 递推，"
                "其中 W 与 g′ 因子的连乘正是梯度消失/爆炸一节的那个乘积。</p></div>"
                f"<p>本报告运行时发现的实验（由 <code>mlplab/lab/experiments</code> 自动发现）：</p><ul>{items}</ul>"
                f"<p>笔记本 {_nb('07_cnn_rnn.ipynb')} 训练一个 CNN 和一个 RNN，并附练习题。</p>")
    return ("<div class=\"lecture\"><p><span class=\"label\">The lecture:</span> 依据本节基础，可开始自行学习CNN，RNN "
            "(on this foundation, go on to learn CNNs and RNNs by yourself).</p></div>"
            "<div class=\"notes\"><p class=\"label\">mlplab's notes</p><p>The machinery carries over "
            "unchanged: a convolution's forward is z = W ⋆ a + b and its backward is the same δ "
            "recursion, the transposed product replaced by a full correlation with the flipped kernel; "
            "a recurrent network shares one W across time steps, and backpropagation through time is "
            "the δ recursion run along t instead of l, whose product of W and g′ factors is the one of "
            "the vanishing/exploding section.</p></div>"
            "<p>Labs found when this report ran (discovered in <code>mlplab/lab/experiments</code>):</p>"
            f"<ul>{items}</ul><p>Notebook {_nb('07_cnn_rnn.ipynb')} trains a CNN and an RNN, with "
            "exercises.</p>")


def homework_html(entry_id: str, ran, lang: str) -> str:
    """One homework section as HTML (``entry_id`` is homework-1, -2 or -3)."""
    body = {"homework-1": _homework_1, "homework-2": _homework_2,
            "homework-3": _homework_3}[entry_id](ran, lang)
    entry = BY_ID[entry_id]
    alt = "" if lang == "zh" else f'<span class="alt" lang="zh">{e(entry.zh)}</span>'
    return (f'<section class="section" id="{entry_id}"><h3>{e(entry.title(lang))}{alt}</h3>'
            f"{body}</section>")
