"""How do you prevent overfitting? Measure it: a big network on 40 noisy points, then each cure.

Protocol (every number averaged over ``seeds`` draws of the data and of the initial weights):

- data: ``n_train`` noisy moons (noise 0.4) for training, 2000 fresh points from the same
  distribution for testing;
- baseline: a 2-100-100-1 ReLU network (He init, cross-entropy) trained full-batch with Adam
  for 2000 epochs: it memorizes the noise;
- the same network and budget with one regularizer each (L2, L1, dropout, early stopping on
  a 25 % stratified validation split, Gaussian input noise, max-norm) and with 25× more data;
- a learning curve (error vs training-set size) and a capacity curve (error vs hidden width).

"Train accuracy" is measured on the points the network was fitted to (the 30 non-validation
points for early stopping, the 1000 points for more data); the gap is train − test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...train.callbacks import Callback, EarlyStopping
from ...datasets import moons, validation_split
from ...core.layers import Dense, with_dropout
from ...core.network import Network
from ..text import R, T
from ...train.regularizers import L1, L2, InputNoise, MaxNorm

NAME = "overfitting"
TITLE = "Generalization and regularization"
TITLE_ZH = "泛化/正则化"
CLAIM = "A network that fits its training data perfectly can still do badly on new data."
LECTURE = T("overfitting: a network can fit its training samples yet generalize badly to new "
            "ones; regularization is what is done against it.",
            "过拟合：网络能拟合训练样本，却在新样本上泛化很差；正则化就是针对它的办法。")

NOISE = 0.4
N_TEST = 2000
SMALL = 0.01  # a weight counts as "near zero" below this magnitude (for the L1 sparsity)
# The strength of each regularizer (one value each, chosen by hand for this data set).
L2_LAMBDA, L1_LAMBDA, DROPOUT_P, NOISE_STD, MAX_NORM_C = 0.01, 0.01, 0.7, 0.25, 1.0
VAL_SIZE, PATIENCE = 0.25, 100


@dataclass(frozen=True)
class Setup:
    """The sizes of one run; ``quick`` shrinks the curves and the seeds, not the protocol."""

    seeds: int = 5
    n_train: int = 40
    width: int = 100
    epochs: int = 2000
    learning_rate: float = 0.01
    more_data: int = 1000
    sizes: tuple = (10, 20, 40, 100, 250, 1000)
    widths: tuple = (1, 2, 4, 8, 16, 32, 100)


QUICK = Setup(seeds=3, more_data=400, sizes=(10, 40, 400), widths=(1, 4, 100))

# method → (label, the one-sentence reason it works, strength shown in the table), each (en, zh)
METHODS = {
    "baseline": (("no regularization", "不加正则化"),
                 ("Nothing stops the network from bending its boundary around every noisy point.",
                  "没有什么能阻止网络把边界绕到每个噪声点周围。"), ("", "")),
    "l2": (("L2 weight decay", "L2 权重衰减"),
           ("Penalizing ½λ‖W‖² keeps weights small, so the function stays smooth and cannot bend "
            "sharply around single points.",
            "惩罚 ½λ‖W‖² 让权重保持小，函数因而平滑，不能绕着单个点急转。"),
           (f"λ = {L2_LAMBDA:g}",) * 2),
    "l1": (("L1 penalty", "L1 惩罚"),
           ("Penalizing λΣ|W| pulls every weight toward zero at a constant rate, so only the few "
            "weights the data strongly needs survive: too few to memorize noise.",
            "惩罚 λΣ|W| 以恒定速率把每个权重拉向零，只有数据强烈需要的少数权重留下：不足以记住噪声。"),
           (f"λ = {L1_LAMBDA:g}",) * 2),
    "dropout": (("dropout", "dropout"),
                ("Randomly silencing hidden units stops them co-adapting to fit particular points; "
                 "training averages many thinned networks.",
                 "随机让隐藏单元静默，使它们无法合谋去拟合个别点；训练相当于平均许多变稀的网络。"),
                (f"drop rate {DROPOUT_P:g}", f"丢弃率 {DROPOUT_P:g}")),
    "early_stopping": (("early stopping", "早停"),
                       ("Training stops when the loss on held-out data starts rising, before the "
                        "network has time to fit the noise.",
                        "留出数据上的损失开始上升时就停止训练，网络来不及拟合噪声。"),
                       (f"patience {PATIENCE}, {VAL_SIZE:.0%} validation",
                        f"耐心 {PATIENCE}，{VAL_SIZE:.0%} 验证集")),
    "noise": (("input-noise augmentation", "输入加噪声"),
              ("Every epoch sees each point jittered, so the boundary must be right in a "
               "neighbourhood, not just at the point.",
               "每轮都给每个点加抖动，边界必须在点的邻域里都对，而不只是在点上。"),
              (f"σ = {NOISE_STD:g}",) * 2),
    "max_norm": (("max-norm constraint", "max-norm 约束"),
                 ("Capping each neuron's incoming weight norm bounds how steeply its output can "
                  "change, limiting sharp wiggles.",
                  "限制每个神经元输入权重的范数，也就限制了输出变化的陡峭程度，抑制尖锐的弯折。"),
                 (f"c = {MAX_NORM_C:g}",) * 2),
    "more_data": (("more data", "更多数据"),
                  ("With many points each noisy one weighs less in the loss, so bending the "
                   "boundary around it pays less; the same network still has the capacity to try.",
                   "点多了，每个噪声点在损失中的分量变小，绕着它弯折边界就不那么划算；但同一网络仍有能力这样做。"),
                  ("{more}× the points", "{more} 倍的点")),
}


def data(n: int, seed: int):
    """``n`` noisy training moons and the fixed test set of the same distribution."""
    X, y = moons(n, NOISE, seed=seed)
    X_test, y_test = moons(N_TEST, NOISE, seed=10_000 + seed)
    return X, y, X_test, y_test


def network(width: int, seed: int) -> Network:
    """The over-sized model: two hidden ReLU layers of ``width`` units."""
    return Network([2, width, width, 1], activation="relu", loss="cross_entropy",
                   init="he_normal", seed=seed)


class Watch(Callback):
    """Watches the test set: train/test loss and accuracy every ``every`` epochs (for the curves)."""

    def __init__(self, X, y, X_test, y_test, every: int = 10):
        self.sets, self.every = ((X, y), (X_test, y_test)), every
        self.epochs, self.train_loss, self.test_loss = [], [], []
        self.train_acc, self.test_acc = [], []

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch > 100 and epoch % self.every:  # every epoch early: the x axis is logarithmic
            return
        net = trainer.net
        (X, y), (Xt, yt) = self.sets
        self.epochs.append(epoch)
        self.train_loss.append(logs["loss"])
        self.test_loss.append(net.cost(Xt, yt))
        self.train_acc.append(net.score(X, y))
        self.test_acc.append(net.score(Xt, yt))


def train(method: str, seed: int, setup: Setup, n: int | None = None, width: int | None = None,
          callbacks: tuple = (), cache: dict | None = None) -> dict:
    """Fit one network with ``method``; returns its accuracies, the net and its fitted data.

    ``cache`` (a dict) reuses identical runs: the baseline is also a point of both curves.
    """
    n = n or (setup.more_data if method == "more_data" else setup.n_train)
    width = width or setup.width
    method = "baseline" if method == "more_data" else method  # same recipe, more points
    key = (method, seed, n, width)
    if cache is not None and key in cache and not callbacks:
        return cache[key]
    X, y, X_test, y_test = data(n, seed)
    net = network(width, seed)
    cbs, val = list(callbacks), None
    if method == "l2":
        cbs.append(L2(L2_LAMBDA))
    elif method == "l1":
        cbs.append(L1(L1_LAMBDA))
    elif method == "dropout":
        net = with_dropout(net, p=DROPOUT_P, seed=seed)
    elif method == "noise":
        cbs.append(InputNoise(NOISE_STD, seed=seed))
    elif method == "max_norm":
        cbs.append(MaxNorm(MAX_NORM_C, include_output=True))
    elif method == "early_stopping":
        X, y, val = validation_split(X, y, VAL_SIZE, seed=seed)
        cbs.append(EarlyStopping("val_loss", patience=PATIENCE, restore_best_weights=True))
    history = net.fit(X, y, optimizer="adam", learning_rate=setup.learning_rate,
                      max_epochs=setup.epochs, epsilon=None, callbacks=cbs,
                      validation_data=val, seed=seed)
    train_acc, test_acc = net.score(X, y), net.score(X_test, y_test)
    W = np.concatenate([layer.W.ravel() for layer in net.layers if isinstance(layer, Dense)])
    result = {"train_acc": train_acc, "test_acc": test_acc, "gap": train_acc - test_acc,
              "small_weights": float(np.mean(np.abs(W) < SMALL)),
              "epochs": history.epochs, "best_epoch": history.best_epoch, "net": net,
              "X": X, "y": y, "history": history}
    if cache is not None:
        cache[key] = result
    return result


def _mean_std(values) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values))


def compare(setup: Setup, seed: int = 0, cache: dict | None = None) -> tuple[dict, dict]:
    """Every method over every seed: the table's numbers, and the first seed's runs (figures)."""
    numbers, first = {}, {}
    for method in METHODS:
        runs = [train(method, s, setup, cache=cache) for s in range(seed, seed + setup.seeds)]
        first[method] = runs[0]
        keys = ("train_acc", "test_acc", "gap", "small_weights")
        row = {key: [r[key] for r in runs] for key in keys}
        for key in keys:
            row[key + "_mean"], row[key + "_std"] = _mean_std(row[key])
        row["n_train"] = len(runs[0]["X"])
        if method == "early_stopping":
            row["stopped_epoch"] = [r["epochs"] for r in runs]
            row["best_epoch"] = [r["best_epoch"] for r in runs]
        numbers[method] = row
    base = numbers["baseline"]
    for row in numbers.values():
        row["gap_change"] = row["gap_mean"] - base["gap_mean"]
        row["test_change"] = row["test_acc_mean"] - base["test_acc_mean"]
    return numbers, first


def curve(setup: Setup, values, *, over: str, seed: int = 0, cache: dict | None = None) -> dict:
    """Train and test error (mean, std over seeds) as the data size or the width varies."""
    train_err, test_err = [], []
    for v in values:
        runs = [train("baseline", s, setup, cache=cache, **{over: v})
                for s in range(seed, seed + setup.seeds)]
        train_err.append(_mean_std([1 - r["train_acc"] for r in runs]))
        test_err.append(_mean_std([1 - r["test_acc"] for r in runs]))
    return {over: list(values), "train_error": [m for m, _ in train_err],
            "train_error_std": [s for _, s in train_err],
            "test_error": [m for m, _ in test_err], "test_error_std": [s for _, s in test_err]}


def run(out: Path, *, quick: bool = False, seed: int = 0):
    """Run the lab into ``out``: results.json's numbers, five figures, the interview table."""
    import time

    from threadpoolctl import threadpool_limits

    from ..plots import overfitting as plots
    from . import ExperimentResult, Table

    setup = QUICK if quick else Setup()
    start = time.perf_counter()
    # Small matrices: one BLAS thread is as fast and immune to oversubscription on busy cores.
    with threadpool_limits(1):
        cache: dict = {}
        X, y, X_test, y_test = data(setup.n_train, seed)
        watch = Watch(X, y, X_test, y_test)  # watching does not change the training
        train("baseline", seed, setup, callbacks=(watch,), cache=cache)
        curves = {"epoch": watch.epochs, "train_loss": watch.train_loss,
                  "test_loss": watch.test_loss, "train_acc": watch.train_acc,
                  "test_acc": watch.test_acc}
        curves["best_test_epoch"] = watch.epochs[int(np.argmin(watch.test_loss))]
        methods, first = compare(setup, seed, cache)
        learning = curve(setup, setup.sizes, over="n", seed=seed, cache=cache)
        capacity = curve(setup, setup.widths, over="width", seed=seed, cache=cache)
    out = Path(out)
    more = setup.more_data // setup.n_train
    strengths = {"l2": L2_LAMBDA, "l1": L1_LAMBDA, "dropout_p": DROPOUT_P, "noise_std": NOISE_STD,
                 "max_norm": MAX_NORM_C, "patience": PATIENCE, "val_size": VAL_SIZE}
    numbers = {"setup": {**setup.__dict__, "noise": NOISE, "n_test": N_TEST, "more": more,
                         "seed": seed, "small": SMALL, **strengths},
               "methods": methods, "curves": curves, "learning_curve": learning,
               "capacity_curve": capacity, "time_s": time.perf_counter() - start}
    numbers["summary"] = summary(numbers)
    figures = [
        (plots.loss_curves(curves, out / "overfitting_curves.png"), T(
            "The baseline ({setup.width} units in each of two hidden layers, {setup.n_train} "
            "points), one run: seed {setup.seed}'s data and weights (the table averages "
            "{setup.seeds} seeds). The training loss keeps falling while the test loss turns at "
            "epoch {curves.best_test_epoch} (dashed) and rises.",
            "基线（两个隐藏层各 {setup.width} 个单元，{setup.n_train} 个点）的一次运行：种子 {setup.seed} "
            "的数据与权重（表格是 {setup.seeds} 个种子的均值）。训练损失一直下降，测试损失在第 "
            "{curves.best_test_epoch} 轮（虚线）转而上升。")),
        (plots.boundaries(first, METHODS, X_test, y_test, out / "overfitting_boundaries.png"),
         _boundaries_caption(numbers)),
        (plots.gap_bars(methods, METHODS, out / "overfitting_gaps.png"), T(
            "Train and test accuracy per method (mean ± std over {setup.seeds} seeds); the number "
            "above each pair is the train–test gap in points.",
            "各方法的训练与测试正确率（{setup.seeds} 个种子的均值 ± 标准差）；每对柱子上方的数字是训练–测试差距（百分点）。")),
        (plots.error_curve(learning, "n", out / "overfitting_learning_curve.png"), T(
            "Learning curve: test error falls and the train–test gap closes as the training set "
            "grows (mean over {setup.seeds} seeds; bands ± one standard deviation).",
            "学习曲线：训练集变大时测试误差下降，训练–测试差距缩小（{setup.seeds} 个种子的均值；色带为 ± 一个标准差）。")),
        (plots.error_curve(capacity, "width", out / "overfitting_capacity_curve.png"), T(
            "Capacity curve ({setup.n_train} points): too few hidden units underfit, too many "
            "overfit; the test error is lowest at width {summary.capacity_best_width} "
            "(mean over {setup.seeds} seeds; bands ± one std).",
            "容量曲线（{setup.n_train} 个点）：隐藏单元太少欠拟合，太多过拟合；宽度为 {summary.capacity_best_width} "
            "时测试误差最低（{setup.seeds} 个种子的均值；色带为 ± 一个标准差）。")),
    ]
    table = Table(T("How do you prevent overfitting? Measured, mean over {setup.seeds} seeds",
                    "如何防止过拟合？实测，{setup.seeds} 个种子的均值"),
                  [T("method", "方法"), T("setting", "设置"), T("why it works", "为什么有效"),
                   T("train acc", "训练正确率"), T("test acc", "测试正确率"),
                   T("gap (points)", "差距（百分点）"), T("gap vs baseline", "差距相对基线")],
                  [[T(*METHODS[m][0]), T(*(t.replace("{more}", "{setup.more}") for t in METHODS[m][2])),
                    T(*METHODS[m][1]), R(f"methods.{m}.train_acc_mean", ".1%"),
                    R(f"methods.{m}.test_acc_mean", ".1%"), R(f"summary.gap_points.{m}", ".1f"),
                    "—" if m == "baseline" else R(f"summary.gap_change_points.{m}", "+.1f")]
                   for m in methods], answer=True, id="overfitting-answer")
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table],
                            findings(numbers), lecture=LECTURE, notes=[NOTE])


