"""The base of the recurrent accelerator's kernels (:mod:`mlplab.accel.recurrent` says what
they compute and how): one :class:`Kernel` per recurrent layer keeps the layer contract
(``forward``, ``backward``, ``params``, ``grads``) with stacked weights and reused time-major
arrays. Subclasses (:mod:`mlplab.accel.rnn_kernels`) give each cell's steps.

With a worker thread (:func:`mlplab.accel.handoff.worker`; the step sets it for the cells whose
``HALVES`` measured faster, where BLAS has two threads and the compiled loops run), a batch
is trained as two halves of its sequences, one per thread: each half has a kernel of its own
(its arrays, ``W_h`` packed for its rows, MKL on one thread) that runs the forward and the
backward of its sequences, loops and products alike, on data that stays in its core's cache;
the gradients of the halves (means over the whole batch) are summed, their outputs and
``∂C/∂x`` joined. The same numbers every run.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..core.layers.recurrent import Recurrent
from . import blas, products, rnn_cells
from .threads import one_blas_thread_limiter

Array = np.ndarray
_limiter: list = []  # one_blas_thread_limiter's callable, made on first use (once a process)


def one_blas_thread():
    """One BLAS thread for the NumPy steps' small products (the products over all steps at
    once use every thread): :func:`mlplab.accel.threads.one_blas_thread_limiter`'s."""
    if not _limiter:
        _limiter.append(one_blas_thread_limiter())
    return _limiter[0]()


def _add_sum(alpha: float, D: Array, ones: Array, c: Array, lib=None) -> None:
    """``c += alpha · onesᵀ D`` (``lib``'s gemv; NumPy's where that is not bound)."""
    if not blas.gemv_update(alpha, D, ones, c, lib=lib):
        c += alpha * (ones @ D)


def _add_product(alpha: float, D: Array, A: Array, C: Array, lib=None) -> None:
    """``C += alpha · Dᵀ A`` (BLAS's gemm with β = 1, ``lib``'s or NumPy's; NumPy where that
    is not bound)."""
    if not blas.gemm_update(alpha, D, A, C, lib=lib):
        C += alpha * (D.T @ A)


