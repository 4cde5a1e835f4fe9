"""The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

One step forward, each gate a lecture layer ``σ(W_x· xₜ + W_h· hₜ₋₁ + b_·)``::

    iₜ = σ(z_iₜ)    input gate       z_iₜ = W_xi xₜ + W_hi hₜ₋₁ + b_i
    fₜ = σ(z_fₜ)    forget gate      (and z_f, z_c, z_o likewise)
    c̃ₜ = tanh(z_cₜ) candidate cell
    oₜ = σ(z_oₜ)    output gate
    cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ c̃ₜ          the cell: a sum, not a product of squashings
    hₜ = oₜ ⊙ tanh(cₜ)

One step backward, with ``dh = W_h·ᵀ δ·ₜ₊₁ (summed over the gates) + ∂C/∂hₜ`` and ``dc`` the cell
gradient carried from step t + 1::

    dc  ← dc + dh ⊙ oₜ ⊙ tanh′(cₜ)
    δoₜ = dh ⊙ tanh(cₜ) ⊙ σ′(z_oₜ)     δiₜ = dc ⊙ c̃ₜ ⊙ σ′(z_iₜ)
    δfₜ = dc ⊙ cₜ₋₁ ⊙ σ′(z_fₜ)         δcₜ = dc ⊙ iₜ ⊙ tanh′(z_cₜ)
    ∂C/∂cₜ₋₁ = dc ⊙ fₜ,   ∂C/∂hₜ₋₁ = Σ_gates W_h·ᵀ δ·ₜ

The cell path multiplies the gradient by ``fₜ`` per step, with no ``W_h`` and no squashing
derivative: with the forget gate open (fₜ ≈ 1) the error travels back many steps undiminished,
which is why the LSTM remembers where the simple RNN's ``W_hᵀ diag(g′)`` factors vanish.

Gate order i, f, c̃, o is PyTorch's (its ``weight_ih_l0`` stacks ``W_xi, W_xf, W_xc, W_xo``);
PyTorch's two biases ``b_ih + b_hh`` are one ``b`` here.
"""

from __future__ import annotations

import numbers

import numpy as np

from ...errors import ConfigError
from ..activations import sigmoid, sigmoid_prime, tanh, tanh_prime
from .recurrent import Recurrent


class LSTM(Recurrent):
    """Long short-term memory: a recurrent layer with a cell ``c`` and three gates.

    Parameters
    ----------
    n_in, n_hidden, return_sequences, init, rng, dtype, mask_value
        As :class:`~mlplab.core.layers.recurrent.SimpleRNN` (no ``activation``: the gates use
        σ, the candidate and the output tanh).
    forget_bias : float
        Added to ``b_f`` at initialization (1 by default: the forget gate starts open,
        σ(1) ≈ 0.73, so early gradients flow through the cell; Jozefowicz et al. 2015).

    Attributes
    ----------
    W_xi, W_xf, W_xc, W_xo : (n_hidden, n_in);  W_hi, W_hf, W_hc, W_ho : (n_hidden, n_hidden)
    b_i, b_f, b_c, b_o : (n_hidden,);  each with its gradient ``d<name>``
    steps : per time step, the named values (``i``, ``f``, ``c_tilde``, ``o``, ``c``, ``h``, …)
        and after the backward the gate deltas ``delta_i`` … ``delta_o``
    """

    GATES = ("i", "f", "c", "o")
    STATES = ("h", "c")

    def __init__(self, n_in: int | None, n_hidden: int, return_sequences: bool = False,
                 init="xavier_uniform", rng: np.random.Generator | None = None,
                 dtype=np.float64, mask_value: float | None = None, forget_bias: float = 1.0):
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real) or \
                not np.isfinite(forget_bias):
            raise ConfigError(f"LSTM forget_bias must be a finite number, got {forget_bias!r}; "
                              "1.0 (the default) lets the cell remember from the start")
        self.forget_bias = float(forget_bias)
        super().__init__(n_in, n_hidden, return_sequences, init, rng, dtype, mask_value)

    def _draw(self, n_in: int) -> None:
        super()._draw(n_in)
        self.b_f = self.b_f + self.forget_bias

    def step_forward(self, x, state):
        h_prev, c_prev = state
        z_i, z_f = self.affine("i", x, h_prev), self.affine("f", x, h_prev)
        z_c, z_o = self.affine("c", x, h_prev), self.affine("o", x, h_prev)
        i, f, c_tilde, o = sigmoid(z_i), sigmoid(z_f), tanh(z_c), sigmoid(z_o)
        c = f * c_prev + i * c_tilde  # cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ c̃ₜ
        h = o * tanh(c)  # hₜ = oₜ ⊙ tanh(cₜ)
        return (h, c), {"x": x, "h_prev": h_prev, "c_prev": c_prev, "z_i": z_i, "z_f": z_f,
                        "z_c": z_c, "z_o": z_o, "i": i, "f": f, "c_tilde": c_tilde, "o": o,
                        "c": c, "h": h}

    def step_backward(self, dstate, cache):
        dh, dc = dstate  # dh = Σ W_h·ᵀ δ·ₜ₊₁ + ∂C/∂hₜ;  dc = ∂C/∂cₜ through cₜ₊₁
        k = cache
        dc = dc + dh * k["o"] * tanh_prime(k["c"])  # hₜ = oₜ ⊙ tanh(cₜ) depends on cₜ too
        deltas = {"o": dh * tanh(k["c"]) * sigmoid_prime(k["z_o"]),  # δoₜ
                  "i": dc * k["c_tilde"] * sigmoid_prime(k["z_i"]),  # δiₜ
                  "f": dc * k["c_prev"] * sigmoid_prime(k["z_f"]),  # δfₜ
                  "c": dc * k["i"] * tanh_prime(k["z_c"])}  # δc̃ₜ
        dh_prev = dx = 0
        for gate in self.GATES:
            delta = k[f"delta_{gate}"] = deltas[gate]
            self.add_gradients(gate, delta, k["x"], k["h_prev"])
            to_h, to_x = self.back_to(gate, delta)
            dh_prev, dx = dh_prev + to_h, dx + to_x  # Σ W_h·ᵀ δ·ₜ, Σ W_x·ᵀ δ·ₜ
        return (dh_prev, dc * k["f"]), dx  # ∂C/∂cₜ₋₁ = dc ⊙ fₜ