def _boundaries_caption(numbers: dict) -> T:
    """What the boundaries figure shows, and what more data measurably bought (over the seeds),
    compared with the baseline and with the best regularizer."""
    m = numbers["methods"]
    head = T("Decision boundaries of one run per method, seed {setup.seed} (the panel titles are "
             "this seed's accuracies; the table averages {setup.seeds} seeds): the baseline bends "
             "around single noisy points; the regularizers give smoother boundaries. With "
             "{setup.more} times the data the same network still carves islands and spikes into "
             "the overlap. ",
             "决策边界，每种方法一次运行，种子 {setup.seed}（各图标题是这个种子的正确率；表格是 "
             "{setup.seeds} 个种子的均值）：基线绕着单个噪声点弯折；各种正则化的边界更平滑。数据多 "
             "{setup.more} 倍时同一网络仍在重叠区里挖出小岛和尖刺。")
    best_reg = numbers["summary"]["best_regularizer"]
    if m["more_data"]["test_acc_mean"] >= m[best_reg]["test_acc_mean"]:
        tail = T("Measured over the seeds, more data gives the best test accuracy, "
                 "{methods.more_data.test_acc_mean:.1%} (baseline {methods.baseline.test_acc_mean:.1%}).",
                 "按各种子平均，更多数据的测试正确率最高，{methods.more_data.test_acc_mean:.1%}（基线 "
                 "{methods.baseline.test_acc_mean:.1%}）。")
    elif m["more_data"]["test_acc_mean"] > m["baseline"]["test_acc_mean"]:
        tail = T("Measured over the seeds, more data lifts test accuracy from "
                 "{methods.baseline.test_acc_mean:.1%} to {methods.more_data.test_acc_mean:.1%}, "
                 "less than {summary.best_regularizer_label} on the small set "
                 "({methods." + best_reg + ".test_acc_mean:.1%}).",
                 "按各种子平均，更多数据把测试正确率从 {methods.baseline.test_acc_mean:.1%} 提高到 "
                 "{methods.more_data.test_acc_mean:.1%}，不如在小数据集上使用{summary.best_regularizer_label}"
                 "（{methods." + best_reg + ".test_acc_mean:.1%}）。")
    else:
        tail = T("Measured over the seeds, more data does not lift test accuracy here "
                 "({methods.more_data.test_acc_mean:.1%}, baseline {methods.baseline.test_acc_mean:.1%}).",
                 "按各种子平均，这里更多数据没有提高测试正确率（{methods.more_data.test_acc_mean:.1%}，"
                 "基线 {methods.baseline.test_acc_mean:.1%}）。")
    return T(head.en + tail.en, head.zh + tail.zh)