class Kernel:
    """The layer contract for one recurrent layer, computed with stacked, reused arrays.

    Subclasses give ``ORDER`` (the layer's gate names in stacked order, sigmoid gates first),
    ``SIGMOID`` (how many of them are sigmoid gates), ``step(t)`` and ``step_back(t, dh)``.
    """

    ORDER: tuple[str, ...] = ("",)
    SIGMOID = 0
    HALVES = False  # whether a batch in two halves on two threads measured faster (see above)
    STACKED = ("Wx_rows", "Wx", "Wh_rows", "Wh", "b", "one", "_stacked")  # what pack makes
    lib = None  # the BLAS of the products over all steps (set by the step: products.for_fit)
    worker = None  # the thread for a batch's second half (set by the step), or None
    batch = None  # a half's: the whole batch's size (its gradients are means over it)
    rows = slice(None)  # a half's: its rows of the batch (of a given initial state)
    halves = None  # this batch's two half kernels, or None (the batch at once)

    def __init__(self, layer: Recurrent):
        self.layer, self.H = layer, layer.n_hidden
        self.cells = rnn_cells.cells()
        # the compiled time loops (mlplab.accel._rnnloops) where they compute this layer, or None
        self.loops = rnn_cells.loops() if self.looped() else None
        self._packed: dict[tuple, object] = {}
        self.packed = None  # W_h and its row stack packed by MKL for this batch (a list), or None
        self._work: dict[tuple, dict[str, Array]] = {}
        self.out_shape = layer.out_shape

    # ------------------------------------------------------------------ contract
    @property
    def params(self) -> list[Array]:
        return self.layer.params

    @property
    def grads(self) -> list[Array]:
        return self.layer.grads

    def looped(self) -> bool:
        """Whether the compiled loops compute this layer (subclasses: not every activation)."""
        return True

    def clear(self) -> None:
        self._work.clear()
        self._packed.clear()
        self.halves = self._kept_halves = None
        self._kept_joined = {}

    def loop_threads(self):
        """The compiled loops' MKL on one thread (:meth:`mlplab.accel.mkl.Binding.one_thread`)."""
        return self.mkl.one_thread() if self.packed else contextlib.nullcontext()

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.pack(A_prev.dtype)
        N, dtype = len(A_prev), np.dtype(A_prev.dtype)
        self.halves = None
        if self.worker is not None and N >= 2 and self.loops is not None and \
                dtype in (np.float32, np.float64):
            return self._forward_halves(A_prev)
        return self._forward(A_prev)

    def _forward(self, A_prev: Array) -> Array:
        """The forward of the sequences ``A_prev`` with the weights as :meth:`pack` made them."""
        N, T, _ = A_prev.shape
        w = self.w = self._arrays(N, T, A_prev.dtype)
        self.pack_for_loops(N, A_prev.dtype)
        np.copyto(w["X"], A_prev.transpose(1, 0, 2))  # time-major: step t is w["X"][t]
        self.project(w)  # W_x xₜ + b for all t at once
        self.initial_state(w, A_prev.dtype)
        with self.loop_threads():
            self.steps()
        if self.batch is None:  # (a half's are joined by the whole batch's kernel)
            self.layer.state = tuple(w[s][T].copy() for s in self.layer.STATES)
        H = w["h"]
        return H[1:].transpose(1, 0, 2) if self.layer.return_sequences else H[T]

    def _forward_halves(self, A_prev: Array) -> Array:
        """Each half of the sequences on its own thread (see the module docstring)."""
        N, T = A_prev.shape[:2]
        cut = N // 2
        halves = self.halves = self._halves()
        for half, rows in zip(halves, (slice(0, cut), slice(cut, N))):
            half.batch, half.rows = N, rows
            for name in self.STACKED:  # the weights stacked once, for both
                setattr(half, name, getattr(self, name))
        out = self._both(lambda half: half._forward(A_prev[half.rows]))
        self.layer.state = tuple(np.concatenate([half.w[s][T] for half in halves])
                                 for s in self.layer.STATES)
        return self._joined("out", out)

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        if self.halves is None:
            dX = self._backward(dA, need_dA_prev)
            self.give_gradients(self._grads)
            return dX
        dX = self._both(lambda half: half._backward(dA[half.rows], need_dA_prev))
        grads = self.zero_gradients(dA.dtype)
        for name, g in grads.items():  # the halves' sums over their rows, each /N: the mean
            np.add(self.halves[0]._grads[name], self.halves[1]._grads[name], out=g)
        self.give_gradients(grads)
        return None if dX[0] is None else self._joined("dX", dX)

    def _halves(self) -> list:
        """The two kernels of the halves (kept: their arrays are reused batch after batch)."""
        if getattr(self, "_kept_halves", None) is None:
            self._kept_halves = [type(self)(self.layer) for _ in range(2)]
            for half in self._kept_halves:
                half.lib = self.lib
        return self._kept_halves

    def _both(self, run) -> list:
        """``[run(first half), run(second half)]``, the second on the worker, each with MKL on
        one thread; the worker's task has ended when this returns or raises."""
        from .mkl import binding

        def on_one_thread(half):
            with binding().one_thread():
                return run(half)

        task = self.worker.submit(on_one_thread, self.halves[1])
        try:
            first = on_one_thread(self.halves[0])
        except BaseException:
            task.wait()  # ended before the error goes on (the worker's own, if any, dropped)
            raise
        return [first, task.result()]

    def _joined(self, name: str, parts: list) -> Array:
        """The halves' ``parts`` one after the other along the batch, in an array kept."""
        shape = (len(parts[0]) + len(parts[1]),) + parts[0].shape[1:]
        key = (name, shape, parts[0].dtype.str)
        kept = getattr(self, "_kept_joined", {})
        if key not in kept:
            kept = self._kept_joined = {k: v for k, v in kept.items() if k[0] != name}
            kept[key] = np.empty(shape, parts[0].dtype)
        return np.concatenate(parts, out=kept[key])

    def _backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        """The backward of the sequences of the last :meth:`_forward`, the gradients into
        ``self._grads`` (:meth:`zero_gradients`)."""
        w, layer = self.w, self.layer
        T, N = w["X"].shape[:2]
        dh = w["dh"]
        dh[...] = 0  # nothing comes back from step T + 1
        if "dc" in w:
            w["dc"][...] = 0
        grads = self.zero_gradients(w["X"].dtype)
        if not layer.return_sequences:
            dh += dA  # ∂C/∂h_T; a layer returning every state adds ∂C/∂hₜ at each t
        # δₜ into w["dZ"][t] for t = T − 1 … 0; dh becomes ∂C/∂h₋₁
        with self.loop_threads():
            self.steps_back(dh, dA if layer.return_sequences else None)
        self.accumulate(w, grads)  # one product each over all steps
        if not need_dA_prev:
            return None
        dZ = w["dZ"].reshape(T * N, -1)
        dX = np.empty((len(dZ), self.Wx_rows.shape[1]), dZ.dtype)
        products.matmul(dZ, self.Wx_rows, dX, self.lib)  # W_xᵀ δₜ for every t in one product
        return dX.reshape(T, N, -1).transpose(1, 0, 2)

    def steps(self) -> None:
        """The forward steps t = 0 … T − 1 (subclasses: the compiled loop where it applies)."""
        with one_blas_thread():
            for t in range(len(self.w["G"])):
                self.step(t)

    def steps_back(self, dh: Array, dA_seq: Array | None) -> None:
        """The backward steps t = T − 1 … 0: ``dh`` is ∂C/∂h_{T − 1} without ``dA_seq``'s part
        on entry, ∂C/∂h₋₁ on exit (subclasses: the compiled loop where it applies)."""
        with one_blas_thread():
            for t in range(len(self.w["G"]) - 1, -1, -1):
                if dA_seq is not None:
                    dh += dA_seq[:, t]  # W_hᵀ δₜ₊₁ + ∂C/∂hₜ
                self.step_back(t, dh)  # δₜ into w["dZ"][t], dh becomes ∂C/∂hₜ₋₁

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
             "tmp": np.empty((N, H), dtype), "ones": np.ones(T * N, dtype)}
        for s in self.layer.STATES:
            w[s] = np.empty((T + 1, N, H), dtype)  # w["h"][t + 1] is hₜ; [0] the initial state
        return w

    def initial_state(self, w: dict, dtype) -> None:
        given = self.layer.checked_initial_state(self.batch or len(w[self.layer.STATES[0]][0]))
        for k, s in enumerate(self.layer.STATES):
            value = 0 if given is None else np.asarray(given[k], dtype)
            if np.ndim(value) == 2:  # a half: its rows of the whole batch's (broadcast) state
                value = np.broadcast_to(value, (self.batch or len(w[s][0]), self.H))[self.rows]
            w[s][0] = value

    def pack(self, dtype) -> None:
        """Stack the gates' weights (see the module docstring) into arrays kept from step to
        step; sigmoid gates' forward columns scaled by ½ (exact: a power of two)."""
        layer, H, dtype = self.layer, self.H, np.dtype(dtype)
        self.one = dtype.type(1)
        if getattr(self, "_stacked", "") != dtype.str:  # (np.dtype(None) is float64)
            GH, n_in = len(self.ORDER) * H, layer.n_in
            self.Wx_rows, self.Wx = np.empty((GH, n_in), dtype), np.empty((n_in, GH), dtype)
            self.Wh_rows, self.Wh = np.empty((GH, H), dtype), np.empty((H, GH), dtype)
            self.b, self._stacked = np.empty(GH, dtype), dtype.str
        for k, g in enumerate(self.ORDER):
            block, scale = slice(k * H, (k + 1) * H), 0.5 if k < self.SIGMOID else 1.0
            W_x, W_h = getattr(layer, f"W_x{g}"), getattr(layer, f"W_h{g}")
            self.Wx_rows[block], self.Wh_rows[block] = W_x, W_h  # (G·H, n_in), (G·H, H)
            np.multiply(W_x.T, scale, out=self.Wx[:, block])  # (n_in, G·H)
            np.multiply(W_h.T, scale, out=self.Wh[:, block])  # (H, G·H)
            np.multiply(getattr(layer, f"b_{g}" if g else "b"), scale, out=self.b[block])

    def pack_for_loops(self, N: int, dtype) -> None:
        """For the compiled loops: ``W_h`` and its row stack packed by MKL for N rows (the
        buffers kept, re-packed each step as the weights change); float32/float64 only."""
        if self.loops is None or np.dtype(dtype) not in (np.float32, np.float64):
            self.packed = None
            return
        from .mkl import Packed, binding

        self.mkl, self.packed = binding(), []
        with self.mkl.one_thread():  # a copy of W_h: waking MKL's threads costs more
            for name in ("Wh", "Wh_rows"):
                B, key = getattr(self, name), (name, N, np.dtype(dtype))
                if key in self._packed:
                    self._packed[key].pack(B)
                else:
                    self._packed[key] = Packed(self.mkl, B, N)
                self.packed.append(self._packed[key].buffer)
        self.is32 = np.dtype(dtype) == np.float32
        self.no_seq = np.empty((N, 0, self.H), dtype)  # dA_seq for "none" in compiled code

    def project(self, w: dict) -> None:
        """``W_x xₜ + b`` for every step, in one product."""
        G2 = w["G"].reshape(-1, w["G"].shape[2])
        products.matmul(w["X"].reshape(len(G2), -1), self.Wx, G2, self.lib)
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
        return grads

    def accumulate(self, w: dict, grads: dict) -> None:
        """Add every step to ∂C/∂W_x, ∂C/∂W_h, ∂C/∂b: ``Σₜ δₜxₜᵀ``, ``Σₜ δₜhₜ₋₁ᵀ``,
        ``Σₜ δₜ``, one product each, means over the N sequences (``dZh``: δ as W_h sees it,
        the GRU's differs in the candidate's block)."""
        N = self.batch or w["X"].shape[1]  # a half's: the whole batch's
        dZ = w["dZ"].reshape(-1, w["dZ"].shape[2])
        dZh = w["dZh"].reshape(dZ.shape) if "dZh" in w else dZ
        ones = w["ones"][:len(dZ)]
        with np.errstate(over="ignore", invalid="ignore"):  # NaN/inf: the guard's to report
            _add_product(1 / N, dZ, w["X"].reshape(len(dZ), -1), grads["dW_x"], self.lib)
            _add_product(1 / N, dZh, w["h"][:-1].reshape(len(dZ), -1), grads["dW_h"], self.lib)
            _add_sum(1 / N, dZ, ones, grads["db"], self.lib)
            if dZh is not dZ:
                _add_sum(1 / N, dZh, ones, grads["db_h"], self.lib)

    def give_gradients(self, grads: dict) -> None:
        """The layer's ``dW_x·``, ``dW_h·``, ``db_·``: row blocks of the stacked arrays."""
        layer, H = self.layer, self.H
        for k, g in enumerate(self.ORDER):
            block = slice(k * H, (k + 1) * H)
            setattr(layer, f"dW_x{g}", grads["dW_x"][block])
            setattr(layer, f"dW_h{g}", grads["dW_h"][block])
            setattr(layer, "db_" + g if g else "db", grads["db"][block])
