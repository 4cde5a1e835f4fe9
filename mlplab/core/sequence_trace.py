"""One short sequence through a recurrent network, every number named: the trace of
:mod:`mlplab.core.trace` unrolled in time (``mlplab.trace`` calls :func:`sequence_steps` for a
network with a recurrent layer; this module also holds the pieces both traces share).

For each recurrent layer l and each step t the forward values (``zₜ``, ``hₜ``; the LSTM's
``iₜ, fₜ, c̃ₜ, oₜ, cₜ``; the GRU's ``rₜ, uₜ, nₜ``), then the dense head, the cost, and going
back t = T … 1 the error reaching each step, ``∂C/∂hₜ``, with the step's deltas (``δₜ`` for the
simple RNN, one per gate for the LSTM and GRU), and the gradients of every array. The network is
not changed (a float64 copy is traced).
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import ConfigError, DataError
from .layers import GRU, LSTM, Dense, Dropout, Recurrent, SimpleRNN

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# per layer kind: (key in the step's cache, symbol, formula), forward then backward
FORWARD = {
    SimpleRNN: [("z", "z", "W_x xₜ + W_h hₜ₋₁ + b"), ("h", "h", "{g}(zₜ)")],
    LSTM: [("i", "i", "σ(W_xi xₜ + W_hi hₜ₋₁ + b_i)"), ("f", "f", "σ(W_xf xₜ + W_hf hₜ₋₁ + b_f)"),
           ("c_tilde", "c̃", "tanh(W_xc xₜ + W_hc hₜ₋₁ + b_c)"),
           ("o", "o", "σ(W_xo xₜ + W_ho hₜ₋₁ + b_o)"), ("c", "c", "fₜ ⊙ cₜ₋₁ + iₜ ⊙ c̃ₜ"),
           ("h", "h", "oₜ ⊙ tanh(cₜ)")],
    GRU: [("r", "r", "σ(W_xr xₜ + W_hr hₜ₋₁ + b_r)"), ("u", "u", "σ(W_xu xₜ + W_hu hₜ₋₁ + b_u)"),
          ("n", "n", "tanh(W_xn xₜ + b_n + rₜ ⊙ (W_hn hₜ₋₁ + b_hn))"),
          ("h", "h", "(1 − uₜ) ⊙ nₜ + uₜ ⊙ hₜ₋₁")],
}
BACKWARD = {
    SimpleRNN: [("delta", "δ", "(W_hᵀδₜ₊₁ + ∂C/∂hₜ) ⊙ {g}′(zₜ)")],
    LSTM: [("delta_o", "δo", "dh ⊙ tanh(cₜ) ⊙ σ′(z_oₜ)"), ("delta_i", "δi", "dc ⊙ c̃ₜ ⊙ σ′(z_iₜ)"),
           ("delta_f", "δf", "dc ⊙ cₜ₋₁ ⊙ σ′(z_fₜ)"), ("delta_c", "δc̃", "dc ⊙ iₜ ⊙ tanh′(z_cₜ)")],
    GRU: [("delta_n", "δn", "dh ⊙ (1 − uₜ) ⊙ tanh′(z_nₜ)"),
          ("delta_u", "δu", "dh ⊙ (hₜ₋₁ − nₜ) ⊙ σ′(z_uₜ)"),
          ("delta_r", "δr", "δnₜ ⊙ (W_hn hₜ₋₁ + b_hn) ⊙ σ′(z_rₜ)")],
}


def sup(l: int | str) -> str:
    """A layer index as a superscript: 2 → ⁽²⁾, "L" → ⁽ᴸ⁾."""
    return "⁽" + str(l).translate(str.maketrans("0123456789L", "⁰¹²³⁴⁵⁶⁷⁸⁹ᴸ")) + "⁾"



def forward_backward(net, X, Y) -> tuple:
    """``X``, ``Y`` checked, one forward and one backward pass through ``net`` (a copy), and
    the cost."""
    X, Y = net.check_XY(X, Y)
    net.require_trainable()
    A = net.forward(X)
    cost = float(net.loss.value(A, Y, net.layers[-1].Z))
    net.backward(Y)
    return X, Y, cost


def _table(tables: dict, layer: Recurrent) -> list:
    for kind in type(layer).__mro__:
        if kind in tables:
            return tables[kind]
    raise ConfigError(f"trace knows SimpleRNN, LSTM and GRU, not {layer!r}")


def _sym(name: str, t: int, l: int) -> str:
    return f"{name}{str(t).translate(_SUB)}{sup(l)}"


def sequence_steps(net, x, y) -> tuple[list[tuple], float]:
    """Forward and backpropagation through time for one sequence ``x`` (``(T, features)``)
    and its target ``y`` (the network's output shape for one sample): the named values as
    ``(symbol, formula, value)``, in order, and the cost.

    The network is Input, recurrent layers, then dense layers (a Dense or TimeDense head);
    dropout layers are left out (the trace is of the prediction network).
    """
    net = copy.deepcopy(net).to("cpu").astype(np.float64)
    net.layers = [layer for layer in net.layers if not isinstance(layer, Dropout)]
    for layer in net.layers[1:]:
        if not isinstance(layer, (Recurrent, Dense)):
            raise ConfigError(f"trace follows recurrent and dense layers; this network has "
                              f"{layer!r}")
        if isinstance(layer, Recurrent):
            _table(FORWARD, layer)
    try:
        X = np.asarray(x, dtype=float)[None]
        Y = np.asarray(y, dtype=float)[None]
    except (TypeError, ValueError) as exc:
        raise DataError(f"trace needs one numeric sequence x and its target y ({exc})") from None
    X, Y, cost = forward_backward(net, X, Y)
    steps = [("x", "the input sequence, one row per step", X[0]), ("y", "the target", Y[0])]
    for l, layer in enumerate(net.layers[1:], start=1):
        steps += _forward_steps(layer, l)
    steps += _backward_steps(net)
    return steps, cost


def _forward_steps(layer, l: int) -> list[tuple]:
    out = [(f"{name}{sup(l)}", "given", p.copy())
           for name, p in zip(layer.param_names, layer.params)]
    if isinstance(layer, Dense):
        out += [("z" + sup(l), f"W{sup(l)}a{sup(l - 1)} + b{sup(l)}", layer.Z[0]),
                ("a" + sup(l), f"{layer.g.name}(z{sup(l)})", layer.A[0])]
        return out
    g = getattr(layer, "g", None)
    for t, cache in enumerate(layer.steps, start=1):
        for key, name, formula in _table(FORWARD, layer):
            out.append((_sym(name, t, l), formula.format(g=g.name if g else ""),
                                 cache[key][0]))
    return out


def _backward_steps(net) -> list[tuple]:
    out = []
    for l in range(net.L, 0, -1):
        layer = net.layers[l]
        if isinstance(layer, Dense):
            formula = ("the loss's output delta" if l == net.L
                       else f"(W{sup(l + 1)})ᵀδ{sup(l + 1)} ⊙ {layer.g.name}'(z{sup(l)})")
            out.append(("δ" + sup(l), formula, layer.delta[0]))
        else:
            g = getattr(layer, "g", None)
            for t in range(len(layer.steps), 0, -1):
                cache = layer.steps[t - 1]
                out.append((_sym("∂C/∂h", t, l), "W_hᵀδₜ₊₁ + ∂C/∂hₜ from above",
                                     cache["dC_dh"][0]))
                for key, name, formula in _table(BACKWARD, layer):
                    out.append((_sym(name, t, l), formula.format(g=g.name if g else ""),
                                         cache[key][0]))
            out.append((_sym("∂C/∂h", 0, l), "what reaches the initial state",
                                 layer.dstate0[0][0]))
        for name, grad in zip(layer.param_names, layer.grads):
            out.append((f"∂C/∂{name}{sup(l)}", "Σₜ of the steps' terms"
                                 if isinstance(layer, Recurrent) else "from δ", grad))
    return out
