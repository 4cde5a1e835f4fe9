"""Why convolution? A CNN against an MLP of the same parameter budget, on handwritten digits.

Protocol:

- data: scikit-learn's 1,797 digits as 1 × 8 × 8 images (pixels / 16), a 75/25 stratified
  split with seed 0 (1,347 images to train on, 450 to test);
- CNN: conv3×3(16, same)-ReLU-maxpool2-conv3×3(32, same)-ReLU-maxpool2-dense10 (softmax),
  6,090 parameters; MLP: 64-81-10 (ReLU, softmax), 6,085 parameters: the same budget;
- both trained alike: Adam (α = 0.003), minibatches of 32, cross-entropy, ``epochs`` epochs,
  over ``seeds`` initializations; test accuracy, parameters and training time per model;
- translation: every test image shifted by 1 and by 2 pixels (up, down, left, right; the gap
  filled with 0), each model's accuracy on the shifted images (trained on unshifted ones);
- figures: the first layer's learned filters, one digit's feature maps through the CNN, the
  accuracy on a grid of shifts, and the trace of one image (feature maps and δ maps).

With ``cifar10=DIR`` (``mlplab lab cnn --cifar10 DIR``) it also trains the course's CIFAR-10
network (conv3×3(32)-ReLU-maxpool2-conv3×3(64)-ReLU-maxpool2-dense128-dense10) on the binary
files in DIR and reports its test accuracy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.layers import Conv2D, Dense, Flatten, Input, MaxPool2D
from ...core.network import Network
from ...datasets import load_digits_images, shift_images, train_test_split
from ..text import R, T

NAME = "cnn"
ORDER = 70
TITLE = "Convolutional networks: the same δ recursion, a better prior for images"
TITLE_ZH = "卷积神经网络：同一个 δ 递推，更适合图像的先验"
CLAIM = T("A convolution is a layer whose forward is z = W ⋆ a + b and whose backward is the "
          "same δ recursion; sharing each filter across the image makes a CNN more accurate "
          "than an MLP of the same size on digits, and less thrown by a shifted digit.",
          "卷积就是一种层：前向是 z = W ⋆ a + b，反向是同一个 δ 递推；每个滤波器在整幅图像上共享，"
          "使 CNN 在手写数字上比同样大小的 MLP 更准确，也更不怕数字被平移。")
NOTE = T("mlplab's note: the lecture ends by pointing to CNNs (依据本节基础，可开始自行学习CNN，RNN); "
         "this lab takes that step with the lecture's notation, on the digits, and its numbers "
         "are measured here.",
         "mlplab 的说明：讲义最后指向 CNN（依据本节基础，可开始自行学习CNN，RNN）；本实验用讲义的记号在"
         "手写数字上迈出这一步，数字均为此处实测。")

SHIFTS = {1: [(-1, 0), (1, 0), (0, -1), (0, 1)], 2: [(-2, 0), (2, 0), (0, -2), (0, 2)]}


@dataclass(frozen=True)
class Setup:
    seeds: int = 3
    epochs: int = 40
    learning_rate: float = 0.003
    batch_size: int = 32
    cifar_epochs: int = 5
    cifar_samples: int | None = None  # all 50,000


QUICK = Setup(seeds=1, epochs=12, cifar_epochs=1, cifar_samples=2000)


def cnn(seed: int, dtype=np.float32) -> Network:
    """The digits CNN: 6,090 parameters."""
    return Network.from_layers(
        [Input((1, 8, 8)), Conv2D(1, 16, 3, "relu", padding="same", dtype=dtype), MaxPool2D(2),
         Conv2D(16, 32, 3, "relu", padding="same", dtype=dtype), MaxPool2D(2), Flatten(),
         Dense(None, 10, "softmax", "xavier_normal", dtype=dtype)], loss="cross_entropy",
        seed=seed)


def mlp(seed: int, dtype=np.float32) -> Network:
    """The MLP of the same budget: 64-81-10, 6,085 parameters."""
    return Network.from_layers(
        [Input((1, 8, 8)), Flatten(), Dense(None, 81, "relu", "he_normal", dtype=dtype),
         Dense(None, 10, "softmax", "xavier_normal", dtype=dtype)], loss="cross_entropy",
        seed=seed)


def shifted_accuracy(net: Network, X, y) -> dict:
    """Accuracy on the unshifted test set (``0``) and averaged over the 1- and 2-pixel shifts."""
    out = {"0": net.score(X, y)}  # string keys: results.json's, and paths of the text
    for d, moves in SHIFTS.items():
        out[str(d)] = float(np.mean([net.score(shift_images(X, dy, dx), y) for dy, dx in moves]))
    return out


def shift_grid(net: Network, X, y, reach: int = 2) -> list[list[float]]:
    """Accuracy for every shift (dy, dx) with |dy|, |dx| ≤ reach: rows dy, columns dx."""
    steps = range(-reach, reach + 1)
    return [[net.score(shift_images(X, dy, dx), y) for dx in steps] for dy in steps]


def train_both(setup: Setup, seed: int, data) -> dict:
    """Each model over the seeds: parameters, test accuracy, time, shifted accuracy."""
    X_train, X_test, y_train, y_test = data
    results, nets = {}, {}
    for name, make in (("cnn", cnn), ("mlp", mlp)):
        runs = []
        for s in range(seed, seed + setup.seeds):
            net = make(s)
            start = time.perf_counter()
            history = net.fit(X_train, y_train, optimizer="adam",
                              learning_rate=setup.learning_rate, batch_size=setup.batch_size,
                              max_epochs=setup.epochs, epsilon=None, seed=s)
            seconds = time.perf_counter() - start
            runs.append({"seed": s, "test_accuracy": net.score(X_test, y_test),
                         "train_accuracy": net.score(X_train, y_train), "time_s": seconds,
                         "shifted": shifted_accuracy(net, X_test, y_test),
                         "backend": history.backend})
            nets.setdefault(name, net)  # the first seed's network, for the figures
        results[name] = _summary(runs, sum(int(p.size) for p in nets[name].params))
        results[name]["shift_grid"] = shift_grid(nets[name], X_test, y_test)
    return {"results": results, "nets": nets}


def _summary(runs: list[dict], parameters: int) -> dict:
    mean = lambda key: float(np.mean([r[key] for r in runs]))  # noqa: E731
    return {"parameters": parameters, "runs": runs, "test_accuracy_mean": mean("test_accuracy"),
            "test_accuracy_min": float(min(r["test_accuracy"] for r in runs)),
            "train_accuracy_mean": mean("train_accuracy"), "time_s_mean": mean("time_s"),
            "shifted_mean": {d: float(np.mean([r["shifted"][d] for r in runs]))
                             for d in ("0", *map(str, SHIFTS))}}


def run(out: Path, *, quick: bool = False, seed: int = 0, cifar10: Path | None = None):
    """Run the lab into ``out``: results.json's numbers, the figures, the comparison table."""
    from threadpoolctl import threadpool_limits

    from . import ExperimentResult

    setup = QUICK if quick else Setup()
    start = time.perf_counter()
    cifar = None if cifar10 is None else load_cifar(cifar10, setup)  # a bad folder fails first
    X, y = load_digits_images(np.float32)
    data = train_test_split(X, y, test_size=0.25, seed=0)  # stratified: labels are classes
    with threadpool_limits(1):  # 8 × 8 images: one BLAS thread is as fast, and safe on busy cores
        trained = train_both(setup, seed, data)
    numbers = {"setup": {**setup.__dict__, "split": "75/25 stratified, seed 0", "seed": seed,
                         "n_train": len(data[0]), "n_test": len(data[1])}, **trained["results"]}
    figures = draw(trained, data, Path(out))
    if cifar is not None:
        numbers["cifar10"] = cifar10_exercise(cifar, setup, seed)
    numbers["time_s"] = time.perf_counter() - start
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table(setup.seeds)],
                            findings(numbers), notes=[NOTE])


