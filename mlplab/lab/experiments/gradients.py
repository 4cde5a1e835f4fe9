"""Vanishing and exploding gradients, measured per layer, and every remedy tried alone.

Data: scikit-learn's digits (8×8 images, 10 classes, pixels scaled to [0, 1]), a stratified
70/30 split. Training: the lecture's gradient descent in minibatches of 10, learning rate 0.1,
softmax output with cross-entropy. The gradient of each hidden layer is measured, as Nielsen
does, over a probe of 500 training images before training (epoch 0) and after every epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..text import T
from . import ExperimentResult, Table

NAME = "gradients"
TITLE = "Vanishing and exploding gradients"
TITLE_ZH = "梯度消失/爆炸"
CLAIM = "δ is multiplied by a W and a σ' factor per layer going back: it shrinks or grows."
LECTURE = T("going back through the layers, δ⁽ˡ⁾ picks up one factor (W⁽ˡ⁺¹⁾)ᵀ and one σ'(z⁽ˡ⁾) "
            "per layer: 若此部分大于1…梯度爆炸，小于1…梯度消失 (if this part is greater than 1 … the "
            "gradient explodes; less than 1 … it vanishes).",
            "反向经过各层时，δ⁽ˡ⁾ 每层乘上一个 (W⁽ˡ⁺¹⁾)ᵀ 与一个 σ'(z⁽ˡ⁾)：若此部分大于1…梯度爆炸，小于1…梯度消失。")
NOTES = [T("mlplab's note: the remedies in the table below are mlplab's answer to homework 2, "
           "measured here, not a list from the lecture. Out of scope: LSTM/GRU gating, the remedy "
           "for recurrent networks, where one W multiplies δ once per time step.",
           "mlplab 的说明：下表中的各种方法是 mlplab 对作业二的回答，是这里实测的，并非讲义列出的内容。"
           "未涉及：LSTM/GRU 的门控，那是循环网络的办法，那里同一个 W 每个时间步都乘一次 δ。")]

NIELSEN_START = [0.003, 0.017, 0.070, 0.285]  # ‖∂C/∂b⁽ˡ⁾‖ at the start, 4 hidden layers (ch. 5)
SPEED_IMAGES, SPEED_EPOCHS = 1000, 500  # Nielsen's speed-of-learning runs: 1000 images, 500 epochs
CHANCE_COST = math.log(10)  # cross-entropy of predicting 1/10 for every digit
WIDTH, DEPTH, PROBE = 30, 6, 500
SGD = dict(optimizer="gd", learning_rate=0.1, batch_size=10, epsilon=None)
EXPLODE_SCALE = 3.0  # exploding case: W ~ N(0, (3/√n_in)²), i.e. 2.1× He's scale, with ReLU


@dataclass(frozen=True)
class Variant:
    """One network of the remedies comparison: what changed against its baseline, and why."""

    name: str
    label: tuple[str, str]
    case: str  # "vanishing" or "exploding": which baseline it is compared with
    activation: str
    init: object
    kind: str = "plain"  # plain | batchnorm | residual
    clip: str | None = None  # None | "norm" | "value"
    why: tuple[str, str] = ("", "")


def xavier_sigmoid(n_in: int, n_out: int, rng: np.random.Generator):
    """Glorot & Bengio's init for the sigmoid: 4× Xavier's std, so that σ'(0)·std·√n ≈ 1."""
    return rng.normal(0.0, 4 * math.sqrt(2.0 / (n_in + n_out)), (n_out, n_in)), np.zeros(n_out)


def large_normal(n_in: int, n_out: int, rng: np.random.Generator):
    """W ~ N(0, (3/√n_in)²), b = 0: each ReLU layer multiplies the signal by about 2.1."""
    return rng.normal(0.0, EXPLODE_SCALE / math.sqrt(n_in), (n_out, n_in)), np.zeros(n_out)


