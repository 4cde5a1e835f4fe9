"""The base of the recurrent accelerator's kernels (:mod:`mlplab.accel.recurrent` says what
they compute and how): one :class:`Kernel` per recurrent layer keeps the layer contract
(``forward``, ``backward``, ``params``, ``grads``) with stacked weights and reused time-major
arrays. Subclasses (:mod:`mlplab.accel.rnn_kernels`) give each cell's steps.

With a worker (:func:`worker`, one thread a process, set by the step for the cells whose
``PIPELINE`` measured faster), the compiled loops share the second core with it: the forward
loop runs the first half of the sequences while the worker runs the second (each with
``W_h`` packed for its rows); the backward loop runs chunk by chunk (:data:`CHUNK` steps)
and hands each chunk's products over its steps to the worker, but for the last chunks
(:data:`OWN_SHARE`), which the loop's thread adds into a second set of arrays once its loop is
done (the worker, whose products read what the other core wrote, is the slower of the two).
Which thread adds which chunk is fixed, so a fit gives the same numbers every run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading

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


CHUNK = 10  # time steps a chunk: the loop's share, handed to the worker between chunks
OWN_SHARE = 0.2  # of the chunks' products, the last ones the loop's thread makes itself
_workers: dict[int, concurrent.futures.ThreadPoolExecutor] = {}  # process id: the worker
_workers_lock = threading.Lock()


def worker() -> concurrent.futures.ThreadPoolExecutor:
    """The process's one worker thread for the products over a chunk of steps (made on first
    use; a forked child makes its own: the parent's thread is not in it)."""
    with _workers_lock:
        pool = _workers.get(os.getpid())
        if pool is None:
            _workers.clear()
            pool = _workers[os.getpid()] = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="mlplab-recurrent")
        return pool


def _chunks(T: int) -> list[tuple[int, int]]:
    """Steps 0 … T − 1 in chunks of :data:`CHUNK`: ``[(t0, t1), …]``."""
    return [(t0, min(t0 + CHUNK, T)) for t0 in range(0, T, CHUNK)]


def _add_product(alpha: float, D: Array, A: Array, C: Array, lib=None) -> None:
    """``C += alpha · Dᵀ A`` (BLAS's gemm with β = 1, ``lib``'s or NumPy's; NumPy where that
    is not bound)."""
    if not blas.gemm_update(alpha, D, A, C, lib=lib):
        C += alpha * (D.T @ A)


def _add_sum(D: Array, ones: Array, c: Array, lib=None) -> None:
    """``c += onesᵀ D`` (the rows' weighted sum; ``lib``'s gemv, NumPy's where not bound)."""
    if not blas.gemv_update(1.0, D, ones, c, lib=lib):
        c += ones @ D


