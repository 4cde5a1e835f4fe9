"""The time loops of :mod:`mlplab.accel.recurrent` compiled whole by numba, with MKL's packed
products and vector ``tanh`` (:mod:`mlplab.accel.mkl`) called from inside the loop.

Per step the Python loop makes ~6 calls of a few µs each around one product; compiled, the
whole time loop of a layer is one call. The formulas are those of :mod:`mlplab.accel.rnn_cells`
(the same compiled cells are called here); each loop takes ``is32`` (float32 or float64 arrays:
MKL's ``s`` or ``d`` functions) and ``one``, the number 1 in the arrays' dtype. The MKL
functions are called by name (declared as external functions, their library loaded into LLVM's
symbol table), not by address, so that numba can cache the compiled loops on disk like its
other kernels: a process compiles them once (~1 s per cell kind and dtype), later processes
load them.

Importing this module needs numba and a bound MKL; it raises ImportError otherwise.
"""

import llvmlite.binding
import numba
import numpy as np
from numba import types

from . import mkl
from ._rnnkernels import gru_back, gru_mix, gru_state, lstm_back, lstm_cell

_lib = mkl.binding()
if _lib is None:
    raise ImportError("MKL is not available (pip install 'mlplab[mkl]')")
llvmlite.binding.load_library_permanently(_lib.path)  # its symbols, for the calls by name
_int, _ptr = types.int32, types.voidptr  # MKL's LP64 interface: 32-bit integers
S_COMPUTE, D_COMPUTE = (types.ExternalFunction(
    f"cblas_{p}gemm_compute", types.void(*[_int] * 6, _ptr, _int, _ptr, _int, real, _ptr, _int))
    for p, real in (("s", types.float32), ("d", types.float64)))
S_TANH, D_TANH = (types.ExternalFunction(f"vm{p}Tanh", types.void(_int, _ptr, _ptr, types.int64))
                  for p in "sd")
ROW, NOTRANS, PACKED, LA = mkl.ROW_MAJOR, mkl.NO_TRANS, mkl.PACKED, mkl.VML_LA
TANH, RELU = 0, 1  # SimpleRNN activations these loops compute

jit = numba.njit(nogil=True, cache=True)