VARIANTS = [  # labels and reasons in (English, Chinese)
    Variant("sigmoid", ("sigmoid baseline", "sigmoid 基线"), "vanishing", "sigmoid", "lecun_normal",
            why=("σ' ≤ ¼ and ‖W‖ ≈ 1: each layer going back multiplies δ by about ¼.",
                 "σ' ≤ ¼ 且 ‖W‖ ≈ 1：每往回一层，δ 约乘以 ¼。")),
    Variant("relu", ("ReLU", "ReLU"), "vanishing", "relu", "lecun_normal",
            why=("g' = 1 for every active unit, so δ passes back without the ¼ factor.",
                 "激活的单元 g' = 1，δ 往回传时没有 ¼ 这个因子。")),
    Variant("leaky_relu", ("LeakyReLU", "LeakyReLU"), "vanishing", "leaky_relu", "lecun_normal",
            why=("as ReLU, and g' stays positive below zero, so no unit dies for good.",
                 "同 ReLU，且负半轴 g' 仍为正，单元不会永久“死亡”。")),
    Variant("xavier", ("Xavier init", "Xavier 初始化"), "vanishing", "sigmoid", "xavier_normal",
            why=("b = 0 keeps z near 0 where σ' is largest, but Var(W) ≈ 1/n still leaves ¼ per layer.",
                 "b = 0 让 z 靠近 σ' 最大处，但 Var(W) ≈ 1/n 每层仍留下 ¼。")),
    Variant("xavier_sigmoid", ("Xavier ×4 for σ", "针对 σ 的 Xavier ×4"), "vanishing", "sigmoid",
            xavier_sigmoid,
            why=("weights four times Xavier's offset σ'(0) = ¼, so Var(δ) stays constant across layers.",
                 "权重取 Xavier 的四倍，抵消 σ'(0) = ¼，δ 的方差逐层保持不变。")),
    Variant("batchnorm", ("batch norm", "批归一化"), "vanishing", "sigmoid", "lecun_normal",
            kind="batchnorm",
            why=("each layer's z is rescaled to mean 0, variance 1: σ' stays near its maximum.",
                 "每层的 z 被归一化为均值 0、方差 1：σ' 保持在最大值附近。")),
    Variant("residual", ("residual", "残差连接"), "vanishing", "sigmoid", "lecun_normal",
            kind="residual",
            why=("a = a_prev + F(a_prev): the skip passes δ back unchanged, whatever σ' is.",
                 "a = a_prev + F(a_prev)：跳连把 δ 原样传回，与 σ' 无关。")),
    Variant("exploding", ("large init (ReLU)", "大初始化（ReLU）"), "exploding", "relu", large_normal,
            why=("W ~ N(0, {explode_scale:g}²/n): each layer going back multiplies δ by about "
                 "{explode_factor:.1f} (half the ReLUs are active).",
                 "W ~ N(0, {explode_scale:g}²/n)：每往回一层，δ 约乘以 {explode_factor:.1f}（一半的 ReLU 处于激活状态）。")),
    Variant("he", ("He init", "He 初始化"), "exploding", "relu", "he_normal",
            why=("Var(W) = 2/n makes each ReLU layer preserve the variance of a and of δ.",
                 "Var(W) = 2/n 让每个 ReLU 层保持 a 与 δ 的方差。")),
    Variant("clip_norm", ("clip global norm to 1", "全局范数裁剪到 1"), "exploding", "relu",
            large_normal, clip="norm",
            why=("scales the whole gradient to norm ≤ 1: steps stay bounded (ratios unchanged).",
                 "把整个梯度缩放到范数 ≤ 1：步长有界（比值不变）。")),
    Variant("clip_value", ("clip each entry to ±0.1", "逐项裁剪到 ±0.1"), "exploding", "relu",
            large_normal, clip="value",
            why=("bounds every entry of the step; the direction changes a little.",
                 "限制步长的每一项；方向略有改变。")),
]
LABELS = {v.name: v.label for v in VARIANTS}
WHY = {v.name: v.why for v in VARIANTS}


