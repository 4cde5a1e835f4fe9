"""The gated recurrent unit (Cho et al. 2014), in the form PyTorch and cuDNN compute.

One step forward::

    rₜ = σ(W_xr xₜ + W_hr hₜ₋₁ + b_r)                  reset gate
    uₜ = σ(W_xu xₜ + W_hu hₜ₋₁ + b_u)                  update gate (often called z; here u,
                                                       since z is the lecture's pre-activation)
    z_nₜ = W_xn xₜ + b_n + rₜ ⊙ (W_hn hₜ₋₁ + b_hn)     the reset gate scales W_hn hₜ₋₁ + b_hn
    nₜ = tanh(z_nₜ)                                    candidate state
    hₜ = (1 − uₜ) ⊙ nₜ + uₜ ⊙ hₜ₋₁                      keep the old state where uₜ ≈ 1

One step backward, with ``dh = ∂C/∂hₜ`` (what step t + 1 sent back, plus the layer above's)::

    δnₜ = dh ⊙ (1 − uₜ) ⊙ tanh′(z_nₜ)
    δuₜ = dh ⊙ (hₜ₋₁ − nₜ) ⊙ σ′(z_uₜ)
    δrₜ = δnₜ ⊙ (W_hn hₜ₋₁ + b_hn) ⊙ σ′(z_rₜ)
    ∂C/∂hₜ₋₁ = dh ⊙ uₜ + W_hrᵀ δrₜ + W_huᵀ δuₜ + W_hnᵀ (rₜ ⊙ δnₜ)

The first term, ``dh ⊙ uₜ``, is the GRU's gradient highway: no weight matrix, no squashing
derivative, only the update gate.

The candidate keeps two biases, ``b_n`` outside and ``b_hn`` inside the reset gate's product
(PyTorch's ``b_in`` and ``b_hn``); for r and u they would only add up, so each has one. Gate
order r, u, n is PyTorch's (r, z, n).
"""

from __future__ import annotations

import numpy as np

from ..activations import sigmoid, sigmoid_prime, tanh, tanh_prime
from ..xp import namespace
from .recurrent import Recurrent


class GRU(Recurrent):
    """Gated recurrent unit: a recurrent layer whose update gate interpolates old and new state.

    Parameters
    ----------
    n_in, n_hidden, return_sequences, init, rng, dtype, mask_value
        As :class:`~mlplab.core.layers.recurrent.SimpleRNN` (no ``activation``: the gates use
        σ, the candidate tanh).

    Attributes
    ----------
    W_xr, W_xu, W_xn : (n_hidden, n_in);  W_hr, W_hu, W_hn : (n_hidden, n_hidden)
    b_r, b_u, b_n, b_hn : (n_hidden,);  each with its gradient ``d<name>``
    steps : per time step the named values (``r``, ``u``, ``n``, ``h``, …) and after the
        backward the deltas ``delta_r``, ``delta_u``, ``delta_n``
    """

    GATES = ("r", "u", "n")
    EXTRA_BIASES = ("b_hn",)

    def __init__(self, n_in: int | None, n_hidden: int, return_sequences: bool = False,
                 init="xavier_uniform", rng: np.random.Generator | None = None,
                 dtype=np.float64, mask_value: float | None = None):
        super().__init__(n_in, n_hidden, return_sequences, init, rng, dtype, mask_value)

    def step_forward(self, x, state):
        (h_prev,) = state
        z_r, z_u = self.affine("r", x, h_prev), self.affine("u", x, h_prev)
        r, u = sigmoid(z_r), sigmoid(z_u)
        hn = h_prev @ self.W_hn.T + self.b_hn  # W_hn hₜ₋₁ + b_hn, before the reset gate
        z_n = x @ self.W_xn.T + self.b_n + r * hn
        n = tanh(z_n)
        h = (1 - u) * n + u * h_prev  # hₜ = (1 − uₜ) ⊙ nₜ + uₜ ⊙ hₜ₋₁
        return (h,), {"x": x, "h_prev": h_prev, "z_r": z_r, "z_u": z_u, "z_n": z_n, "hn": hn,
                      "r": r, "u": u, "n": n, "h": h}

    def step_backward(self, dstate, cache):
        (dh,) = dstate
        k, xp = cache, namespace(dh)
        delta_n = k["delta_n"] = dh * (1 - k["u"]) * tanh_prime(k["z_n"])  # δnₜ
        delta_u = k["delta_u"] = dh * (k["h_prev"] - k["n"]) * sigmoid_prime(k["z_u"])  # δuₜ
        delta_r = k["delta_r"] = delta_n * k["hn"] * sigmoid_prime(k["z_r"])  # δrₜ
        self.add_gradients("r", delta_r, k["x"], k["h_prev"])
        self.add_gradients("u", delta_u, k["x"], k["h_prev"])
        delta_hn = k["r"] * delta_n  # what reaches W_hn hₜ₋₁ + b_hn through the reset gate
        self.dW_xn = self.dW_xn + delta_n.T @ k["x"]
        self.db_n = self.db_n + xp.sum(delta_n, axis=0)
        self.dW_hn = self.dW_hn + delta_hn.T @ k["h_prev"]
        self.db_hn = self.db_hn + xp.sum(delta_hn, axis=0)
        (r_h, r_x), (u_h, u_x) = self.back_to("r", delta_r), self.back_to("u", delta_u)
        dh_prev = dh * k["u"] + r_h + u_h + delta_hn @ self.W_hn  # ∂C/∂hₜ₋₁
        dx = r_x + u_x + delta_n @ self.W_xn
        return (dh_prev,), dx
