"""The kernels of :mod:`mlplab.accel.recurrent`, one per recurrent layer: a step forward and a
step back each, in NumPy with the compiled cells of :mod:`mlplab.accel.rnn_cells`; and, where
MKL and numba are installed, whole chunks of steps as one compiled loop
(:mod:`mlplab.accel._rnnloops`: the same formulas, tested equal).
"""

from __future__ import annotations

import numpy as np

from ..core.layers import GRU, LSTM, SimpleRNN
from .kernels import DELTA_INTO, G_INTO
from .rnn_base import Kernel

Array = np.ndarray
_LOOP_ACTIVATIONS = {"tanh": 0, "relu": 1}  # _rnnloops.TANH, RELU: the activations it computes


class RNNKernel(Kernel):
    """SimpleRNN: ``hₜ = g(zₜ)``, ``δₜ = dh ⊙ g′(zₜ)`` with the core's elementwise kernels."""

    def looped(self) -> bool:
        return self.layer.g.name in _LOOP_ACTIVATIONS

    def steps(self) -> None:
        if self.packed is None:
            return super().steps()
        w = self.w
        self.loops.rnn_forward(self.is32, _LOOP_ACTIVATIONS[self.layer.g.name], w["G"], w["h"],
                               self.packed[0], self.one)

    def steps_back(self, dh: Array, dA_seq: Array | None) -> None:
        if self.packed is None:
            return super().steps_back(dh, dA_seq)
        w = self.w
        self.loops.rnn_backward(self.is32, _LOOP_ACTIVATIONS[self.layer.g.name], dh,
                                self.no_seq if dA_seq is None else dA_seq, w["G"], w["h"],
                                w["dZ"], self.packed[1], self.one)

    def step(self, t: int) -> None:
        w, g = self.w, self.layer.g
        Z = w["G"][t]
        Z += w["h"][t] @ self.Wh  # zₜ = (W_x xₜ + b) + W_h hₜ₋₁
        out = w["h"][t + 1]
        into = G_INTO.get(g.name)
        if into is None:
            np.copyto(out, g(Z))
        else:
            into(Z, out)

    def step_back(self, t: int, dh: Array) -> None:
        w, g = self.w, self.layer.g
        delta, Z, h = w["dZ"][t], w["G"][t], w["h"][t + 1]
        into = DELTA_INTO.get(g.name)
        if into is None:
            np.multiply(dh, g.g_prime(Z), out=delta)
        else:
            into(dh, Z, h, delta)  # δₜ = (W_hᵀ δₜ₊₁ + ∂C/∂hₜ) ⊙ g′(zₜ)
        np.matmul(delta, self.Wh_rows, out=dh)  # W_hᵀ δₜ for step t − 1


class LSTMKernel(Kernel):
    """LSTM: gates stacked i, f, o, c̃ (:func:`mlplab.accel.rnn_cells.lstm_cell`)."""

    ORDER, SIGMOID, HALVES = ("i", "f", "o", "c"), 3, True

    def allocate(self, N, T, dtype):
        w = super().allocate(N, T, dtype)
        w["tc"], w["dc"] = np.empty((T, N, self.H), dtype), np.empty((N, self.H), dtype)
        return w

    def steps(self) -> None:
        if self.packed is None:
            return super().steps()
        w = self.w
        self.loops.lstm_forward(self.is32, w["G"], w["h"], w["c"], w["tc"], self.packed[0],
                                self.one)

    def steps_back(self, dh: Array, dA_seq: Array | None) -> None:
        if self.packed is None:
            return super().steps_back(dh, dA_seq)
        w = self.w
        self.loops.lstm_backward(self.is32, dh, w["dc"], self.no_seq if dA_seq is None else dA_seq,
                                 w["G"], w["c"], w["tc"], w["dZ"], self.packed[1], self.one)

    def step(self, t: int) -> None:
        w = self.w
        G = w["G"][t]
        G += w["h"][t] @ self.Wh  # every gate's z (σ gates' halved) in one product
        np.tanh(G, out=G)
        self.cells["lstm_cell"](G, w["c"][t], w["c"][t + 1], self.one)
        tc = np.tanh(w["c"][t + 1], out=w["tc"][t])
        np.multiply(G[:, 2 * self.H:3 * self.H], tc, out=w["h"][t + 1])  # hₜ = oₜ ⊙ tanh(cₜ)

    def step_back(self, t: int, dh: Array) -> None:
        w = self.w
        self.cells["lstm_back"](dh, w["dc"], w["G"][t], w["c"][t], w["tc"][t], w["dZ"][t],
                                self.one)
        np.matmul(w["dZ"][t], self.Wh_rows, out=dh)  # Σ W_h·ᵀ δ·ₜ for step t − 1


class GRUKernel(Kernel):
    """GRU: gates stacked r, u, n (:func:`mlplab.accel.rnn_cells.gru_mix`, ``gru_state``)."""

    ORDER, SIGMOID, HALVES = ("r", "u", "n"), 2, True

    def allocate(self, N, T, dtype):
        w = super().allocate(N, T, dtype)
        w["Zh"] = np.empty((T, N, 3 * self.H), dtype)  # W_h· hₜ₋₁ (+ b_hn): hn is kept
        w["dZh"] = np.empty((T, N, 3 * self.H), dtype)
        return w

    STACKED = Kernel.STACKED + ("bh",)

    def pack(self, dtype) -> None:
        super().pack(dtype)
        self.bh = np.zeros(3 * self.H, dtype)
        self.bh[2 * self.H:] = self.layer.b_hn  # b_hn stays inside the reset gate's product

    def steps(self) -> None:
        if self.packed is None:
            return super().steps()
        w = self.w
        self.loops.gru_forward(self.is32, w["G"], w["Zh"], w["h"], self.packed[0], self.bh,
                               self.one)

    def steps_back(self, dh: Array, dA_seq: Array | None) -> None:
        if self.packed is None:
            return super().steps_back(dh, dA_seq)
        w = self.w
        self.loops.gru_backward(self.is32, dh, w["tmp"], self.no_seq if dA_seq is None else dA_seq,
                                w["G"], w["Zh"], w["h"], w["dZ"], w["dZh"], self.packed[1],
                                self.one)

    def step(self, t: int) -> None:
        w, H = self.w, self.H
        G, Zh = w["G"][t], w["Zh"][t]
        np.matmul(w["h"][t], self.Wh, out=Zh)
        Zh += self.bh
        ru = G[:, :2 * H]
        ru += Zh[:, :2 * H]
        np.tanh(ru, out=ru)
        self.cells["gru_mix"](G, Zh[:, 2 * H:], self.one)
        np.tanh(G[:, 2 * H:], out=G[:, 2 * H:])  # nₜ
        self.cells["gru_state"](G, w["h"][t], w["h"][t + 1], self.one)

    def step_back(self, t: int, dh: Array) -> None:
        w, H = self.w, self.H
        self.cells["gru_back"](dh, w["G"][t], w["Zh"][t][:, 2 * H:], w["h"][t], w["dZ"][t],
                               w["dZh"][t], w["tmp"], self.one)
        np.matmul(w["dZh"][t], self.Wh_rows, out=dh)
        dh += w["tmp"]  # ∂C/∂hₜ₋₁ = dh ⊙ uₜ + Σ W_h·ᵀ δ·ₜ

    def give_gradients(self, grads: dict) -> None:
        super().give_gradients(grads)
        self.layer.db_hn = grads["db_h"][2 * self.H:]


KERNELS = {SimpleRNN: RNNKernel, LSTM: LSTMKernel, GRU: GRUKernel}