def load_digits_split(seed: int):
    """Digits scaled to [0, 1], one-hot targets, a stratified 70/30 split."""
    from sklearn.datasets import load_digits

    from ...datasets.split import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, seed=seed)
    return Xtr, np.eye(10)[ytr], Xte, np.eye(10)[yte]


def build(depth: int, activation: str, init, seed: int, kind: str = "plain"):
    """A 64-30-…-30-10 network with ``depth`` hidden layers, optionally normalized or residual."""
    from ...core.layers import BatchNorm, Dense, Input, Residual
    from ...core.network import Network

    rng = np.random.default_rng(seed)
    layers, n = [Input(64)], 64
    for _ in range(depth):
        if kind == "batchnorm":  # Dense computes x = Wa + b; BatchNorm normalizes, then g
            layers += [Dense(n, WIDTH, "identity", init, rng), BatchNorm(WIDTH, activation)]
        elif kind == "residual" and n == WIDTH:  # the first layer changes width: no skip
            layers.append(Residual([Dense(WIDTH, WIDTH, activation, init, rng)]))
        else:
            layers.append(Dense(n, WIDTH, activation, init, rng))
        n = WIDTH
    layers.append(Dense(n, 10, "softmax", init, rng))
    return Network.from_layers(layers, loss="cross_entropy", seed=seed)


def train(net, data, epochs: int, clip: str | None = None) -> dict:
    """Train with the monitor on; return norms per epoch, ratios and test accuracy."""
    from ...train.clipping import ClipByGlobalNorm, ClipByValue
    from ...train.monitor import GradientMonitor

    Xtr, Ytr, Xte, Yte = data
    monitor = GradientMonitor(every=0, data=(Xtr[:PROBE], Ytr[:PROBE]))
    callbacks = [monitor]
    if clip == "norm":
        callbacks.append(ClipByGlobalNorm(1.0))
    elif clip == "value":
        callbacks.append(ClipByValue(0.1))
    with np.errstate(all="ignore"):  # an exploding run overflows on purpose; it is reported
        history = net.fit(Xtr, Ytr, max_epochs=epochs, callbacks=callbacks, **SGD)
        accuracy = net.score(Xte, Yte)
    epoch, grad_b = monitor.table("grad_b", "probe")
    _, saturated = monitor.table("saturated", "probe")
    finite = np.all(np.isfinite(grad_b), axis=1)
    ratios = grad_b[finite, 0] / grad_b[finite, -1]
    nan = float("nan")
    return {
        "epochs": epoch.tolist(), "grad_b": _json(grad_b),
        "grad_W": _json(monitor.table("grad_W", "probe")[1]),
        "saturated": _json(saturated),
        "start": _json(grad_b[0]),
        "ratio_start": float(ratios[0]) if finite[0] else nan,
        # geometric mean over the measured epochs: the typical ratio during training
        "ratio_mean": float(np.exp(np.mean(np.log(ratios)))) if len(ratios) else nan,
        "test_accuracy": float(accuracy),
        "loss": _json(np.array(history.loss)),
        "diverged": monitor.nonfinite_at is not None,
        "nonfinite_at": list(monitor.nonfinite_at) if monitor.nonfinite_at else None,
        "stop_reason": history.stop_reason,
    }


def _json(values: np.ndarray) -> list:
    """Nested lists with NaN and ±inf as None (results.json stays strict JSON)."""
    return np.where(np.isfinite(values), values, None).tolist()


