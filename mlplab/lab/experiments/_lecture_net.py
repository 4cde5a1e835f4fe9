"""The lecture's 3-3-2 network, trained the lecture's way: shared by 前向推导, 反向递推 and 流程.

Network: 3 inputs, 3 sigmoid hidden neurons, 2 sigmoid outputs, cost ``C = ½‖a − y‖²`` (mean
over the samples), W and b drawn from N(0, 1). Data: the 8 corners of the cube {0, 1}³ with
two targets, y₁ = 1 when at least two inputs are on (majority) and y₂ = 1 when x₁ is on and x₃
off. Training: :func:`seven_steps`, the lecture's gradient descent written one numbered line
per step, full batch, α = 0.5, ε = 1e-4. The report prints those lines beside the numbers
each produced, so a reader can put a finger on the line that computed a number.
"""

from __future__ import annotations

import inspect
import itertools
from functools import lru_cache

import numpy as np

SIZES = [3, 3, 2]
ALPHA, EPSILON, MAX_EPOCHS = 0.5, 1e-4, 100_000
SAMPLE = 6  # the traced sample: x = (1, 1, 0), y = (1, 1)


def cube_data() -> tuple[np.ndarray, np.ndarray]:
    """The 8 corners of {0, 1}³ and their two targets (majority; x₁ and not x₃)."""
    X = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    Y = np.c_[X.sum(1) >= 2, (X[:, 0] == 1) & (X[:, 2] == 0)].astype(float)
    return X, Y


def lecture_network(seed: int):
    """Step 1 of the seven: the 3-3-2 sigmoid network with random W, b ~ N(0, 1)."""
    from ...core.network import Network

    return Network(SIZES, activation="sigmoid", loss="mse", init="normal", seed=seed)


def seven_steps(net, X, Y, alpha: float = ALPHA, epsilon: float = EPSILON,
                max_epochs: int = MAX_EPOCHS, watch=None):
    """The lecture's gradient descent, one line per step (steps 1–7 in the comments).

    Step 3's ``delta_L`` is what step 4 starts from (the output layer's gradients and the
    recursion); ``net.backward(Y)`` would compute the same from the loss, as the tests check.
    ``watch(epoch, A, delta_L, changes)``, when given, sees what steps 2–5 produced; it does
    not change the training. Returns ``(W_b, epoch, largest_change)``.
    """
    from ...core.activations import sigmoid_prime

    W_b = net.params                                           # 1 init W, b: random, when net was built
    for epoch in range(1, max_epochs + 1):                     # 2
        A = net.forward(X, training=True)                      # 2 forward: z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = σ(z⁽ˡ⁾)
        delta_L = (A - Y) * sigmoid_prime(net.layers[-1].Z)    # 3 output δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾)
        dA = net.layers[-1].backward_delta(delta_L)            # 4 from step 3's δ⁽ᴸ⁾: ∂C/∂W⁽ᴸ⁾, ∂C/∂b⁽ᴸ⁾, (W⁽ᴸ⁾)ᵀδ⁽ᴸ⁾
        for layer in reversed(net.layers[1:-1]):               # 4 then each hidden layer, last to first:
            dA = layer.backward(dA)                            # 4 δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾); ∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾
        changes = [alpha * g for g in net.grads]               # 5
        for p, change in zip(W_b, changes):                    # 5
            p -= change                                        # 5 W ← W − α∂C/∂W, b ← b − α∂C/∂b
        if watch is not None:
            watch(epoch, A, delta_L, changes)
        largest_change = max(float(np.abs(c).max()) for c in changes)  # 6
        if largest_change < epsilon:                           # 6 stop when every change < ε
            break                                              # 6
    return W_b, epoch, largest_change                          # 7 output W, b


