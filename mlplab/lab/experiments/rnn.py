"""Recurrent networks: backpropagation through time is the δ recursion along t, and its
product of ``W_hᵀ diag(g′)`` factors makes gradients vanish (or explode) in time.

Four parts, each a function returning plain data:

1. :func:`vanishing` — ‖∂C/∂hₜ‖ against the distance to the loss for a tanh RNN, an LSTM and a
   linear RNN whose ``W_h`` has norm 1.2, with the per-step factor ``‖W_hᵀ diag(g′(zₜ))‖``
   measured (the gradients lab's picture, in time);
2. :func:`memory` — the adding problem at growing T: where the simple RNN stops learning and
   the GRU and LSTM still do;
3. :func:`language_model` — a character-level LSTM on the opening of *Coriolanus*, sampled at
   a few points of training;
4. :func:`forecast` — a GRU predicting the next value of a noisy sum of sines.

BLAS runs on one thread here: the matrices are small (32–128 units), and a second thread
costs more in synchronisation than it gives (on a crowded 2-core machine, 2–3× more).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from ..text import T as Text
from . import ExperimentResult, Table

NAME = "rnn"
ORDER = 65
TITLE = "Recurrent networks: backpropagation through time"
TITLE_ZH = "循环神经网络：沿时间的反向传播"
CLAIM = Text("A recurrent layer is the lecture's layer applied at every time step with shared "
             "W; backpropagation through time is the δ recursion run backwards along t, so the "
             "error reaching step t is multiplied by W_hᵀ diag(g′) once per step. If that "
             "factor's norm stays below 1 the error must vanish; a norm above 1 only allows "
             "growth: whether it explodes depends on the gain along the direction the error "
             "travels. The LSTM's cell carries it past that product, and remembers.",
             "循环层就是讲义中的层，在每个时间步以共享的 W 重复使用；沿时间的反向传播就是沿 t 反向运行的 "
             "δ 递推，所以到达第 t 步的误差每一步都要乘一次 W_hᵀ diag(g′)。这个因子的范数若一直小于 1，"
             "误差必然消失；范数大于 1 只是允许增长：是否爆炸取决于误差实际传播方向上的增益。"
             "LSTM 的细胞状态让误差绕过这个连乘，从而记住过去。")
LEARNED_MSE = 0.05  # adding problem: below this test MSE a network has learned the task
ADAM = dict(optimizer="adam", learning_rate=0.01, epsilon=None)


def _net(kind: str, n_in: int, H: int, n_out: int, seed: int, sequences: bool = False,
         output: str = "identity", loss: str = "mse", T: int = 1, **options):
    """Input((T, n_in)) → SimpleRNN/LSTM/GRU(H) → a dense head (per step with sequences)."""
    from ...core.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense
    from ...core.network import Network

    rng = np.random.default_rng(seed)
    cls = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[kind]
    head = (TimeDense if sequences else Dense)(H, n_out, output, "xavier_uniform", rng=rng,
                                               dtype=np.float32)
    layers = [Input((T, n_in)), cls(n_in, H, return_sequences=sequences, rng=rng,
                                    dtype=np.float32, **options), head]
    return Network.from_layers(layers, loss=loss, seed=seed)


# ---------------------------------------------------------------------------- 1. vanishing
def vanishing(seed: int, T: int = 60, H: int = 32) -> dict:
    """‖∂C/∂hₜ‖ vs the distance T − t for networks at initialization (random inputs)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, T, 4))
    Y = rng.normal(size=(32, 1))
    nets = {"tanh RNN": _net("rnn", 4, H, 1, seed, T=T), "LSTM": _net("lstm", 4, H, 1, seed, T=T),
            "linear RNN, ‖W_h‖ = 1.2": _net("rnn", 4, H, 1, seed, T=T, activation="identity")}
    q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    nets["linear RNN, ‖W_h‖ = 1.2"].layers[1].W_h[...] = 1.2 * q  # every singular value 1.2
    return {name: profile(net, X, Y) for name, net in nets.items()}