def _plateau(run: dict) -> dict:
    """Where a network's cost stays at chance (ln 10: it predicts 1/10 for every class), and
    the first-to-last layer gradient ratio during and after that plateau."""
    loss = np.array([np.nan if v is None else v for v in run["loss"]], float)
    below = np.flatnonzero(loss < CHANCE_COST - 0.1)
    escape = int(below[0]) + 1 if len(below) else None  # epochs are 1-based
    grad_b = np.array(run["grad_b"], float)  # row 0: before training
    ratio = grad_b[:, 0] / grad_b[:, -1]
    during = ratio[1:escape] if escape else ratio[1:]
    after = ratio[escape + 1:] if escape else np.array([])
    geo = lambda r: float(np.exp(np.mean(np.log(r)))) if len(r) else None  # noqa: E731
    return {"escape_epoch": escape, "ratio_during": geo(during), "ratio_after": geo(after)}


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...core.activations import sigmoid, sigmoid_prime
    from ..plots import gradients as plots
    from ..text import R, tr

    out = Path(out)
    data = load_digits_split(seed)
    speed_epochs, remedy_epochs = (30, 5) if quick else (SPEED_EPOCHS, 12)
    # 1. speed of learning, as Nielsen ran it: 1000 training images, 1–4 sigmoid hidden layers
    speed_data = (data[0][:SPEED_IMAGES], data[1][:SPEED_IMAGES], data[2], data[3])
    speed = {}
    for depth in (1, 2, 3, 4):
        net = build(depth, "sigmoid", "lecun_normal", seed)
        speed[str(depth)] = train(net, speed_data, speed_epochs)
    four = speed["4"]
    plateau = _plateau(four)
    z = np.linspace(-8, 8, 1601)
    max_sigma_prime = float(sigmoid_prime(z).max())
    # 2. the deep network: vanishing, exploding, and each remedy alone
    remedies = {}
    for v in VARIANTS:
        net = build(DEPTH, v.activation, v.init, seed, v.kind)
        remedies[v.name] = dict(train(net, data, remedy_epochs, v.clip), label=tr(*v.label),
                                case=v.case)
    boom = remedies["exploding"]
    numbers = {
        "data": {"name": "sklearn digits", "train": len(data[0]), "test": len(data[2]),
                 "probe": PROBE, "speed_images": SPEED_IMAGES},
        "training": {**SGD, "speed_epochs": speed_epochs, "nielsen_epochs": SPEED_EPOCHS,
                     "remedy_epochs": remedy_epochs,
                     "width": WIDTH, "depth": DEPTH},
        "speed_of_learning": {"nielsen_start": NIELSEN_START, "networks": speed,
                              "four": {**plateau, "ratio_start": four["ratio_start"],
                                       "test_accuracy": four["test_accuracy"],
                                       "nielsen_ratio": NIELSEN_START[0] / NIELSEN_START[3]}},
        "sigmoid": {"max_sigma_prime": max_sigma_prime,
                    "argmax_z": float(z[np.argmax(sigmoid_prime(z))])},
        "exploding": {k: boom[k] for k in ("start", "ratio_start", "diverged", "nonfinite_at",
                                           "stop_reason", "test_accuracy")},
        "remedies": remedies, "chance_cost": CHANCE_COST, "explode_scale": EXPLODE_SCALE,
        "explode_factor": EXPLODE_SCALE / math.sqrt(2),
    }
    numbers["exploding"]["largest_loss"] = max(v for v in boom["loss"] if v is not None)
    numbers["exploding"]["nonfinite_at"] = boom["nonfinite_at"] or [None, None]
    figures = _figures(numbers, remedies, speed, four, z, sigmoid, sigmoid_prime, out, plots)
    answer = Table(
        T("How do you solve vanishing and exploding gradients? Measured on digits, {training.depth} "
          "hidden layers, {training.remedy_epochs} epochs",
          "如何解决梯度消失与梯度爆炸？在手写数字（digits）上实测，{training.depth} 个隐藏层，{training.remedy_epochs} 轮"),
        [T("remedy", "方法"), T("why it works", "为什么有效"), T("ratio at start", "初始比值"),
         T("ratio in training", "训练中比值"), T("test accuracy", "测试正确率"),
         T("diverged", "是否发散"), T("baseline", "基线")],
        [[T(*LABELS[name]), T(*WHY[name]), R(f"remedies.{name}.ratio_start", ".2g"),
          R(f"remedies.{name}.ratio_mean", ".2g"), R(f"remedies.{name}.test_accuracy", ".3f"),
          R(f"remedies.{name}.diverged"),
          "—" if name in ("sigmoid", "exploding") else
          (T(*LABELS["sigmoid"]) if r["case"] == "vanishing" else T(*LABELS["exploding"]))]
         for name, r in remedies.items()], answer=True, id="gradients-answer")
    nielsen = Table(T("‖∂C/∂b⁽ˡ⁾‖ at the start, four sigmoid hidden layers",
                      "训练开始时的 ‖∂C/∂b⁽ˡ⁾‖，四个 sigmoid 隐藏层"),
                    [T("hidden layer", "隐藏层"), T("Nielsen (MNIST)", "Nielsen（MNIST）"),
                     T("mlplab (digits)", "mlplab（手写数字）")],
                    [[R(f"speed_of_learning.layers.{l}"), R(f"speed_of_learning.nielsen_start.{l}", "g"),
                      R(f"speed_of_learning.networks.4.start.{l}", ".2g")] for l in range(4)])
    numbers["speed_of_learning"]["layers"] = [1, 2, 3, 4]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [nielsen, answer],
                            _findings(numbers, boom), lecture=LECTURE, notes=NOTES)


