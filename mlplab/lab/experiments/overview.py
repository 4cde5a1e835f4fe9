"""01 NN概述: what a network is made of, on the lecture's 3-3-2 network, and the report's map."""

from __future__ import annotations

from pathlib import Path

from ..text import R, T, sup
from . import ExperimentResult, Table

NAME = "overview"
TITLE = "Neural networks: an overview"
TITLE_ZH = "01 NN概述"
CLAIM = "A network is neurons in layers; what it learns are the connections (W and b)."


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.diagram import network_diagram
    from ._lecture_net import SIZES, lecture_network

    net = lecture_network(seed)
    shapes = {f"W{l}": list(net.layers[l].W.shape) for l in range(1, len(SIZES))}
    shapes |= {f"b{l}": list(net.layers[l].b.shape) for l in range(1, len(SIZES))}
    numbers = {"sizes": SIZES, "parameters": int(sum(p.size for p in net.params)),
               "shapes": shapes, "layers": len(SIZES) - 1, "seed": seed}
    path = network_diagram(net, Path(out) / "overview_network.png",
                           title=T("the {sizes:arch} network: random W, b ~ N(0, 1)",
                                   "{sizes:arch} 网络：随机 W、b ~ N(0, 1)").text(numbers))
    caption = T("The lecture's {sizes:arch} network before training: neurons (circles) in layers, "
                "every connection a weight w (orange w > 0, blue w < 0, width ∝ |w|), every "
                "neuron a bias b from the +1 unit (dotted). Training changes only these lines.",
                "训练前的讲义 {sizes:arch} 网络：神经元（圆）分层排列，每条连接是一个权重 w（橙色 w > 0，"
                "蓝色 w < 0，线宽 ∝ |w|），每个神经元还有来自 +1 单元的偏置 b（点线）。训练改变的只是这些连线。")
    table = Table(T("What the {sizes:arch} network learns", "{sizes:arch} 网络要学的参数"),
                  [T("array", "数组"), T("shape (n_out × n_in)", "形状（n_out × n_in）")],
                  [[k[0] + sup(k[1:]), R(f"shapes.{k}", "shape")] for k in shapes])
    findings = [T("{parameters} numbers in all: that is everything this network can learn.",
                  "共 {parameters} 个数：这就是该网络能学到的全部。")]
    notes = [
        T("How mlplab numbers layers: the input is a⁽⁰⁾ = x, so a network with L computing layers "
          "has W⁽¹⁾ … W⁽ᴸ⁾. The lecture counts the input as layer 1 (a⁽¹⁾ = x): its W⁽ˡ⁺¹⁾ is "
          "mlplab's W⁽ˡ⁾. W⁽ˡ⁾ has one row per neuron of layer l (w_ij: from input j to neuron i). "
          "The cost is the lecture's C = ½‖a − y‖² per sample, averaged over a batch.",
          "mlplab 的层编号：输入记作 a⁽⁰⁾ = x，L 个计算层对应 W⁽¹⁾ … W⁽ᴸ⁾。讲义把输入算作第一层"
          "（a⁽¹⁾ = x），讲义的 W⁽ˡ⁺¹⁾ 就是 mlplab 的 W⁽ˡ⁾。W⁽ˡ⁾ 每行对应第 l 层的一个神经元"
          "（w_ij：从输入 j 到神经元 i）。代价是讲义的单样本 C = ½‖a − y‖²，一批样本取平均。"),
        T("mlplab's note on the cost: the forward, backward and gradient-descent sections use the "
          "lecture's C = ½‖a − y‖², whose output error is δ⁽ᴸ⁾ = (a − y) ⊙ σ′(z⁽ᴸ⁾). The "
          "classifiers of the later sections (vanishing gradients, overfitting, one cut, the XOR clusters, "
          "decision boundaries, the CNN) use cross-entropy with a sigmoid or softmax output "
          "instead, and there δ⁽ᴸ⁾ = a − y, with no σ′: the cost's derivative carries a factor "
          "1/(a(1 − a)) that cancels σ′(z) = a(1 − a). So a saturated output neuron still "
          "learns fast; the hidden layers' δ⁽ˡ⁾ keep their factor g′(z⁽ˡ⁾), as in the lecture.",
          "mlplab 关于代价的说明：前向、反向与梯度下降几节用讲义的 C = ½‖a − y‖²，输出层误差为 "
          "δ⁽ᴸ⁾ = (a − y) ⊙ σ′(z⁽ᴸ⁾)。后面各节的分类网络（梯度消失、过拟合、只能切一刀、异或四团、决策边界、CNN）"
          "改用交叉熵配 sigmoid 或 softmax 输出，这时 δ⁽ᴸ⁾ = a − y，没有 σ′：代价的导数带有因子 "
          "1/(a(1 − a))，正好与 σ′(z) = a(1 − a) 相消。所以输出神经元饱和时仍学得快；隐藏层的 δ⁽ˡ⁾ "
          "仍保留各自的 g′(z⁽ˡ⁾) 因子，与讲义相同。"),
        T("This report follows the lecture's outline part by part; each section can be rerun "
          "alone with mlplab lab and its id, and the notebooks under notebooks/ repeat the parts "
          "as exercises.",
          "本报告按讲义提纲逐部分展开；每节都可用 mlplab lab 加小节 id 单独重跑，notebooks/ 下的"
          "笔记本把各部分改写成练习。"),
    ]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, [(path, caption)], [table],
                            findings, lecture=None, notes=notes)
