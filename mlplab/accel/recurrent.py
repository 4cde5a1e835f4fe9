"""Recurrent layers on NumPy: the core's BPTT (:mod:`mlplab.core.layers.recurrent`), faster.

Each SimpleRNN, LSTM and GRU of a network on NumPy is replaced, for one ``fit`` (or one
``predict``), by a *kernel*: an object keeping the layer contract (``forward``, ``backward``,
``params``, ``grads``) that computes the same numbers (tests/test_accel_recurrent.py compares
them with the core's) as follows:

- the gates' weights are stacked once per training step, the gates side by side:
  ``W_x`` ``(n_in, G·H)`` and ``W_h`` ``(H, G·H)`` for the forward (sigmoid gates' columns
  pre-scaled by ½, see :mod:`mlplab.accel.rnn_cells`), their unscaled row stacks for the
  backward;
- the input projection ``W_x xₜ + b`` of every step is one matrix product before the loop
  (``(T·N, n_in) @ (n_in, G·H)``), so a step's own product is only ``hₜ₋₁ @ W_h``: one fused
  gate product per step, not one per gate;
- every step's values live in arrays laid out time-major, ``(T, N, ·)``, allocated once per
  batch size and reused batch after batch;
- the gradients of ``W_x``, ``W_h`` and ``b`` are each one product over all steps
  (``Σₜ δₜ hₜ₋₁ᵀ`` as ``(G·H, T·N) @ (T·N, H)``), written into stacked arrays whose row
  blocks *are* the layer's ``dW_xi``, ``dW_hi``, … (views, no copy);
- with two cores and T ≥ 20, those products (and the input projection) go by chunks of
  :data:`CHUNK` steps to a second thread while the step-by-step loop goes on, BLAS on one
  thread in each: the loop's small products and the big ones run side by side;
- the gate arithmetic of a step is one compiled loop with numba installed
  (:mod:`mlplab.accel.rnn_cells`), NumPy otherwise.

Other layers (the Dense or TimeDense head, a Dropout) run their core code. A recurrent layer
with ``mask_value`` (padding) runs the core's loop: the accelerator does not apply.
"""

from __future__ import annotations

import copy
import os

import numpy as np

from ..core.layers import GRU, LSTM, SimpleRNN
from ..core.layers.recurrent import Recurrent
from ..core.step import Step
from ..core.validation import check_finite
from . import blas, rnn_cells
from .kernels import DELTA_INTO, G_INTO

Array = np.ndarray
BLOCK_ROWS = 256  # predict: sequences per block (a block's per-step arrays stay small)
OVERLAP = True  # False: every product on the calling thread (tests, benchmarks)
CHUNK = 10  # steps per chunk of products handed to the second core
_state: dict = {}  # the second core's thread, the BLAS thread controller (made on first use)


