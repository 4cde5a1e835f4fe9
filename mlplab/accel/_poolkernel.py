"""2 × 2, stride-2 max pooling on ``(C, m, H, W)`` maps, one compiled pass each way (numba).

The same numbers as :func:`mlplab.accel.pool_kernels.max_pool` and its backward: the window's
places in the order (0, 0), (0, 1), (1, 0), (1, 1), the first of equal values winning; with
``relu`` the pooled value is ``max(max z, 0)`` and the gradient is passed only where it is > 0.
"""

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def _wins(v, best):
    """v takes the place of best: larger, or the first NaN (NumPy's max and argmax)."""
    return v > best or (v != v and best == best)


@jit
def max_pool_2x2(a, out, argmax, relu):
    C, m, Ho, Wo = out.shape
    zero = out.dtype.type(0)
    for c in range(C):
        for n in range(m):
            for y in range(Ho):
                for x in range(Wo):
                    best, where = a[c, n, 2 * y, 2 * x], 0
                    for t in range(1, 4):
                        v = a[c, n, 2 * y + t // 2, 2 * x + t % 2]
                        if _wins(v, best):
                            best, where = v, t
                    if relu and best <= zero:  # relu(max z) = max relu(z); NaN stays NaN
                        best = zero
                    out[c, n, y, x] = best
                    argmax[c, n, y, x] = where


@jit
def max_pool_2x2_backward(dA, argmax, out, dA_prev, relu):
    C, m, Ho, Wo = dA.shape
    H, W = dA_prev.shape[2], dA_prev.shape[3]
    zero = dA_prev.dtype.type(0)
    for c in range(C):
        for n in range(m):
            for y in range(H):  # a remainder row or column no window covers gets 0
                for x in range(W):
                    dA_prev[c, n, y, x] = zero
            for y in range(Ho):
                for x in range(Wo):
                    g = dA[c, n, y, x]
                    if relu and not out[c, n, y, x] > 0:
                        g = g * zero
                    t = argmax[c, n, y, x]
                    dA_prev[c, n, 2 * y + t // 2, 2 * x + t % 2] = g