def step_lines() -> dict[int, str]:
    """The source lines of each numbered step of :func:`seven_steps` (comments dropped,
    indentation kept relative to the step's first line)."""
    lines: dict[int, list[str]] = {}
    for line in inspect.getsource(seven_steps).splitlines():
        code, _, comment = line.partition("# ")
        if comment[:1].isdigit() and code.strip():
            lines.setdefault(int(comment[0]), []).append(code.rstrip())
    out = {}
    for step, group in lines.items():
        indent = min(len(c) - len(c.lstrip()) for c in group)
        out[step] = "\n".join(c[indent:] for c in group)
    return out


class Recorder:
    """Keeps what steps 2–5 produced in the first epoch, and the cost of every epoch."""

    def __init__(self, Y):
        self.Y, self.first, self.cost = Y, None, []

    def __call__(self, epoch, A, delta_L, changes):
        self.cost.append(float(0.5 * np.mean(np.sum((A - self.Y) ** 2, axis=1))))
        if epoch == 1:
            self.first = {"a_L": A[SAMPLE].tolist(), "delta_L": delta_L[SAMPLE].tolist(),
                          "changes": [c.tolist() for c in changes]}


@lru_cache(maxsize=4)
def trained(seed: int):
    """The network before and after :func:`seven_steps`, with what was recorded (cached:
    three sections show the same run)."""
    import copy

    X, Y = cube_data()
    net = lecture_network(seed)
    before = copy.deepcopy(net)
    record = Recorder(Y)
    _, epochs, last_change = seven_steps(net, X, Y, watch=record)
    return before, net, record, epochs, last_change


def trace_key(symbol: str) -> str:
    """A trace symbol as a plain results.json key: ``∂C/∂W⁽²⁾`` → ``dW2``, ``δ⁽¹⁾`` → ``delta1``."""
    key = symbol.replace("∂C/∂", "d").replace("δ", "delta").replace(" new", "_new")
    return key.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", "⁽⁾"))


def traced(seed: int) -> dict:
    """One sample through the untrained network (:func:`mlplab.trace`) and the gradient check
    of the same sample (:func:`mlplab.gradcheck`), as plain numbers."""
    from ...core.gradcheck import gradcheck
    from ...core.trace import trace

    before = trained(seed)[0]
    X, Y = cube_data()
    t = trace(before, X[SAMPLE], Y[SAMPLE], learning_rate=ALPHA)
    check = gradcheck(before, X[SAMPLE:SAMPLE + 1], Y[SAMPLE:SAMPLE + 1])
    steps = {trace_key(s.symbol): {"symbol": s.symbol, "formula": s.formula,
                                   "value": s.value.tolist()} for s in t.steps}
    return {"sample": SAMPLE, "x": X[SAMPLE].tolist(), "y": Y[SAMPLE].tolist(), "alpha": ALPHA,
            "cost": t.cost, "trace": steps,
            "gradcheck": {"errors": {str(l): e for l, e in check.errors.items()},
                          "tolerance": check.tolerance, "passed": bool(check.passed)}}


# mlplab.trace writes a few of its "formula" cells in words: the report gives them in both
WORDS = {"given": ("given", "已知"), "x (the input)": ("x (the input)", "x（输入）"),
         "the target": ("the target", "目标")}


def trace_rows(numbers: dict, keys: list[str], fmt: str = ".4f") -> list[list]:
    """Table rows (symbol, formula, value) for these trace keys, values as references; a
    formula in words (``given``) in the report's language, a symbol's "new" marked in both."""
    from ..text import R, T
    from . import Code

    def symbol(s: str):
        return T(s.replace(" new", " (new)"), s.replace(" new", "（新）")) if s.endswith(" new") else s

    def formula(f: str):
        return T(*WORDS[f]) if f in WORDS else Code(f)

    return [[symbol(numbers["trace"][k]["symbol"]), formula(numbers["trace"][k]["formula"]),
             R(f"trace.{k}.value", fmt)] for k in keys]


def sample_labels(values: list[list[float]], symbol: str, fmt: str = ".3f") -> list[list[str]]:
    """Neuron labels for a flow figure: ``values[l][i]`` as ``symbol = value``."""
    return [[f"{symbol} = {v:{fmt}}".replace("-", "−") if v is not None else "" for v in layer]
            for layer in values]