def overlaps(T: int) -> bool:
    """True when a training step of T steps hands products to a second core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return OVERLAP and T >= 2 * CHUNK and (cores or 1) >= 2


def _pool():
    if "pool" not in _state:
        from concurrent.futures import ThreadPoolExecutor

        _state["pool"] = ThreadPoolExecutor(1, thread_name_prefix="mlplab-recurrent")
    return _state["pool"]


def one_blas_thread():
    """A context in which BLAS uses one thread (with the second thread of a step: a core
    each, instead of four threads fighting for two)."""
    if "blas" not in _state:
        from threadpoolctl import ThreadpoolController

        _state["blas"] = ThreadpoolController()
    return _state["blas"].limit(limits=1, user_api="blas")


def _add_product(alpha: float, D: Array, A: Array, C: Array) -> None:
    """``C += alpha · Dᵀ A`` (BLAS's gemm with β = 1; NumPy where that is not bound)."""
    if not blas.gemm_update(alpha, D, A, C):
        C += alpha * (D.T @ A)


class Kernel:
    """The layer contract for one recurrent layer, computed with stacked, reused arrays.

    Subclasses give ``ORDER`` (the layer's gate names in stacked order, sigmoid gates first),
    ``SIGMOID`` (how many of them are sigmoid gates), ``step(t)`` and ``step_back(t, dh)``.
    """

    ORDER: tuple[str, ...] = ("",)
    SIGMOID = 0

    def __init__(self, layer: Recurrent):
        self.layer, self.H = layer, layer.n_hidden
        self.cells = rnn_cells.cells()
        self.overlap = False  # this step's products shared with a second core
        self._work: dict[tuple, dict[str, Array]] = {}
        self.out_shape = layer.out_shape

    # ------------------------------------------------------------------ contract
    @property
    def params(self) -> list[Array]:
        return self.layer.params

    @property
    def grads(self) -> list[Array]:
        return self.layer.grads

    def clear(self) -> None:
        self._work.clear()

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        N, T, _ = A_prev.shape
        w = self.w = self._arrays(N, T, A_prev.dtype)
        self.pack(A_prev.dtype)
        np.copyto(w["X"], A_prev.transpose(1, 0, 2))  # time-major: step t is w["X"][t]
        self.overlap = training and overlaps(T)
        # W_x xₜ + b for all t at once, or the first chunk here and the others on the second core
        self.project(w, 0, CHUNK if self.overlap else T)
        later = [_pool().submit(self.project, w, t, t + CHUNK)
                 for t in range(CHUNK, T, CHUNK)] if self.overlap else []
        self.initial_state(w, A_prev.dtype)
        for t in range(T):
            if later and t % CHUNK == 0 and t:
                later[t // CHUNK - 1].result()
            self.step(t)
        self.layer.state = tuple(w[s][T].copy() for s in self.layer.STATES)
        H = w["h"]
        return H[1:].transpose(1, 0, 2) if self.layer.return_sequences else H[T]

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        w, layer = self.w, self.layer
        T, N = w["X"].shape[:2]
        dh = w["dh"]
        dh[...] = 0  # nothing comes back from step T + 1
        if "dc" in w:
            w["dc"][...] = 0
        grads = self.zero_gradients(w["X"].dtype)
        done, pending = T, []
        for t in range(T - 1, -1, -1):
            if layer.return_sequences:
                dh += dA[:, t]  # W_hᵀ δₜ₊₁ + ∂C/∂hₜ
            elif t == T - 1:
                dh += dA
            self.step_back(t, dh)  # δₜ into w["dZ"][t], dh becomes ∂C/∂hₜ₋₁
            if self.overlap and t % CHUNK == 0:  # the chunk's gradient products: second core
                pending.append(_pool().submit(self.accumulate, w, grads, t, done))
                done = t
        if not self.overlap:
            self.accumulate(w, grads, 0, T)  # one product each over all steps
        for job in pending:
            job.result()
        self.give_gradients(grads)
        if not need_dA_prev:
            return None
        dX = w["dZ"].reshape(T * N, -1) @ self.Wx_rows  # W_xᵀ δₜ for every t in one product
        return dX.reshape(T, N, -1).transpose(1, 0, 2)

    # ------------------------------------------------------------------ helpers
    def _arrays(self, N: int, T: int, dtype) -> dict[str, Array]:
        """The per-step arrays for batches of N sequences of T steps (two sizes kept)."""
        key = (N, T, np.dtype(dtype))
        w = self._work.get(key)
        if w is None:
            if len(self._work) >= 2:
                self._work.pop(next(iter(self._work)))
            w = self._work[key] = self.allocate(N, T, dtype)
        return w

    def allocate(self, N: int, T: int, dtype) -> dict[str, Array]:
        H, GH = self.H, len(self.ORDER) * self.H
        w = {"X": np.empty((T, N, self.layer.n_in), dtype), "G": np.empty((T, N, GH), dtype),
             "dZ": np.empty((T, N, GH), dtype), "dh": np.empty((N, H), dtype),
             "tmp": np.empty((N, H), dtype), "ones/m": np.full(T * N, 1 / N, dtype)}
        for s in self.layer.STATES:
            w[s] = np.empty((T + 1, N, H), dtype)  # w["h"][t + 1] is hₜ; [0] the initial state
        return w

    def initial_state(self, w: dict, dtype) -> None:
        given = self.layer.initial_state
        if given is not None and not isinstance(given, tuple):
            given = (given,)
        for k, s in enumerate(self.layer.STATES):
            w[s][0] = 0 if given is None else np.asarray(given[k], dtype)

    def pack(self, dtype) -> None:
        """Stack the gates' weights (see the module docstring); sigmoid gates' forward
        columns scaled by ½."""
        layer, H = self.layer, self.H
        self.one = np.dtype(dtype).type(1)
        rows = [getattr(layer, f"W_x{g}") for g in self.ORDER]
        self.Wx_rows = np.concatenate(rows).astype(dtype, copy=False)  # (G·H, n_in)
        self.Wh_rows = np.concatenate([getattr(layer, f"W_h{g}") for g in self.ORDER]
                                      ).astype(dtype, copy=False)
        scale = np.ones(len(self.ORDER) * H, dtype)
        scale[:self.SIGMOID * H] = 0.5
        self.Wx = np.ascontiguousarray(self.Wx_rows.T) * scale  # (n_in, G·H)
        self.Wh = np.ascontiguousarray(self.Wh_rows.T) * scale  # (H, G·H)
        self.b = np.concatenate([getattr(layer, f"b_{g}" if g else "b")
                                 for g in self.ORDER]).astype(dtype, copy=False) * scale

    def project(self, w: dict, t0: int, t1: int) -> None:
        """``W_x xₜ + b`` for the steps t0 … t1 − 1, in one product."""
        G2 = w["G"][t0:t1].reshape(-1, w["G"].shape[2])
        np.matmul(w["X"][t0:t1].reshape(len(G2), -1), self.Wx, out=G2)
        G2 += self.b

    def zero_gradients(self, dtype) -> dict[str, Array]:
        """The stacked gradient arrays, zeroed: ``dW_x`` (G·H, n_in), ``dW_h`` (G·H, H),
        ``db`` and ``db_h`` (G·H,); kept from step to step (the layer's arrays are views)."""
        GH, grads = len(self.ORDER) * self.H, getattr(self, "_grads", None)
        if grads is None or grads["dW_x"].dtype != dtype:
            grads = self._grads = {"dW_x": np.empty((GH, self.layer.n_in), dtype),
                                   "dW_h": np.empty((GH, self.H), dtype),
                                   "db": np.empty(GH, dtype), "db_h": np.empty(GH, dtype)}
        for g in grads.values():
            g[...] = 0
        blas.available()  # bound here, before a second thread may call it
        return grads

    def accumulate(self, w: dict, grads: dict, t0: int, t1: int) -> None:
        """Add the steps t0 … t1 − 1 to ∂C/∂W_x, ∂C/∂W_h, ∂C/∂b: ``Σₜ δₜxₜᵀ``, ``Σₜ δₜhₜ₋₁ᵀ``,
        ``Σₜ δₜ``, one product each, means over the N sequences (``dZh``: δ as W_h sees it,
        the GRU's differs in the candidate's block)."""
        N = w["X"].shape[1]
        dZ = w["dZ"][t0:t1].reshape(-1, w["dZ"].shape[2])
        dZh = w["dZh"][t0:t1].reshape(dZ.shape) if "dZh" in w else dZ
        ones = w["ones/m"][:len(dZ)]
        with np.errstate(over="ignore", invalid="ignore"):  # NaN/inf: the guard's to report
            _add_product(1 / N, dZ, w["X"][t0:t1].reshape(len(dZ), -1), grads["dW_x"])
            _add_product(1 / N, dZh, w["h"][t0:t1].reshape(len(dZ), -1), grads["dW_h"])
            grads["db"] += ones @ dZ
            if dZh is not dZ:
                grads["db_h"] += ones @ dZh

    def give_gradients(self, grads: dict) -> None:
        """The layer's ``dW_x·``, ``dW_h·``, ``db_·``: row blocks of the stacked arrays."""
        layer, H = self.layer, self.H
        for k, g in enumerate(self.ORDER):
            block = slice(k * H, (k + 1) * H)
            setattr(layer, f"dW_x{g}", grads["dW_x"][block])
            setattr(layer, f"dW_h{g}", grads["dW_h"][block])
            setattr(layer, "db_" + g if g else "db", grads["db"][block])


class RNNKernel(Kernel):
    """SimpleRNN: ``hₜ = g(zₜ)``, ``δₜ = dh ⊙ g′(zₜ)`` with the core's elementwise kernels."""

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

    ORDER, SIGMOID = ("i", "f", "o", "c"), 3

    def allocate(self, N, T, dtype):
        w = super().allocate(N, T, dtype)
        w["tc"], w["dc"] = np.empty((T, N, self.H), dtype), np.empty((N, self.H), dtype)
        return w

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

    ORDER, SIGMOID = ("r", "u", "n"), 2

    def allocate(self, N, T, dtype):
        w = super().allocate(N, T, dtype)
        w["Zh"] = np.empty((T, N, 3 * self.H), dtype)  # W_h· hₜ₋₁ (+ b_hn): hn is kept
        w["dZh"] = np.empty((T, N, 3 * self.H), dtype)
        return w

    def pack(self, dtype) -> None:
        super().pack(dtype)
        self.bh = np.zeros(3 * self.H, dtype)
        self.bh[2 * self.H:] = self.layer.b_hn  # b_hn stays inside the reset gate's product

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


def applies(net) -> bool:
    """True for a network on NumPy with recurrent layers this module computes (exactly
    SimpleRNN, LSTM or GRU, without ``mask_value``)."""
    recurrent = [layer for layer in net.layers if isinstance(layer, Recurrent)]
    return (net.place.is_numpy and bool(recurrent)
            and all(type(layer) in KERNELS and layer.mask_value is None for layer in recurrent))


def kernel_network(net):
    """A shallow copy of ``net`` whose recurrent layers are kernels (the others are shared)."""
    fast = copy.copy(net)
    fast.layers = [KERNELS[type(layer)](layer) if type(layer) in KERNELS else layer
                   for layer in net.layers]
    return fast


class RecurrentStep(Step):
    """The core's training step (:class:`mlplab.core.step.Step`) on the kernel network."""

    def __init__(self, run):
        super().__init__(kernel_network(run.net), run.optimizer, run.X, run.Y, run.batch_size,
                         run.callbacks.on_gradients_caller(run.trainer),
                         run.guard.cost_checker(run.trainer))
        self.name = f"numpy-recurrent+{rnn_cells.name()}"

    def __call__(self, Xb: Array, Yb: Array):
        # BLAS on one thread: a step's many small products gain nothing from a second BLAS
        # thread (measured: the products alone 7.25 ms with one, 7.12 with two) and lose 2×
        # when the machine is busy; the second core, if any, takes the big products instead
        with one_blas_thread():
            return super().__call__(Xb, Yb)

    def snapshot(self) -> list[Array]:
        return [p.copy() for p in self.net.params]

    def close(self) -> None:
        for layer in self.net.layers:
            layer.clear()


def step_for(run) -> RecurrentStep | None:
    """A :class:`RecurrentStep` when ``run`` trains a recurrent network on NumPy, else None."""
    return RecurrentStep(run) if applies(run.net) else None


def predict(net, X: Array) -> Array | None:
    """``a⁽ᴸ⁾`` for the sequences of ``X`` (checked, on NumPy, not yet for NaN/inf) in blocks
    of :data:`BLOCK_ROWS`, or None when this module does not apply to ``net``."""
    if not applies(net):
        return None
    check_finite(X)
    fast = kernel_network(net)
    recurrent = [layer for layer in net.layers if isinstance(layer, Recurrent)]
    given = any(layer.initial_state is not None for layer in recurrent)
    rows = len(X) if given else BLOCK_ROWS  # an initial state per row: one block
    out, states = [], []
    for i in range(0, len(X), rows):
        out.append(fast.forward(X[i:i + rows]).copy())
        states.append([layer.state for layer in recurrent])
    for k, layer in enumerate(recurrent):  # the last state of every row, as the core leaves it
        layer.state = tuple(np.concatenate(parts) for parts in zip(*(s[k] for s in states)))
    return out[0] if len(out) == 1 else np.concatenate(out)