def draw(trained: dict, data, out: Path) -> list:
    """The four figures of the first seed's networks, with their captions."""
    from ...core.image_trace import trace_image
    from ..plots import cnn as plots

    results, net = trained["results"], trained["nets"]["cnn"]
    X_test, y_test = data[1], data[3]
    digit = int(np.flatnonzero(y_test == 3)[0])  # one test image of a 3 for the map figures
    return [
        (plots.filters(net.layers[1].W, out / "cnn_filters.png"), T(
            "The 16 learned 3×3 filters of the first convolution (seed {setup.seed}): edge and "
            "stroke detectors, each applied at every position of the image.",
            "第一个卷积层学到的 16 个 3×3 滤波器（种子 {setup.seed}）：边缘与笔画检测器，"
            "每个都作用于图像的每个位置。")),
        (plots.feature_maps(net, X_test[digit], out / "cnn_feature_maps.png"), T(
            "One test digit through the CNN: the input, the 16 maps of the first convolution "
            "(ReLU), their 2×2 max pooling, and 16 of the second convolution's 32 maps.",
            "一个测试数字穿过 CNN：输入、第一个卷积层的 16 张特征图（ReLU）、2×2 最大池化，"
            "以及第二个卷积层 32 张图中的 16 张。")),
        (plots.shift_grid({k: results[k]["shift_grid"] for k in ("cnn", "mlp")},
                          out / "cnn_shifts.png"), T(
            "Test accuracy when every test image is moved by (dy, dx) pixels, the models trained "
            "on unmoved images: the CNN (left) loses less than the MLP of the same size (right).",
            "把每张测试图平移 (dy, dx) 个像素后的测试正确率（模型只在未平移的图上训练）："
            "CNN（左）比同样大小的 MLP（右）掉得少。")),
        (plots.trace_figure(trace_image(net, X_test[digit], y_test[digit]),
                            out / "cnn_trace.png"), T(
            "mlplab.trace of that digit: the feature maps a⁽ˡ⁾ forward, the δ maps backward "
            "(blue negative, red positive); δ⁽¹⁾ is non-zero only where max pooling routed the "
            "gradient.",
            "对这个数字运行 mlplab.trace：前向的特征图 a⁽ˡ⁾，反向的 δ 图（蓝为负，红为正）；"
            "δ⁽¹⁾ 只在最大池化把梯度送到的位置非零。")),
    ]


