"""The convolution's windows and pooling on ``(C, m, H, W)`` maps, into reused arrays: NumPy
loops, or one compiled pass each (numba).

Each function computes what :mod:`mlplab.core.layers.conv` and :mod:`mlplab.core.layers.pool`
compute (tests/test_accel_conv.py compares them):

- :func:`im2col_into` lays every window out as a column, :func:`col2im_into` adds columns back
  into maps (where windows overlap, in the order of the kernel's places, as the core does);
- max pooling keeps, per window, which of its ``kh·kw`` places won (``argmax``, the first on
  ties, as ``argmax`` does); with ``relu`` it pools a ReLU layer's ``z``: ``relu(max z)``, and
  its backward gives ``δ = ∂C/∂a ⊙ [max > 0]`` at the argmax.

With numba (the ``fast`` extra) the windows, and a 2 × 2, stride-2 max pooling (the CNN's usual
one), run as compiled passes (:mod:`mlplab.accel._convkernel`); everything else, and any machine
without numba, runs the NumPy loops here: one strided pass per window place. ``NUMBA = False``
forces the NumPy loops (tests, benchmarks). With ``parallel`` the compiled passes share their
``(c, n)`` planes among numba's threads (the same numbers).
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
            from . import _convkernel
        except ImportError:  # no numba: the NumPy loops below
            _kernels = False
        else:
            _kernels = _convkernel
    return _kernels if NUMBA else False


def _pass(compiled, name: str, parallel: bool):
    """The compiled pass ``name``, serial or on numba's threads."""
    return compiled.PARALLEL[name] if parallel else getattr(compiled, name)


def _places(a: Array, kernel, stride, out_hw):
    """``(t, view)`` for each place t = i·kw + j of the window: the strided view of ``a``
    holding that place of every window."""
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i * kw + j, a[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]


def im2col_into(cols: Array, P: Array, kernel, stride, parallel: bool = False) -> None:
    """``cols[(c·kh + i)·kw + j, n, y, x] = P[c, n, sy + i, sx + j]``: every window of the
    maps ``P`` as a column (``cols`` is ``(C·kh·kw, m, H_out, W_out)``)."""
    (kh, kw), (sh, sw) = kernel, stride
    compiled = _compiled()
    if compiled:
        _pass(compiled, "im2col", parallel)(P, cols, kh, kw, sh, sw)
        return
    cols6 = cols.reshape(-1, kh, kw, *cols.shape[1:])
    for t, view in _places(P, kernel, stride, cols.shape[2:]):
        cols6[:, t // kw, t % kw] = view


def col2im_into(dP: Array, dcols: Array, kernel, stride, parallel: bool = False) -> None:
    """The transpose of :func:`im2col_into`: ``dP`` zeroed, then every column added back to
    where its window was read, place by place."""
    (kh, kw), (sh, sw) = kernel, stride
    compiled = _compiled()
    if compiled:
        _pass(compiled, "col2im", parallel)(dcols, dP, kh, kw, sh, sw)
        return
    dcols6 = dcols.reshape(-1, kh, kw, *dcols.shape[1:])
    dP.fill(0)
    for t, view in _places(dP, kernel, stride, dcols.shape[2:]):
        view += dcols6[:, t // kw, t % kw]


def _is_2x2(kernel, stride) -> bool:
    return kernel == (2, 2) and stride == (2, 2)


def max_pool(a: Array, out: Array, argmax: Array, kernel, stride, relu: bool,
             parallel: bool = False) -> None:
    """``out`` = each window's maximum of ``a`` (its ReLU, with ``relu``); ``argmax`` = where."""
    compiled = _compiled()
    if compiled and _is_2x2(kernel, stride):
        if _pass(compiled, "max_pool_2x2", parallel)(a, out, argmax, relu) == 2:
            compiled.max_pool_2x2_careful(a, out, argmax, relu)  # a NaN: the first one wins
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
                      relu: bool, parallel: bool = False) -> None:
    """``dA_prev`` = ``dA`` at each window's argmax (times ``[out > 0]`` with ``relu``)."""
    compiled = _compiled()
    if compiled and _is_2x2(kernel, stride):
        _pass(compiled, "max_pool_2x2_backward", parallel)(dA, argmax, out, dA_prev, relu)
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