def _figures(numbers, remedies, speed, four, z, sigmoid, sigmoid_prime, out: Path, plots):
    return [
        (plots.speed_of_learning(speed, out / "speed_of_learning.png",
                                 escape=numbers["speed_of_learning"]["four"]["escape_epoch"]),
         _speed_caption(numbers)),
        (plots.nielsen_comparison(four["start"], NIELSEN_START, out / "nielsen_comparison.png"),
         T("Bias-gradient norms at the start, four hidden layers: mlplab on digits beside "
           "Nielsen's MNIST numbers. First over last: mlplab {speed_of_learning.four.ratio_start:.3g}, "
           "Nielsen {speed_of_learning.four.nielsen_ratio:.3g}.",
           "训练开始时的偏置梯度范数，四个隐藏层：mlplab（手写数字 digits）与 Nielsen（MNIST）的数字并列。"
           "第一层比最后一层：mlplab {speed_of_learning.four.ratio_start:.3g}，Nielsen "
           "{speed_of_learning.four.nielsen_ratio:.3g}。")),
        (plots.sigmoid_bound(z, sigmoid(z), sigmoid_prime(z), out / "sigmoid_derivative.png"),
         T("σ(z) and σ'(z) = σ(z)(1 − σ(z)): the derivative never exceeds "
           "{sigmoid.max_sigma_prime:.2f} (at z = {sigmoid.argmax_z:.0f}).",
           "σ(z) 与 σ'(z) = σ(z)(1 − σ(z))：导数最大为 {sigmoid.max_sigma_prime:.2f}（在 z = "
           "{sigmoid.argmax_z:.0f} 处）。")),
        (plots.layer_profiles(remedies, DEPTH, out / "layer_profiles.png"),
         T("‖∂C/∂b⁽ˡ⁾‖ per hidden layer at the start, {training.depth} hidden layers of "
           "{training.width}: the sigmoid baseline falls towards the input (vanishing), large-init "
           "ReLU rises (exploding); the remedies keep it flatter. Clipping starts from the exploding "
           "gradients: it bounds the step, not the ratio.",
           "训练开始时各隐藏层的 ‖∂C/∂b⁽ˡ⁾‖，{training.depth} 个隐藏层、每层 {training.width}：sigmoid 基线"
           "朝输入方向下降（消失），大初始化的 ReLU 上升（爆炸）；各种方法让它更平。梯度裁剪从爆炸的梯度出发："
           "它限制的是步长，不是比值。")),
        (plots.exploding_training(remedies, out / "exploding_training.png"),
         T("Training cost per epoch of the large-init ReLU network and its remedies. Without a "
           "remedy the gradients overflowed in epoch {exploding.nonfinite_at.0}, batch "
           "{exploding.nonfinite_at.1}; the divergence guard restored the last finite weights and "
           "stopped (the run's last cost, {exploding.largest_loss:.1e}, is off the scale: marked ▲). "
           "He init and clipping train it.",
           "大初始化 ReLU 网络及其补救方法的每轮训练代价。不加补救时，梯度在第 {exploding.nonfinite_at.0} 轮第 "
           "{exploding.nonfinite_at.1} 批溢出；发散保护恢复了最后一组有限的权重并停止（该次运行最后的代价 "
           "{exploding.largest_loss:.1e} 超出坐标范围，以 ▲ 标出）。He 初始化和梯度裁剪都能训练它。")),
        (plots.remedy_bars(remedies, out / "remedies.png"),
         T("Each remedy alone: the first-to-last hidden-layer gradient ratio at the start (1 is "
           "ideal) and the test accuracy after {training.remedy_epochs} epochs; the legend names "
           "the baselines and the two groups of remedies.",
           "每种方法单独使用：训练开始时第一隐藏层与最后一隐藏层的梯度比值（1 最理想），以及 "
           "{training.remedy_epochs} 轮后的测试正确率；图例标明基线与两组方法。")),
    ]