def profile(net, X, Y) -> dict:
    """One backward pass (float64, the core's BPTT): ‖∂C/∂hₜ‖ per step, mean over the
    sequences, and the per-step factor that carries it back."""
    net = copy.deepcopy(net).astype(np.float64)
    net.forward(np.asarray(X, np.float64), training=True)
    net.backward(np.asarray(Y, np.float64))
    layer, T = net.layers[1], X.shape[1]
    norms = [float(np.linalg.norm(s["dC_dh"], axis=1).mean()) for s in layer.steps]
    out = {"distance": list(range(T - 1, -1, -1)), "grad_h": norms,
           "decay_per_step": float((norms[0] / norms[-1]) ** (1 / (T - 1)))}
    if "f" in layer.steps[0]:  # an LSTM: the cell path's factor is the forget gate
        out["forget_mean"] = float(np.mean([s["f"].mean() for s in layer.steps]))
        return out
    # ∂C/∂hₜ₋₁ = W_hᵀ diag(g′(zₜ)) ∂C/∂hₜ, per sequence and step: its largest gain (the
    # spectral norm, a bound) and its gain for a random direction (‖·‖_F/√H, the root mean
    # square of its singular values)
    J = [layer.g.g_prime(s["z"])[:, :, None] * layer.W_h[None] for s in layer.steps]
    out["factor_mean"] = float(np.mean([np.linalg.norm(j, ord=2, axis=(1, 2)) for j in J]))
    out["factor_rms"] = float(np.mean([np.linalg.norm(j, axis=(1, 2)) / np.sqrt(layer.n_hidden)
                                       for j in J]))
    return out