@jit
def _product(is32, A, packed, C, beta):
    """``C ← A @ B + beta·C`` with B packed by :class:`mlplab.accel.mkl.Packed` (A, C rows
    contiguous)."""
    M, K = A.shape
    N = C.shape[1]
    if is32:
        S_COMPUTE(ROW, NOTRANS, PACKED, M, N, K, A.ctypes, A.strides[0] // 4, packed.ctypes, N,
                  np.float32(beta), C.ctypes, C.strides[0] // 4)
    else:
        D_COMPUTE(ROW, NOTRANS, PACKED, M, N, K, A.ctypes, A.strides[0] // 8, packed.ctypes, N,
                  np.float64(beta), C.ctypes, C.strides[0] // 8)


@jit
def _tanh(is32, n, src, dst):
    """``dst[:n] = tanh(src[:n])`` on contiguous memory (MKL's vector tanh)."""
    if is32:
        S_TANH(n, src.ctypes, dst.ctypes, LA)
    else:
        D_TANH(n, src.ctypes, dst.ctypes, LA)


@jit
def _add_sequence(dh, dA, t):
    """``dh += ∂C/∂hₜ`` for a layer that returns every state (``dA`` (N, T, H))."""
    N, H = dh.shape
    for n in range(N):
        for j in range(H):
            dh[n, j] += dA[n, t, j]


# ------------------------------------------------------------------------------- SimpleRNN
@jit
def rnn_forward(is32, act, G, Hs, Wh, one):
    N, H = G.shape[1], G.shape[2]
    for t in range(G.shape[0]):
        Z, h = G[t], Hs[t + 1]
        _product(is32, Hs[t], Wh, Z, one)  # zₜ = (W_x xₜ + b) + W_h hₜ₋₁
        if act == TANH:
            _tanh(is32, N * H, Z, h)
        else:
            for n in range(N):
                for j in range(H):
                    h[n, j] = max(Z[n, j], 0 * one)


@jit
def rnn_backward(is32, act, dh, dA, G, Hs, dZ, Wh_rows, one):
    N, H = dh.shape
    for t in range(G.shape[0] - 1, -1, -1):
        if dA.shape[1]:
            _add_sequence(dh, dA, t)
        delta, h, Z = dZ[t], Hs[t + 1], G[t]
        for n in range(N):
            for j in range(H):  # δₜ = (W_hᵀ δₜ₊₁ + ∂C/∂hₜ) ⊙ g′(zₜ)
                if act == TANH:
                    delta[n, j] = dh[n, j] * (one - h[n, j] * h[n, j])
                else:
                    delta[n, j] = dh[n, j] if Z[n, j] > 0 else 0 * one
        _product(is32, delta, Wh_rows, dh, 0 * one)  # W_hᵀ δₜ for step t − 1


# ------------------------------------------------------------------------------------ LSTM
@jit
def lstm_forward(is32, G, Hs, C, TC, Wh, one):
    N, GH = G.shape[1], G.shape[2]
    H = GH // 4
    for t in range(G.shape[0]):
        g = G[t]
        _product(is32, Hs[t], Wh, g, one)  # every gate's z (σ gates' halved) in one product
        _tanh(is32, N * GH, g, g)
        lstm_cell(g, C[t], C[t + 1], one)
        _tanh(is32, N * H, C[t + 1], TC[t])
        h = Hs[t + 1]
        for n in range(N):
            o, tc, hn = g[n, 2 * H:3 * H], TC[t, n], h[n]
            for j in range(H):
                hn[j] = o[j] * tc[j]  # hₜ = oₜ ⊙ tanh(cₜ)


@jit
def lstm_backward(is32, dh, dc, dA, G, C, TC, dZ, Wh_rows, one):
    for t in range(G.shape[0] - 1, -1, -1):
        if dA.shape[1]:
            _add_sequence(dh, dA, t)
        lstm_back(dh, dc, G[t], C[t], TC[t], dZ[t], one)
        _product(is32, dZ[t], Wh_rows, dh, 0 * one)  # Σ W_h·ᵀ δ·ₜ for step t − 1


# ------------------------------------------------------------------------------------- GRU
@jit
def gru_forward(is32, G, Zh, Hs, Wh, bh, one):
    N, H = Hs.shape[1], Hs.shape[2]
    for t in range(G.shape[0]):
        g, zh = G[t], Zh[t]
        _product(is32, Hs[t], Wh, zh, 0 * one)  # W_h· hₜ₋₁
        for n in range(N):
            row, zr = g[n], zh[n]
            for j in range(3 * H):
                zr[j] += bh[j]  # + b_hn in the candidate's block
            for j in range(2 * H):
                row[j] += zr[j]
            _tanh(is32, 2 * H, row, row)  # r, u (halved: σ from tanh)
        gru_mix(g, zh[:, 2 * H:], one)
        for n in range(N):
            cand = g[n, 2 * H:]
            _tanh(is32, H, cand, cand)  # nₜ
        gru_state(g, Hs[t], Hs[t + 1], one)


@jit
def gru_backward(is32, dh, tmp, dA, G, Zh, Hs, dZ, dZh, Wh_rows, one):
    N, H = dh.shape
    for t in range(G.shape[0] - 1, -1, -1):
        if dA.shape[1]:
            _add_sequence(dh, dA, t)
        zh = Zh[t]
        gru_back(dh, G[t], zh[:, 2 * H:], Hs[t], dZ[t], dZh[t], tmp, one)
        for n in range(N):
            for j in range(H):
                dh[n, j] = tmp[n, j]  # dh ⊙ uₜ ...
        _product(is32, dZh[t], Wh_rows, dh, one)  # ... + Σ W_h·ᵀ δ·ₜ = ∂C/∂hₜ₋₁