def table(seeds: int):
    """CNN against MLP: every cell a number of ``results.json``."""
    from . import Table

    title = (T("CNN against an MLP of the same size (digits, mean over {setup.seeds} seeds)",
               "CNN 与同样大小的 MLP（手写数字，{setup.seeds} 个种子的均值）") if seeds > 1 else
             T("CNN against an MLP of the same size (digits, one seed: {setup.seed})",
               "CNN 与同样大小的 MLP（手写数字，一个种子：{setup.seed}）"))
    return Table(title,
                 [T("model", "模型"), T("parameters", "参数量"), T("test accuracy", "测试正确率"),
                  T("shifted 1 px", "平移 1 像素"), T("shifted 2 px", "平移 2 像素"),
                  T("training time (s)", "训练时间（秒）")],
                 [[name.upper(), R(f"{name}.parameters", ","),
                   R(f"{name}.test_accuracy_mean", ".1%"), R(f"{name}.shifted_mean.1", ".1%"),
                   R(f"{name}.shifted_mean.2", ".1%"), R(f"{name}.time_s_mean", ".1f")]
                  for name in ("cnn", "mlp")])


def findings(numbers: dict) -> list:
    """Sentences whose numbers all come from ``numbers`` (no claim the run did not measure)."""
    lowest = (T(" (lowest seed {cnn.test_accuracy_min:.1%})", "（最低的种子 {cnn.test_accuracy_min:.1%}）")
              if numbers["setup"]["seeds"] > 1 else T("", ""))
    out = [T("CNN ({cnn.parameters:,} parameters): test accuracy {cnn.test_accuracy_mean:.1%}"
             + lowest.en + "; MLP ({mlp.parameters:,}): {mlp.test_accuracy_mean:.1%}.",
             "CNN（{cnn.parameters:,} 个参数）：测试正确率 {cnn.test_accuracy_mean:.1%}"
             + lowest.zh + "；MLP（{mlp.parameters:,} 个）：{mlp.test_accuracy_mean:.1%}。"),
           T("Shifted by 1 pixel: CNN {cnn.shifted_mean.1:.1%}, MLP {mlp.shifted_mean.1:.1%}; by 2 "
             "pixels: CNN {cnn.shifted_mean.2:.1%}, MLP {mlp.shifted_mean.2:.1%}.",
             "平移 1 像素：CNN {cnn.shifted_mean.1:.1%}，MLP {mlp.shifted_mean.1:.1%}；平移 2 像素："
             "CNN {cnn.shifted_mean.2:.1%}，MLP {mlp.shifted_mean.2:.1%}。"),
           T("Training took {cnn.time_s_mean:.1f} s (CNN) and {mlp.time_s_mean:.1f} s (MLP) per "
             "run ({cnn.runs.0.backend}).",
             "每次训练用时 {cnn.time_s_mean:.1f} 秒（CNN）和 {mlp.time_s_mean:.1f} 秒（MLP）"
             "（{cnn.runs.0.backend}）。")]
    if "cifar10" in numbers:
        out.append(T("CIFAR-10 (the course's network, {cifar10.epochs} epoch(s) on "
                     "{cifar10.n_train:,} images): test accuracy {cifar10.test_accuracy:.1%} in "
                     "{cifar10.time_s:.0f} s.",
                     "CIFAR-10（课程的网络，在 {cifar10.n_train:,} 张图上训练 {cifar10.epochs} 轮）："
                     "测试正确率 {cifar10.test_accuracy:.1%}，用时 {cifar10.time_s:.0f} 秒。"))
    return out