# ---------------------------------------------------------------------------- 2. memory
def memory(seed: int, lengths, kinds, steps: int, H: int = 32) -> dict:
    """Test MSE on the adding problem (mean of (a − y)², no ½) per kind and length T."""
    from ...datasets.sequences import adding_problem

    batch, epochs = 64, 4
    runs, trained = {}, {}
    for kind in kinds:
        for T in lengths:
            X, y = adding_problem(steps * batch // epochs, T, seed=seed)
            Xt, yt = adding_problem(1000, T, seed=seed + 1)
            net = _net(kind, 2, H, 1, seed, T=T)
            start = time.perf_counter()
            h = net.fit(X.astype(np.float32), y.astype(np.float32), batch_size=batch,
                        max_epochs=epochs, seed=seed, **ADAM)
            mse = float(np.mean((net.predict(Xt.astype(np.float32)) - yt) ** 2))
            runs[f"{kind} T={T}"] = {"kind": kind, "T": T, "test_mse": mse,
                                     "loss": [2 * v for v in h.loss],  # as mean (a − y)²
                                     "seconds": time.perf_counter() - start,
                                     "steps": steps, "backend": h.backend}
            trained[kind] = (net, Xt[:32], yt[:32])  # the longest T's, for its gradient profile
    return runs, trained


def failure_point(runs: dict, kind: str, threshold: float = LEARNED_MSE):
    """The shortest T at which ``kind``'s test MSE stays above ``threshold`` (None: never)."""
    failed = sorted(r["T"] for r in runs.values() if r["kind"] == kind
                    and r["test_mse"] > threshold)
    return failed[0] if failed else None


# ---------------------------------------------------------------------------- 3. text
def sample(net, coding, n: int, prime: str, temperature: float, seed: int) -> str:
    """``n`` characters from a trained model, one step at a time (the state carried over)."""
    from ...core.layers import Input
    from ...core.network import Network

    rng = np.random.default_rng(seed)
    rnn, head = copy.deepcopy(net.layers[1]), copy.deepcopy(net.layers[2])
    step = Network.from_layers([Input((1, coding.size)), rnn, head],
                               loss="cross_entropy").astype(np.float64)
    rnn.initial_state, out = None, []
    p = None
    for i in list(coding.encode(prime)) + [None] * n:
        if i is None:  # sample the next character from p^(1/temperature)
            logits = np.log(p + 1e-12) / temperature
            q = np.exp(logits - logits.max())
            i = int(rng.choice(coding.size, p=q / q.sum()))
            out.append(coding.chars[i])
        p = step.forward(coding.one_hot([[i]], np.float64))[0, 0]
        rnn.initial_state = rnn.state  # continue from hₜ, cₜ
    return "".join(out)


def language_model(seed: int, epochs: int, H: int, sample_at, T: int = 50) -> dict:
    """A character-level LSTM on *Coriolanus*; samples after the epochs in ``sample_at``."""
    from ...datasets.sequences import CharCoding, load_coriolanus

    text = load_coriolanus()
    coding = CharCoding(text)
    X, y = coding.training_windows(text, T)
    net = _net("lstm", coding.size, H, coding.size, seed, sequences=True, output="softmax",
               loss="cross_entropy", T=T)
    counts = np.bincount(coding.encode(text), minlength=coding.size) / len(text)
    samples, loss, start = [], [], time.perf_counter()
    for epoch in range(1, epochs + 1):
        h = net.fit(X, y, batch_size=32, max_epochs=1, seed=seed + epoch, **ADAM)
        loss.append(h.loss[-1] / T)  # nats per character
        if epoch in sample_at:
            samples.append({"epoch": epoch, "text": sample(net, coding, 160, "MENENIUS:\n", 0.8,
                                                           seed)})
    return {"loss_per_char": loss, "samples": samples, "seconds": time.perf_counter() - start,
            "vocabulary": coding.size, "characters": len(text), "windows": len(X),
            "uniform_nats": float(np.log(coding.size)),
            "unigram_nats": float(-(counts * np.log(counts)).sum()), "hidden": H, "T": T}


# ---------------------------------------------------------------------------- 4. forecast
def forecast(seed: int, epochs: int, T: int = 30) -> dict:
    """A GRU predicting the next value of a noisy sum of sines from the last T values."""
    from ...datasets.sequences import sum_of_sines, windows

    noisy, clean = sum_of_sines(1200, noise=0.1, seed=seed)
    X, y = windows(noisy, T)
    split = 800
    net = _net("gru", 1, 32, 1, seed, T=T)
    net.fit(X[:split].astype(np.float32), y[:split].astype(np.float32), batch_size=32,
            max_epochs=epochs, seed=seed, **ADAM)
    pred = net.predict(X[split:].astype(np.float32))[:, 0]
    truth, observed = clean[T + split:], noisy[T + split:]
    return {"t": list(range(T + split, len(noisy))), "prediction": pred.tolist(),
            "clean": truth.tolist(), "noisy": observed.tolist(),
            "mse_vs_clean": float(np.mean((pred - truth) ** 2)),
            "mse_vs_noisy": float(np.mean((pred - observed) ** 2)),
            "last_value_mse": float(np.mean((noisy[T + split - 1:-1] - observed) ** 2)),
            "noise_variance": 0.01, "epochs": epochs, "T": T}


# ---------------------------------------------------------------------------- the lab
def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from threadpoolctl import threadpool_limits

    from ..plots import rnn as plots

    out = Path(out)
    lengths, kinds, steps = ((10, 30), ("rnn", "lstm"), 150) if quick else \
        ((10, 25, 50), ("rnn", "gru", "lstm"), 600)
    with threadpool_limits(1, user_api="blas"), np.errstate(over="ignore"):
        grads = vanishing(seed, T=30 if quick else 60)
        adding, trained = memory(seed, lengths, kinds, steps)
        for kind in ("rnn", "lstm"):  # after learning (or failing) to remember
            label = {"rnn": "tanh RNN", "lstm": "LSTM"}[kind]
            grads[f"{label} trained (adding, T = {lengths[-1]})"] = profile(*trained[kind])
        lm = language_model(seed, 2 if quick else 10, 64 if quick else 128,
                            (1, 2) if quick else (1, 3, 6, 10))
        sines = forecast(seed, 3 if quick else 15)
    sm = summary(grads, adding, lm)
    figures = [
        (plots.vanishing(grads, out / "vanishing_through_time.png"), _vanishing_caption(sm)),
        (plots.adding(adding, out / "adding_problem.png"), Text(
            "The adding problem: test MSE after the same number of Adam steps against the "
            "sequence length T. Predicting the mean scores 1/6; the dotted line is the 0.01 "
            "target.",
            "加法问题：同样步数的 Adam 训练后，测试 MSE 随序列长度 T 的变化。预测均值得 1/6；"
            "点线是 0.01 的目标。")),
        (plots.language_model(lm, out / "language_model.png"), Text(
            "Character-level LSTM on the opening of Coriolanus: cross-entropy per character by "
            "epoch, beside a uniform guess and the character frequencies alone.",
            "在《科利奥兰纳斯》开篇上训练的字符级 LSTM：每轮的每字符交叉熵，旁边是均匀猜测和仅用字符"
            "频率的结果。")),
        (plots.forecast(sines, out / "sines_forecast.png"), Text(
            "One-step-ahead forecast of a noisy sum of sines by a GRU on the last {forecast.T} "
            "values (test segment, never trained on): prediction against the noise-free truth.",
            "GRU 根据最近 {forecast.T} 个值向前一步预测含噪声的正弦和（测试段，从未用于训练）："
            "预测与无噪声的真值对比。")),
    ]
    numbers = {"vanishing": grads, "adding": adding, "language_model": lm, "forecast": sines,
               "quick": quick, "summary": sm}
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures,
                            _tables(adding, lm), _findings(numbers["summary"]))