NOTE = T("mlplab's note: the methods in the table are mlplab's answer to homework 2, measured "
         "here; the lecture names overfitting, generalization and regularization, not this list.",
         "mlplab 的说明：表中的方法是 mlplab 对作业二的回答，是这里实测的；讲义讲的是过拟合、泛化与正则化，"
         "并没有列出这张表。")


def summary(numbers: dict) -> dict:
    """The derived numbers the text quotes (gaps in points, the best method and width)."""
    m, cap = numbers["methods"], numbers["capacity_curve"]
    best = max(m, key=lambda k: m[k]["test_acc_mean"])
    i = int(np.argmin(cap["test_error"]))
    best_reg = max((k for k in m if k not in ("baseline", "more_data")),
                   key=lambda k: m[k]["test_acc_mean"])
    return {"best_regularizer": best_reg, "best_regularizer_label": T(*METHODS[best_reg][0]).text(),
            "gap_points": {k: 100 * r["gap_mean"] for k, r in m.items()},
            "gap_change_points": {k: 100 * r["gap_change"] for k, r in m.items()},
            "narrowed": sum(1 for k in m if k != "baseline" and m[k]["gap_change"] < 0),
            "methods_tried": len(m) - 1, "best_method": best,
            "best_method_label": T(*METHODS[best][0]).text(),
            "best_test_acc": m[best]["test_acc_mean"],
            "capacity_best_width": cap["width"][i], "capacity_best_error": cap["test_error"][i],
            "capacity_first_error": cap["test_error"][0], "capacity_first_width": cap["width"][0],
            "capacity_last_error": cap["test_error"][-1], "capacity_last_width": cap["width"][-1],
            "final_test_loss": numbers["curves"]["test_loss"][-1]}


