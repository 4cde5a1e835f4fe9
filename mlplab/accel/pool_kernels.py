"""Pooling on ``(C, m, H, W)`` maps into reused arrays: NumPy, or one compiled pass each.

Each function computes what :mod:`mlplab.core.layers.pool` computes (tests/test_accel_conv.py
compares them). Max pooling keeps, per window, which of its ``kh·kw`` places won (``argmax``,
the first on ties, as ``argmax`` does); with ``relu`` it pools a ReLU layer's ``z``:
``relu(max z)``, and its backward gives ``δ = ∂C/∂a ⊙ [max > 0]`` at the argmax.

With numba (the ``fast`` extra) a 2 × 2, stride-2 max pooling (the CNN's usual one) runs as one
compiled pass forward and one backward (:mod:`mlplab.accel._poolkernel`); everything else, and
any machine without numba, runs the NumPy loops here: one strided pass per window place.
``NUMBA = False`` forces the NumPy loops (tests, benchmarks).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray
NUMBA = True
_kernels = None  # the compiled module, once loaded (False: not available)


def _compiled():
    global _kernels
    if _kernels is None:
        try:
            from . import _poolkernel
        except ImportError:  # no numba: the NumPy loops below
            _kernels = False
        else:
            _kernels = _poolkernel
    return _kernels if NUMBA else False


def _places(a: Array, kernel, stride, out_hw):
    """``(t, view)`` for each place t = i·kw + j of the window: the strided view of ``a``
    holding that place of every window."""
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, a[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]


def _is_2x2(kernel, stride, a: Array) -> bool:
    return kernel == (2, 2) and stride == (2, 2) and a.flags.c_contiguous


def max_pool(a: Array, out: Array, argmax: Array, kernel, stride, relu: bool) -> None:
    """``out`` = each window's maximum of ``a`` (its ReLU, with ``relu``); ``argmax`` = where."""
    compiled = _compiled()
    if compiled and _is_2x2(kernel, stride, a):
        compiled.max_pool_2x2(a, out, argmax, relu)
        return
    places = _places(a, kernel, stride, out.shape[2:])
    _, first = next(places)
    np.copyto(out, first)
    argmax.fill(0)
    better = np.empty(out.shape, bool)
    careful = np.isnan(a.sum())  # a NaN somewhere (or infinities that sum to one)
    for t, view in places:
        np.greater(view, out, out=better)  # strictly: the first place wins a tie
        if careful:  # the first NaN wins, as in NumPy's max and argmax
            better |= np.isnan(view) & ~np.isnan(out)
        np.copyto(out, view, where=better)
        np.copyto(argmax, t, where=better)
    if relu:
        np.maximum(out, 0, out=out)


def max_pool_backward(dA: Array, argmax: Array, out: Array, dA_prev: Array, kernel, stride,
                      relu: bool) -> None:
    """``dA_prev`` = ``dA`` at each window's argmax (times ``[out > 0]`` with ``relu``)."""
    compiled = _compiled()
    if compiled and _is_2x2(kernel, stride, dA_prev) and dA.flags.c_contiguous:
        compiled.max_pool_2x2_backward(dA, argmax, out, dA_prev, relu)
        return
    if relu:
        dA = dA * (out > 0)
    dA_prev.fill(0)  # places no window covers, and every place that did not win
    share = np.empty(dA.shape, dA.dtype)
    for t, view in _places(dA_prev, kernel, stride, dA.shape[2:]):
        np.multiply(dA, argmax == t, out=share)
        view += share  # overlapping windows add up


def avg_pool(a: Array, out: Array, kernel, stride) -> None:
    """``out`` = each window's mean of ``a``."""
    places = _places(a, kernel, stride, out.shape[2:])
    _, first = next(places)
    np.copyto(out, first)
    for _, view in places:
        out += view
    out /= kernel[0] * kernel[1]


def avg_pool_backward(dA: Array, dA_prev: Array, kernel, stride) -> None:
    """``dA_prev`` = ``dA / (kh·kw)`` at every place of each window."""
    share = dA / (kernel[0] * kernel[1])
    dA_prev.fill(0)
    for _, view in _places(dA_prev, kernel, stride, dA.shape[2:]):
        view += share
