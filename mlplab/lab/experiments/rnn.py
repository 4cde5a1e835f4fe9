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

from . import ExperimentResult, Table

NAME = "rnn"
ORDER = 65
TITLE = "Recurrent networks: backpropagation through time"
TITLE_ZH = "循环神经网络：沿时间的反向传播"
CLAIM = ("A recurrent layer is the lecture's layer applied at every time step with shared W; "
         "backpropagation through time is the δ recursion run backwards along t, so the error "
         "reaching step t is multiplied by W_hᵀ diag(g′) once per step: below 1 it vanishes, "
         "above 1 it explodes. The LSTM's cell carries it past that product, and remembers.")
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


def failure_point(runs: dict, kind: str, threshold: float = 0.05):
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
    figures = [
        (plots.vanishing(grads, out / "vanishing_through_time.png"),
         "‖∂C/∂hₜ‖ relative to ‖∂C/∂h_T‖ against the distance T − t to the loss (on the last "
         "state), log scale. At initialization the tanh RNN's error shrinks by the factor "
         "W_hᵀ diag(g′) at every step (vanishing), the linear RNN's grows by 1.2 (exploding), "
         "the LSTM's cell shrinks it more slowly. Trained on the adding problem, the tanh RNN "
         "still loses it; the LSTM carries it across all 50 steps."),
        (plots.adding(adding, out / "adding_problem.png"),
         "The adding problem: test MSE after the same number of Adam steps against the sequence "
         "length T. Predicting the mean scores 1/6; the dotted line is the 0.01 target."),
        (plots.language_model(lm, out / "language_model.png"),
         "Character-level LSTM on the opening of Coriolanus: cross-entropy per character by "
         "epoch, beside a uniform guess and the character frequencies alone."),
        (plots.forecast(sines, out / "sines_forecast.png"),
         "One-step-ahead forecast of a noisy sum of sines by a GRU on the last 30 values "
         "(test segment, never trained on): prediction against the noise-free truth."),
    ]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM,
                            {"vanishing": grads, "adding": adding, "language_model": lm,
                             "forecast": sines, "quick": quick},
                            figures, _tables(adding, lm), _findings(grads, adding, lm, sines))


def _tables(adding: dict, lm: dict) -> list[Table]:
    lengths = sorted({r["T"] for r in adding.values()})
    kinds = list(dict.fromkeys(r["kind"] for r in adding.values()))
    names = {"rnn": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}
    memory_table = Table(
        "Adding problem: test MSE (predicting the mean: 0.167)", ["network"] +
        [f"T = {T}" for T in lengths],
        [[names[k]] + [round(adding[f"{k} T={T}"]["test_mse"], 4) for T in lengths]
         for k in kinds])
    samples = Table("Samples of the language model (temperature 0.8, primed with 'MENENIUS:')",
                    ["after epoch", "loss per character (nats)", "sample"],
                    [[s["epoch"], round(lm["loss_per_char"][s["epoch"] - 1], 3), s["text"]]
                     for s in lm["samples"]])
    return [memory_table, samples]


def _findings(grads: dict, adding: dict, lm: dict, sines: dict) -> list[str]:
    rnn, lstm = grads["tanh RNN"], grads["LSTM"]
    boom = grads["linear RNN, ‖W_h‖ = 1.2"]
    longest = max(r["T"] for r in adding.values())
    taught = grads[f"LSTM trained (adding, T = {longest})"]
    T = len(rnn["grad_h"])
    fail = failure_point(adding, "rnn")
    steps = next(iter(adding.values()))["steps"]
    lstm_long = adding.get(f"lstm T={longest}")
    return [
        f"tanh RNN: the factor W_hᵀ diag(g′(zₜ)) has spectral norm {rnn['factor_mean']:.2f} "
        f"(its largest gain) and gains {rnn['factor_rms']:.2f} for a random direction; ‖∂C/∂hₜ‖ "
        f"falls by {rnn['decay_per_step']:.2f} per step, {rnn['grad_h'][-1] / rnn['grad_h'][0]:.1e}"
        f"× over {T - 1} steps (vanishing).",
        f"LSTM: ‖∂C/∂hₜ‖ changes by {lstm['decay_per_step']:.2f} per step (the forget gate "
        f"averages {lstm['forget_mean']:.2f}); linear RNN with ‖W_h‖ = 1.2: factor "
        f"{boom['factor_mean']:.2f}, the gradient grows {boom['grad_h'][0] / boom['grad_h'][-1]:.1e}"
        f"× over {T - 1} steps (exploding).",
        f"The LSTM trained on the adding problem (T = {longest}) keeps its forget gates at "
        f"{taught['forget_mean']:.2f} on average and ‖∂C/∂hₜ‖ changes by "
        f"{taught['decay_per_step']:.2f} per step: the error reaches the first marked number.",
        f"Adding problem, {steps} Adam steps each: the tanh RNN "
        + (f"stops learning at T = {fail} (test MSE above 0.05)" if fail
           else "learned every length tried")
        + (f"; the LSTM reaches test MSE {lstm_long['test_mse']:.4f} at T = {longest}"
           if lstm_long else "") + ".",
        f"Language model: {lm['loss_per_char'][-1]:.2f} nats per character after "
        f"{len(lm['loss_per_char'])} epochs (uniform guess {lm['uniform_nats']:.2f}, character "
        f"frequencies alone {lm['unigram_nats']:.2f}).",
        f"Forecast: test MSE {sines['mse_vs_clean']:.4f} against the noise-free series and "
        f"{sines['mse_vs_noisy']:.4f} against the noisy one (noise variance "
        f"{sines['noise_variance']}; repeating the last value: {sines['last_value_mse']:.4f}).",
    ]
