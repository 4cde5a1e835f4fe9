"""Universal approximation: one hidden layer, wide enough, fits any continuous function."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..text import R, T
from . import ExperimentResult, Table

NAME = "universal"
TITLE = "Universal approximation"
TITLE_ZH = "万能逼近"
CLAIM = ("One hidden layer, given enough units, approximates any continuous function on a "
         "bounded interval.")
LECTURE = T("universal approximation (万能逼近): a network with one hidden layer can approximate "
            "any continuous function.", "万能逼近：含一个隐藏层的网络可以逼近任意连续函数。")

FUNCTIONS = {
    "sin(πx)": lambda x: np.sin(np.pi * x),
    "|x|": np.abs,
    "bump exp(−x²/0.045)": lambda x: np.exp(-x ** 2 / (2 * 0.15 ** 2)),
}
WIDTHS = (1, 2, 4, 8, 16, 32)


def _grow(prev, net) -> None:
    """Start ``net`` from ``prev``'s trained hidden units; the new units' output weights are 0."""
    k = prev.sizes[1]
    net.layers[1].W[:k], net.layers[1].b[:k] = prev.layers[1].W, prev.layers[1].b
    net.layers[2].W[:, :k], net.layers[2].W[:, k:] = prev.layers[2].W, 0.0
    net.layers[2].b[:] = prev.layers[2].b


def _solve_output_layer(net, x, y) -> None:
    """W⁽²⁾, b⁽²⁾ by least squares: the exact MSE optimum for the trained hidden layer."""
    H = net.layers[1].forward(x)
    A = np.c_[H, np.ones(len(H))]
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    net.layers[2].W[:] = solution[:-1].T
    net.layers[2].b[:] = solution[-1]


def approximate(f, widths=WIDTHS, *, epochs: int = 1000, seed: int = 0, n_train: int = 101,
                n_eval: int = 401):
    """Fit ``f`` on [-1, 1] with 1-w-1 tanh networks; returns ``(x_eval, fits, errors)``.

    Each width starts from the previous width's trained hidden units plus new random ones (a
    growing network), is trained by Adam on the MSE, and ends with its output layer solved by
    least squares. ``errors[w] = (max |error|, mean |error|)`` on ``n_eval`` points.
    """
    from ...core.network import Network

    x = np.linspace(-1, 1, n_train)[:, None]
    y = f(x)
    x_eval = np.linspace(-1, 1, n_eval)[:, None]
    y_eval = f(x_eval)
    fits, errors, prev = {}, {}, None
    for w in widths:
        net = Network([1, w, 1], activation="tanh", output="identity", loss="mse",
                      init="xavier_normal", seed=seed + w)
        if prev is not None and prev.sizes[1] <= w:
            _grow(prev, net)
        net.fit(x, y, optimizer="adam", learning_rate=0.01, epsilon=None, max_epochs=epochs)
        _solve_output_layer(net, x, y)
        out = net.forward(x_eval)
        e = np.abs(out - y_eval)
        fits[w], errors[w] = out.ravel(), (float(e.max()), float(e.mean()))
        prev = net
    return x_eval.ravel(), fits, errors


def falls_until(means) -> int:
    """The width up to which the mean error falls at every step (the last width: all the way)."""
    k = 0
    while k + 1 < len(means) and means[k + 1] < means[k]:
        k += 1
    return WIDTHS[k]


def _caption(numbers: dict) -> T:
    """The figure's caption: where each function's mean error stops falling, as measured."""
    en = ("Left: each target (black) and the fits of {widths.0} to {widths.5} tanh hidden units. "
          "Right: max and mean |error| against the width, log axes. On this bounded interval the "
          "mean error ")
    zh = ("左：各目标函数（黑线）与 {widths.0} 到 {widths.5} 个 tanh 隐藏单元的拟合。右：最大与平均 |误差| "
          "随宽度的变化（对数坐标）。在这个有界区间上，平均误差：")
    parts_en, parts_zh = [], []
    for k, name in enumerate(numbers["functions"]):
        if numbers["falls_until"][k] == WIDTHS[-1]:
            parts_en.append(f"of {name} falls at every width up to {{widths.5}} units")
            parts_zh.append(f"{name} 一直下降到 {{widths.5}} 个单元")
        else:
            parts_en.append(f"of {name} falls from {{widths.0}} to {{falls_until.{k}}} units, "
                            "then stops falling")
            parts_zh.append(f"{name} 从 {{widths.0}} 个单元下降到 {{falls_until.{k}}} 个，之后不再下降")
    stalls = any(f != WIDTHS[-1] for f in numbers["falls_until"])
    end = (T(". Given enough units the error gets small, but a wider layer is not better at "
             "every step.", "。单元足够多时误差变得很小，但并不是每加宽一步都更好。") if stalls else
           T(". Given enough units the error gets small.", "。单元足够多时误差变得很小。"))
    return T(en + "; ".join(parts_en) + end.en, zh + "；".join(parts_zh) + end.zh)


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ..plots.curves import universal_panel

    out = Path(out)
    epochs = 500 if quick else 1000
    targets, fits, errors = {}, {}, {}
    for name, f in FUNCTIONS.items():
        x, fits[name], errors[name] = approximate(f, epochs=epochs, seed=seed)
        targets[name] = f(x)
    path = universal_panel(x, targets, fits, errors, out / "universal.png")
    names = list(FUNCTIONS)
    numbers = {"widths": list(WIDTHS), "epochs_per_width": epochs, "functions": names,
               "bump_2s2": 2 * 0.15 ** 2,  # the bump's exp(−x²/0.045), as its name writes it
               "points": len(x),
               "errors": [{str(w): {"max": errors[name][w][0], "mean": errors[name][w][1]}
                           for w in WIDTHS} for name in names]}
    numbers["falls_until"] = [falls_until([errors[name][w][1] for w in WIDTHS]) for name in names]
    first, last = str(WIDTHS[0]), str(WIDTHS[-1])
    table = Table(T("Error on [−1, 1] ({points} points) by hidden width: max |error| / mean |error|",
                    "在 [−1, 1]（{points} 个点）上的误差随隐藏层宽度的变化：最大 |误差| / 平均 |误差|"),
                  [T("hidden units", "隐藏单元数")] + [T(n, n) for n in names],
                  [[R(f"widths.{i}")] + [T(f"{{errors.{k}.{w}.max:.3g}} / {{errors.{k}.{w}.mean:.3g}}",
                                          f"{{errors.{k}.{w}.max:.3g}} / {{errors.{k}.{w}.mean:.3g}}")
                                        for k in range(len(names))]
                   for i, w in enumerate(WIDTHS)])
    findings = [T(f"{name}: max error {{errors.{k}.{first}.max:.3f}} with {{widths.0}} hidden unit → "
                  f"{{errors.{k}.{last}.max:.2g}} with {{widths.{len(WIDTHS) - 1}}} (mean "
                  f"{{errors.{k}.{first}.mean:.3f}} → {{errors.{k}.{last}.mean:.2g}}).",
                  f"{name}：{{widths.0}} 个隐藏单元时最大误差 {{errors.{k}.{first}.max:.3f}} → "
                  f"{{widths.{len(WIDTHS) - 1}}} 个时 {{errors.{k}.{last}.max:.2g}}（平均 "
                  f"{{errors.{k}.{first}.mean:.3f}} → {{errors.{k}.{last}.mean:.2g}}）。")
                for k, name in enumerate(names)]
    notes = [T("mlplab's note: the kink of |x| is the hardest, since smooth tanh units round it off. "
               "Method: Adam on the MSE, each width starting from the previous one's trained "
               "units, the output layer then solved by least squares (the exact MSE optimum for "
               "those hidden units).",
               "mlplab 的说明：|x| 的尖角最难，因为光滑的 tanh 单元会把它磨圆。方法：对 MSE 用 Adam 训练，"
               "每个宽度从上一个宽度训练好的单元出发，再用最小二乘解出输出层（对这些隐藏单元而言是 MSE 的精确最优）。")]
    caption = _caption(numbers)
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, [(path, caption)], [table],
                            findings, lecture=LECTURE, notes=notes)