def _speed_caption(numbers: dict) -> T:
    """The speed-of-learning caption: which setting ran, and what the four-layer network did,
    as measured (a quick run may end before the network leaves chance)."""
    setting = (T("{training.speed_epochs} epochs (Nielsen's setting).",
                 "{training.speed_epochs} 轮（Nielsen 的设置）。")
               if numbers["training"]["speed_epochs"] == SPEED_EPOCHS else
               T("{training.speed_epochs} epochs (a quick run; Nielsen ran "
                 "{training.nielsen_epochs}).",
                 "{training.speed_epochs} 轮（快速运行；Nielsen 跑了 {training.nielsen_epochs} 轮）。"))
    if numbers["speed_of_learning"]["four"]["escape_epoch"]:
        outcome = T(
            " The four-layer network sits at chance until epoch "
            "{speed_of_learning.four.escape_epoch} (dotted line), with layer 1's gradient "
            "{speed_of_learning.four.ratio_during:.2g} times layer 4's; after it escapes the ratio "
            "is {speed_of_learning.four.ratio_after:.2g}.",
            "四层网络在第 {speed_of_learning.four.escape_epoch} 轮（点线）之前一直停在随机猜测水平，期间第 1 层的"
            "梯度是第 4 层的 {speed_of_learning.four.ratio_during:.2g} 倍；脱离之后比值为 "
            "{speed_of_learning.four.ratio_after:.2g}。")
    else:
        outcome = T(
            " The four-layer network is still at chance after all {training.speed_epochs} epochs, "
            "with layer 1's gradient {speed_of_learning.four.ratio_during:.2g} times layer 4's.",
            "四层网络在全部 {training.speed_epochs} 轮之后仍停在随机猜测水平，期间第 1 层的梯度是第 4 层的 "
            "{speed_of_learning.four.ratio_during:.2g} 倍。")
    head = T("‖∂C/∂b⁽ˡ⁾‖ of each hidden layer, measured on the same {data.probe} training images "
             "before training and after every epoch (log scale, a moving average over ten "
             "epochs), sigmoid networks with one to four hidden layers of {training.width} on "
             "{data.speed_images} digits, gd in minibatches of {training.batch_size}, α = "
             "{training.learning_rate:g}, ",
             "各隐藏层的 ‖∂C/∂b⁽ˡ⁾‖ 随轮次的变化，每轮（及训练前）都在同样的 {data.probe} 张训练图片上测得"
             "（对数坐标，十轮滑动平均），一到四个隐藏层、每层 {training.width} "
             "个 sigmoid 神经元，{data.speed_images} 张手写数字图片（digits），gd，小批量 "
             "{training.batch_size}，α = {training.learning_rate:g}，")
    return T(head.en + setting.en + outcome.en, head.zh + setting.zh + outcome.zh)