def cifar_network(seed: int) -> Network:
    """The course's CIFAR-10 network (the benchmark's): 545,098 parameters."""
    return Network.from_layers(
        [Input((3, 32, 32)), Conv2D(3, 32, 3, "relu", padding="same", dtype=np.float32),
         MaxPool2D(2), Conv2D(32, 64, 3, "relu", padding="same", dtype=np.float32),
         MaxPool2D(2), Flatten(), Dense(None, 128, "relu", "he_normal", dtype=np.float32),
         Dense(None, 10, "softmax", "xavier_normal", dtype=np.float32)],
        loss="cross_entropy", seed=seed)


def load_cifar(folder, setup: Setup) -> tuple:
    """CIFAR-10's training images (all, or ``setup.cifar_samples``) and its test images."""
    from ...datasets import load_cifar10

    return (*load_cifar10(folder, "train", max_samples=setup.cifar_samples),
            *load_cifar10(folder, "test"))


def cifar10_exercise(data: tuple, setup: Setup, seed: int) -> dict:
    """Train :func:`cifar_network` on CIFAR-10 (:func:`load_cifar`); its test accuracy."""
    X, y, X_test, y_test = data
    net = cifar_network(seed)
    start = time.perf_counter()
    history = net.fit(X, y, optimizer="adam", learning_rate=0.001, batch_size=128,
                      max_epochs=setup.cifar_epochs, epsilon=None, seed=seed)
    return {"n_train": len(X), "n_test": len(X_test), "epochs": history.epochs,
            "optimizer": "adam, α = 0.001, batch 128", "loss": history.loss,
            "time_s": time.perf_counter() - start, "backend": history.backend,
            "train_accuracy": net.score(X[:10_000], y[:10_000]),
            "test_accuracy": net.score(X_test, y_test),
            "parameters": int(sum(p.size for p in net.params))}