class Kernel:
    """The layer contract for one recurrent layer, computed with stacked, reused arrays.

    Subclasses give ``ORDER`` (the layer's gate names in stacked order, sigmoid gates first),
    ``SIGMOID`` (how many of them are sigmoid gates), ``step(t)`` and ``step_back(t, dh)``.
    """

    ORDER: tuple[str, ...] = ("",)
    SIGMOID = 0
    PIPELINE = False  # whether a worker thread shares the steps (measured faster for the cell)
    lib = None  # the BLAS of the products over all steps (set by the step: products.for_fit)
    worker = None  # the thread sharing the steps (set by the step where PIPELINE), or None
    halves = False  # this batch: the worker runs half of the sequences' forward steps

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

    def loop_threads(self):
        """The compiled loops' MKL on one thread (:meth:`mlplab.accel.mkl.Binding.one_thread`)."""
        return self.mkl.one_thread() if self.packed else contextlib.nullcontext()

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        N, T, _ = A_prev.shape
        w = self.w = self._arrays(N, T, A_prev.dtype)
        self.pack(A_prev.dtype)
        self.pack_for_loops(N, A_prev.dtype)
        np.copyto(w["X"], A_prev.transpose(1, 0, 2))  # time-major: step t is w["X"][t]
        self.initial_state(w, A_prev.dtype)
        self.project(w)  # W_x xₜ + b for all t at once
        if self.halves:  # the worker runs the second half of the sequences beside
            future = self.worker.submit(self._steps_on_worker, slice(N // 2, N), self.packed[2])
            with _waiting_for([future]), self.loop_threads():
                self.steps(slice(0, N // 2))
        else:
            with self.loop_threads():
                self.steps()
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
        if not layer.return_sequences:
            dh += dA  # ∂C/∂h_T; a layer returning every state adds ∂C/∂hₜ at each t
        dA_seq = dA if layer.return_sequences else None
        dX = np.empty((T * N, self.Wx_rows.shape[1]), dA.dtype) if need_dA_prev else None
        # δₜ into w["dZ"][t] for t = T − 1 … 0; dh becomes ∂C/∂h₋₁
        if self.pipelined():  # each chunk's products on the worker while the loop goes on
            self._backward_pipelined(w, grads, dX, dh, dA_seq, T)
        else:
            with self.loop_threads():
                self.steps_back(dh, dA_seq)
            self.accumulate(w, grads, dX)  # one product each over all steps
        self.give_gradients(grads)
        return None if dX is None else dX.reshape(T, N, -1).transpose(1, 0, 2)

    def _steps_on_worker(self, rows: slice, packed) -> None:
        with self.mkl.one_thread():
            self.steps(rows, packed)

    def _backward_pipelined(self, w, grads, dX, dh, dA_seq, T: int) -> None:
        """The loop back chunk by chunk; each chunk's products over its steps (``accumulate``)
        on the worker as the loop goes on, but for the last chunk (steps 0 …), which the loop's
        thread makes itself into a second set of arrays while the worker catches up (a
        chunk's products take longer than its steps). Which thread adds which chunk is fixed:
        the same numbers every run."""
        cuts = _chunks(T)[::-1]
        theirs = len(cuts) - max(1, round(len(cuts) * OWN_SHARE))
        futures = []
        with _waiting_for(futures), self.loop_threads():
            for k, (t0, t1) in enumerate(cuts):
                self.steps_back(dh, dA_seq, t0, t1)
                if k < theirs:
                    futures.append(self.worker.submit(self.accumulate, w, grads, dX, t0, t1))
            own = self.zero_gradients(grads["dW_x"].dtype, spare=True)
            for t0, t1 in cuts[theirs:]:
                self.accumulate(w, own, dX, t0, t1)
        for name, g in grads.items():
            g += own[name]

    def _seq(self, dA_seq: Array | None, t: slice) -> Array:
        """``∂C/∂hₜ`` of a layer returning every state, for the steps ``t`` (the compiled
        loops' empty stand-in for none)."""
        return self.no_seq if dA_seq is None else dA_seq[:, t]

    def pipelined(self) -> bool:
        """Whether the products over the steps run on the worker beside the compiled loop."""
        return self.worker is not None and bool(self.packed)

    def steps(self, rows: slice = slice(None), packed=None) -> None:
        """The forward steps t = 0 … T − 1 (subclasses: the compiled loop where it applies,
        for the sequences ``rows`` with ``W_h`` packed for as many rows)."""
        with one_blas_thread():
            for t in range(len(self.w["G"])):
                self.step(t)

    def steps_back(self, dh: Array, dA_seq: Array | None, t0: int = 0,
                   t1: int | None = None) -> None:
        """The backward steps t = t1 − 1 … t0 (all by default): ``dh`` is ∂C/∂h_{t1 − 1}
        without ``dA_seq``'s part on entry, ∂C/∂h_{t0 − 1} on exit (subclasses: the compiled
        loop where it applies)."""
        with one_blas_thread():
            for t in range((len(self.w["G"]) if t1 is None else t1) - 1, t0 - 1, -1):
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
        buffers kept, re-packed each step as the weights change); float32/float64 only.
        With a worker (:attr:`halves`): ``W_h`` for each half of the N rows instead."""
        self.halves = False
        if self.loops is None or np.dtype(dtype) not in (np.float32, np.float64):
            self.packed = None
            return
        from .mkl import Packed, binding

        self.halves = self.worker is not None and N >= 2
        wanted = [("Wh", N // 2), ("Wh_rows", N), ("Wh", N - N // 2)] if self.halves else \
            [("Wh", N), ("Wh_rows", N)]
        self.mkl, self.packed, done = binding(), [], set()
        with self.mkl.one_thread():  # a copy of W_h: waking MKL's threads costs more
            for name, rows in wanted:
                B, key = getattr(self, name), (name, rows, np.dtype(dtype))
                if key not in self._packed:
                    self._packed[key] = Packed(self.mkl, B, rows)
                elif key not in done:  # equal halves: one buffer, packed once
                    self._packed[key].pack(B)
                done.add(key)
                self.packed.append(self._packed[key].buffer)
        self.is32 = np.dtype(dtype) == np.float32
        self.no_seq = np.empty((N, 0, self.H), dtype)  # dA_seq for "none" in compiled code

    def project(self, w: dict) -> None:
        """``W_x xₜ + b`` for every step, in one product."""
        G2 = w["G"].reshape(-1, w["G"].shape[2])
        products.matmul(w["X"].reshape(len(G2), -1), self.Wx, G2, self.lib)
        G2 += self.b

    def _own_thread(self):
        """MKL on one thread for the worker's calls (the loop's thread has the other core)."""
        return self.mkl.one_thread() if self.pipelined() else contextlib.nullcontext()

    def zero_gradients(self, dtype, spare: bool = False) -> dict[str, Array]:
        """The stacked gradient arrays, zeroed: ``dW_x`` (G·H, n_in), ``dW_h`` (G·H, H),
        ``db`` and ``db_h`` (G·H,); kept from step to step (the layer's arrays are views).
        ``spare``: a second set, also kept."""
        GH, name = len(self.ORDER) * self.H, "_spare" if spare else "_grads"
        grads = getattr(self, name, None)
        if grads is None or grads["dW_x"].dtype != dtype:
            grads = {"dW_x": np.empty((GH, self.layer.n_in), dtype),
                     "dW_h": np.empty((GH, self.H), dtype),
                     "db": np.empty(GH, dtype), "db_h": np.empty(GH, dtype)}
            setattr(self, name, grads)
        for g in grads.values():
            g[...] = 0
        return grads

    def accumulate(self, w: dict, grads: dict, dX: Array | None, t0: int = 0,
                   t1: int | None = None) -> None:
        """Add steps t0 … t1 − 1 (all by default) to ∂C/∂W_x, ∂C/∂W_h, ∂C/∂b: ``Σₜ δₜxₜᵀ``,
        ``Σₜ δₜhₜ₋₁ᵀ``, ``Σₜ δₜ``, one product each, means over the N sequences (``dZh``: δ as
        W_h sees it, the GRU's differs in the candidate's block); with ``dX``, its rows of
        those steps ``W_xᵀ δₜ`` (∂C/∂xₜ)."""
        N, GH = w["X"].shape[1], w["dZ"].shape[2]
        dZ = w["dZ"][t0:t1].reshape(-1, GH)
        dZh = w["dZh"][t0:t1].reshape(dZ.shape) if "dZh" in w else dZ
        ones = w["ones/m"][:len(dZ)]
        with self._own_thread(), np.errstate(over="ignore", invalid="ignore"):  # NaN/inf: the
            X, h = w["X"][t0:t1], w["h"][t0:(len(w["h"]) - 1 if t1 is None else t1)]  # guard's
            _add_product(1 / N, dZ, X.reshape(len(dZ), -1), grads["dW_x"], self.lib)
            _add_product(1 / N, dZh, h.reshape(len(dZ), -1), grads["dW_h"], self.lib)
            _add_sum(dZ, ones, grads["db"], self.lib)
            if dZh is not dZ:
                _add_sum(dZh, ones, grads["db_h"], self.lib)
            if dX is not None:
                rows = slice(t0 * N, None if t1 is None else t1 * N)
                products.matmul(dZ, self.Wx_rows, dX[rows], self.lib)  # W_xᵀ δₜ, these t

    def give_gradients(self, grads: dict) -> None:
        """The layer's ``dW_x·``, ``dW_h·``, ``db_·``: row blocks of the stacked arrays."""
        layer, H = self.layer, self.H
        for k, g in enumerate(self.ORDER):
            block = slice(k * H, (k + 1) * H)
            setattr(layer, f"dW_x{g}", grads["dW_x"][block])
            setattr(layer, f"dW_h{g}", grads["dW_h"][block])
            setattr(layer, "db_" + g if g else "db", grads["db"][block])



@contextlib.contextmanager
def _waiting_for(futures: list):
    """On the way out, wait for every future in ``futures`` (also those added inside), even
    after an error; then raise the first error one of them raised."""
    try:
        yield
    finally:
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()