def _findings(numbers: dict, boom: dict) -> list:
    out = [
        T("Four sigmoid hidden layers: ‖∂C/∂b⁽¹⁾‖ / ‖∂C/∂b⁽⁴⁾‖ = {speed_of_learning.four.ratio_start:.3g} "
          "at the start (Nielsen: {speed_of_learning.four.nielsen_ratio:.3g}).",
          "四个 sigmoid 隐藏层：训练开始时 ‖∂C/∂b⁽¹⁾‖ / ‖∂C/∂b⁽⁴⁾‖ = {speed_of_learning.four.ratio_start:.3g}"
          "（Nielsen：{speed_of_learning.four.nielsen_ratio:.3g}）。"),
        T("max σ'(z) = {sigmoid.max_sigma_prime:.4f}: every sigmoid layer going back scales δ by "
          "at most that times the weights.",
          "max σ'(z) = {sigmoid.max_sigma_prime:.4f}：每往回经过一个 sigmoid 层，δ 最多乘以这个数再乘权重。"),
        T("{training.depth} sigmoid hidden layers: ratio {remedies.sigmoid.ratio_start:.2g}, test "
          "accuracy {remedies.sigmoid.test_accuracy:.3f} after {training.remedy_epochs} epochs "
          "(chance is one in ten).",
          "{training.depth} 个 sigmoid 隐藏层：比值 {remedies.sigmoid.ratio_start:.2g}，{training.remedy_epochs} "
          "轮后测试正确率 {remedies.sigmoid.test_accuracy:.3f}（随机猜测为十分之一）。"),
    ]
    if numbers["speed_of_learning"]["four"]["escape_epoch"]:
        out.append(T(
            "Over {training.speed_epochs} epochs the four-layer network's cost stays at chance "
            "(ln 10 = {chance_cost:.2f}) until epoch {speed_of_learning.four.escape_epoch}, then "
            "falls; it ends at test accuracy {speed_of_learning.four.test_accuracy:.3f}. During "
            "the plateau the first layer learns {speed_of_learning.four.ratio_during:.2g} times as "
            "fast as the last; afterwards {speed_of_learning.four.ratio_after:.2g} times.",
            "在 {training.speed_epochs} 轮中，四层网络的代价一直停在随机猜测水平（ln 10 = {chance_cost:.2f}），"
            "直到第 {speed_of_learning.four.escape_epoch} 轮才开始下降；最终测试正确率 "
            "{speed_of_learning.four.test_accuracy:.3f}。平台期第一层的学习速度是最后一层的 "
            "{speed_of_learning.four.ratio_during:.2g} 倍；之后为 {speed_of_learning.four.ratio_after:.2g} 倍。"))
    if boom["diverged"]:
        out.append(T("Large-init ReLU: the gradient grows towards the input (ratio "
                     "{exploding.ratio_start:.3g}); it overflowed in epoch {exploding.nonfinite_at.0} "
                     "and the run stopped with test accuracy {exploding.test_accuracy:.3f}, the "
                     "weights from before the overflow.",
                     "大初始化 ReLU：梯度朝输入方向增大（比值 {exploding.ratio_start:.3g}）；在第 "
                     "{exploding.nonfinite_at.0} 轮溢出，运行停止，用溢出前的权重测得测试正确率 "
                     "{exploding.test_accuracy:.3f}。"))
    return out