def _tables(adding: dict, lm: dict) -> list[Table]:
    lengths = sorted({r["T"] for r in adding.values()})
    kinds = list(dict.fromkeys(r["kind"] for r in adding.values()))
    names = {"rnn": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
    memory_table = Table(
        Text("Adding problem: test MSE (predicting the mean: 0.167)",
             "加法问题：测试 MSE（预测均值：0.167）"), [Text("network", "网络")] +
        [f"T = {T}" for T in lengths],
        [[names[k]] + [round(adding[f"{k} T={T}"]["test_mse"], 4) for T in lengths]
         for k in kinds])
    samples = Table(Text("Samples of the language model (temperature 0.8, primed with "
                         "'MENENIUS:')", "语言模型的采样（温度 0.8，以 'MENENIUS:' 开头）"),
                    [Text("after epoch", "训练轮次"),
                     Text("loss per character (nats)", "每字符损失（nats）"),
                     Text("sample", "采样")],
                    [[s["epoch"], round(lm["loss_per_char"][s["epoch"] - 1], 3), s["text"]]
                     for s in lm["samples"]])
    return [memory_table, samples]


def summary(grads: dict, adding: dict, lm: dict) -> dict:
    """The findings' numbers under plain keys (``results.json``'s ``summary``)."""
    rnn, lstm = grads["tanh RNN"], grads["LSTM"]
    boom = grads["linear RNN, ‖W_h‖ = 1.2"]
    longest = max(r["T"] for r in adding.values())
    taught = grads[f"LSTM trained (adding, T = {longest})"]
    lstm_long = adding.get(f"lstm T={longest}")
    return {"rnn_factor": rnn["factor_mean"], "rnn_rms": rnn["factor_rms"],
            "rnn_decay": rnn["decay_per_step"], "rnn_total": rnn["grad_h"][-1] / rnn["grad_h"][0],
            "steps": len(rnn["grad_h"]) - 1, "lstm_decay": lstm["decay_per_step"],
            "lstm_forget": lstm["forget_mean"], "boom_factor": boom["factor_mean"],
            "boom_growth": boom["grad_h"][0] / boom["grad_h"][-1], "longest": longest,
            "taught_forget": taught["forget_mean"], "taught_decay": taught["decay_per_step"],
            "adding_steps": next(iter(adding.values()))["steps"],
            "rnn_fails_at": failure_point(adding, "rnn"),
            "lstm_long_mse": lstm_long["test_mse"] if lstm_long else None,
            "lm_final": lm["loss_per_char"][-1], "lm_epochs": len(lm["loss_per_char"])}


def _lstm_learned(sm: dict) -> bool:
    return sm["lstm_long_mse"] is not None and sm["lstm_long_mse"] < LEARNED_MSE


def _vanishing_caption(sm: dict) -> Text:
    head = Text(
        "‖∂C/∂hₜ‖ relative to ‖∂C/∂h_T‖ against the distance T − t to the loss (on the last "
        "state), log scale. At initialization the tanh RNN's error shrinks by the factor "
        "W_hᵀ diag(g′) at every step (vanishing), the linear RNN's grows by 1.2 (exploding), "
        "the LSTM's cell shrinks it more slowly. Trained on the adding problem, the tanh RNN "
        "still loses it; ",
        "‖∂C/∂hₜ‖ 相对 ‖∂C/∂h_T‖ 随到损失（在最后一个状态上）的距离 T − t 的变化，对数坐标。"
        "初始化时，tanh RNN 的误差每一步都乘以因子 W_hᵀ diag(g′) 而缩小（梯度消失），线性 RNN "
        "的误差每步放大 1.2 倍（梯度爆炸），LSTM 的细胞状态让误差缩小得更慢。在加法问题上训练后，"
        "tanh RNN 的误差仍然消失；")
    tail = (Text("the LSTM, which learned the task (test MSE {summary.lstm_long_mse:.4f}), "
                 "carries it across all {summary.longest} steps.",
                 "LSTM 学会了这个任务（测试 MSE {summary.lstm_long_mse:.4f}），把误差带过全部 "
                 "{summary.longest} 步。") if _lstm_learned(sm) else
            Text("the LSTM did not learn the task in this run either (test MSE "
                 "{summary.lstm_long_mse:.4f} at T = {summary.longest}; predicting the mean "
                 "scores 0.167), so its curve is that of an LSTM that has not yet found the "
                 "marked numbers.",
                 "这次运行中 LSTM 也没有学会这个任务（T = {summary.longest} 时测试 MSE "
                 "{summary.lstm_long_mse:.4f}；预测均值得 0.167），所以它的曲线是一个尚未找到被标记"
                 "数字的 LSTM 的曲线。"))
    return Text(head.en + tail.en, head.zh + tail.zh)


def _factor_finding(sm: dict) -> Text:
    shrinks = sm["rnn_decay"] < 1
    out = Text("tanh RNN: the factor W_hᵀ diag(g′(zₜ)) has spectral norm {summary.rnn_factor:.2f} "
               "(its largest gain) and gains {summary.rnn_rms:.2f} for a random direction; "
               f"‖∂C/∂hₜ‖ {'shrinks' if shrinks else 'grows'} by a factor of "
               "{summary.rnn_decay:.2f} per step, {summary.rnn_total:.1e}× over {summary.steps} "
               f"steps ({'vanishing' if shrinks else 'exploding'}).",
               "tanh RNN：因子 W_hᵀ diag(g′(zₜ)) 的谱范数为 {summary.rnn_factor:.2f}（最大增益），"
               "对随机方向的增益为 {summary.rnn_rms:.2f}；‖∂C/∂hₜ‖ 每步"
               f"{'缩小' if shrinks else '放大'}为原来的 {{summary.rnn_decay:.2f}} 倍，"
               "{summary.steps} 步共" f"{'缩小' if shrinks else '放大'}"
               " {summary.rnn_total:.1e} 倍" f"{'（梯度消失）' if shrinks else '（梯度爆炸）'}。")
    if sm["rnn_factor"] > 1 and sm["rnn_decay"] < 1:
        out = Text(out.en + " A norm above 1 does not make the error explode: the norm is only "
                   "the largest gain, and along the direction the error travels the gain is "
                   "below 1. Only a norm below 1 at every step guarantees vanishing.",
                   out.zh + "范数大于 1 并不意味着误差爆炸：范数只是最大增益，而沿误差实际传播的方向，"
                   "增益小于 1。只有每一步范数都小于 1，才保证梯度消失。")
    return out


def _taught_finding(sm: dict) -> Text:
    head = Text("The LSTM trained on the adding problem (T = {summary.longest}) keeps its forget "
                "gates at {summary.taught_forget:.2f} on average and ‖∂C/∂hₜ‖ changes by "
                "{summary.taught_decay:.2f} per step",
                "在加法问题（T = {summary.longest}）上训练后的 LSTM，遗忘门平均保持在 "
                "{summary.taught_forget:.2f}，‖∂C/∂hₜ‖ 每步乘以 {summary.taught_decay:.2f}")
    tail = (Text(": the error reaches the first marked number.", "：误差能到达第一个被标记的数。")
            if _lstm_learned(sm) else
            Text("; in this run it has not learned the task (test MSE "
                 "{summary.lstm_long_mse:.4f}, the mean's 0.167).",
                 "；这次运行中它还没有学会这个任务（测试 MSE {summary.lstm_long_mse:.4f}，预测均值为 0.167）。"))
    return Text(head.en + tail.en, head.zh + tail.zh)


def _findings(sm: dict) -> list[Text]:
    memory = Text("Adding problem, {summary.adding_steps} Adam steps each: the tanh RNN ",
                  "加法问题，每个网络 {summary.adding_steps} 步 Adam：tanh RNN ")
    memory = Text(memory.en + ("stops learning at T = {summary.rnn_fails_at} (test MSE above "
                               "0.05)" if sm["rnn_fails_at"] else "learned every length tried"),
                  memory.zh + ("在 T = {summary.rnn_fails_at} 时学不会了（测试 MSE 高于 0.05）"
                               if sm["rnn_fails_at"] else "学会了所试的每个长度"))
    if sm["lstm_long_mse"] is not None:
        memory = Text(memory.en + "; the LSTM reaches test MSE {summary.lstm_long_mse:.4f} at "
                      "T = {summary.longest}", memory.zh + "；LSTM 在 T = {summary.longest} 时"
                      "测试 MSE 达到 {summary.lstm_long_mse:.4f}")
    return [
        _factor_finding(sm),
        Text("LSTM: ‖∂C/∂hₜ‖ changes by {summary.lstm_decay:.2f} per step (the forget gate "
             "averages {summary.lstm_forget:.2f}); linear RNN with ‖W_h‖ = 1.2: factor "
             "{summary.boom_factor:.2f}, the gradient grows {summary.boom_growth:.1e}× over "
             "{summary.steps} steps (exploding).",
             "LSTM：‖∂C/∂hₜ‖ 每步乘以 {summary.lstm_decay:.2f}（遗忘门平均 "
             "{summary.lstm_forget:.2f}）；‖W_h‖ = 1.2 的线性 RNN：因子 {summary.boom_factor:.2f}，"
             "梯度在 {summary.steps} 步中增长 {summary.boom_growth:.1e} 倍（梯度爆炸）。"),
        _taught_finding(sm),
        Text(memory.en + ".", memory.zh + "。"),
        Text("Language model: {summary.lm_final:.2f} nats per character after "
             "{summary.lm_epochs} epochs (uniform guess {language_model.uniform_nats:.2f}, "
             "character frequencies alone {language_model.unigram_nats:.2f}).",
             "语言模型：{summary.lm_epochs} 轮后每字符 {summary.lm_final:.2f} nats（均匀猜测 "
             "{language_model.uniform_nats:.2f}，仅用字符频率 {language_model.unigram_nats:.2f}）。"),
        Text("Forecast: test MSE {forecast.mse_vs_clean:.4f} against the noise-free series and "
             "{forecast.mse_vs_noisy:.4f} against the noisy one (noise variance "
             "{forecast.noise_variance}; repeating the last value: {forecast.last_value_mse:.4f}).",
             "预测：相对无噪声序列的测试 MSE 为 {forecast.mse_vs_clean:.4f}，相对含噪声序列为 "
             "{forecast.mse_vs_noisy:.4f}（噪声方差 {forecast.noise_variance}；重复最后一个值："
             "{forecast.last_value_mse:.4f}）。"),
    ]