def findings(numbers: dict) -> list:
    """Sentences whose numbers all come from ``numbers`` (no claim the run did not measure)."""
    return [
        T("Baseline: train accuracy {methods.baseline.train_acc_mean:.1%}, test "
          "{methods.baseline.test_acc_mean:.1%}: a gap of {summary.gap_points.baseline:.1f} points.",
          "基线：训练正确率 {methods.baseline.train_acc_mean:.1%}，测试 {methods.baseline.test_acc_mean:.1%}："
          "差距 {summary.gap_points.baseline:.1f} 个百分点。"),
        T("Its test loss is lowest at epoch {curves.best_test_epoch} and rises from there to "
          "{summary.final_test_loss:.2f} while the training loss keeps falling.",
          "它的测试损失在第 {curves.best_test_epoch} 轮最低，此后升到 {summary.final_test_loss:.2f}，"
          "而训练损失一直下降。"),
        T("L1 leaves {methods.l1.small_weights_mean:.1%} of the weights near zero, |w| < "
          "{setup.small:g} (L2 {methods.l2.small_weights_mean:.1%}, baseline "
          "{methods.baseline.small_weights_mean:.1%}).",
          "L1 让 {methods.l1.small_weights_mean:.1%} 的权重接近零，即 |w| < {setup.small:g}（L2 为 "
          "{methods.l2.small_weights_mean:.1%}，基线 {methods.baseline.small_weights_mean:.1%}）。"),
        T("{summary.narrowed} of {summary.methods_tried} methods narrow the gap; best test accuracy: "
          "{summary.best_method_label} ({summary.best_test_acc:.1%}).",
          "{summary.methods_tried} 种方法中有 {summary.narrowed} 种缩小了差距；测试正确率最高的是"
          "{summary.best_method_label}（{summary.best_test_acc:.1%}）。"),
        T("Capacity curve: test error {summary.capacity_first_error:.1%} at width "
          "{summary.capacity_first_width}, lowest {summary.capacity_best_error:.1%} at width "
          "{summary.capacity_best_width}, {summary.capacity_last_error:.1%} at width "
          "{summary.capacity_last_width}.",
          "容量曲线：宽度 {summary.capacity_first_width} 时测试误差 {summary.capacity_first_error:.1%}，宽度 "
          "{summary.capacity_best_width} 时最低 {summary.capacity_best_error:.1%}，宽度 "
          "{summary.capacity_last_width} 时 {summary.capacity_last_error:.1%}。"),
    ]
