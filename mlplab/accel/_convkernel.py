"""The convolution's windows and 2 × 2 max pooling on ``(C, m, H, W)`` maps, compiled (numba).

:func:`im2col` and :func:`col2im` copy and add exactly as the NumPy loops of
:mod:`mlplab.accel.conv_kernels` do (the same values, the same order of additions), one pass
over the maps instead of one strided NumPy call per kernel place.

2 × 2, stride-2 max pooling gives the same numbers as
:func:`mlplab.accel.conv_kernels.max_pool` and its backward: the window's
places in the order (0, 0), (0, 1), (1, 0), (1, 1), the first of equal values winning; with
``relu`` the pooled value is ``max(max z, 0)`` and the gradient is passed only where it is > 0.
A NaN wins its window, as in NumPy's ``max`` and ``argmax``: the fast pass keeps a running sum
per plane that turns NaN when any of its inputs is (or when infinities cancel), and then the
careful pass reruns.

Each pass works one ``(c, n)`` plane at a time, and the planes are independent: each pass is
compiled twice, serial and parallel (``prange`` over the planes, numba's threads), the same
numbers either way. ``PARALLEL[name]`` is the parallel one.
"""

from numba import prange

from .numba_kernels import compiled_twice

PARALLEL = {}  # name: the pass compiled with parallel=True


def jit(fn):
    """``fn`` compiled serial (returned) and parallel (into :data:`PARALLEL`)."""
    serial, PARALLEL[fn.__name__] = compiled_twice(fn)
    return serial


@jit
def im2col(P, cols, kh, kw, sh, sw):
    """``cols[(c·kh + i)·kw + j, n, y, x] = P[c, n, sh·y + i, sw·x + j]``, one (c, n) plane at
    a time (it stays in cache for its kh·kw windows); stride 1 gets its own loop, which the
    compiler vectorizes (2–3× faster than NumPy's strided copies, measured)."""
    C, m = P.shape[0], P.shape[1]
    Ho, Wo = cols.shape[2], cols.shape[3]
    for cn in prange(C * m):
        c, n = cn // m, cn % m
        plane = P[c, n]
        for i in range(kh):
            for j in range(kw):
                window = cols[(c * kh + i) * kw + j, n]
                for y in range(Ho):
                    source, target = plane[sh * y + i], window[y]
                    if sw == 1:
                        for x in range(Wo):
                            target[x] = source[x + j]
                    else:
                        for x in range(Wo):
                            target[x] = source[sw * x + j]


@jit
def col2im(dcols, dP, kh, kw, sh, sw):
    """``dP`` zeroed, then ``dP[c, n, sh·y + i, sw·x + j] += dcols[(c·kh + i)·kw + j, n, y, x]``
    for (i, j) in order (the core's order of additions), one (c, n) plane at a time."""
    C, m = dP.shape[0], dP.shape[1]
    Ho, Wo = dcols.shape[2], dcols.shape[3]
    zero = dP.dtype.type(0)
    for cn in prange(C * m):
        c, n = cn // m, cn % m
        plane = dP[c, n]
        for y in range(plane.shape[0]):
            for x in range(plane.shape[1]):
                plane[y, x] = zero
        for i in range(kh):
            for j in range(kw):
                window = dcols[(c * kh + i) * kw + j, n]
                for y in range(Ho):
                    source, target = window[y], plane[sh * y + i]
                    if sw == 1:
                        for x in range(Wo):
                            target[x + j] += source[x]
                    else:
                        for x in range(Wo):
                            target[sw * x + j] += source[x]


@jit
def max_pool_2x2(a, out, argmax, relu):
    """Branches on plain comparisons (3× faster than NaN-aware ones); returns 2 when the input
    held a NaN (or infinities of both signs), and the careful pass must rerun, 1 when it held
    an infinity (or values whose sum overflows), else 0."""
    C, m, Ho, Wo = out.shape
    zero = out.dtype.type(0)
    nan_planes = 0
    inf_planes = 0
    for cn in prange(C * m):
        c, n = cn // m, cn % m
        a_cn, out_cn, argmax_cn = a[c, n], out[c, n], argmax[c, n]
        total = zero
        for y in range(Ho):
            top, bottom = a_cn[2 * y], a_cn[2 * y + 1]
            for x in range(Wo):
                p, q, r, s = top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]
                total += p + q + r + s
                best, where = p, 0
                if q > best:
                    best, where = q, 1
                if r > best:
                    best, where = r, 2
                if s > best:
                    best, where = s, 3
                if relu and best <= zero:  # relu(max z) = max relu(z)
                    best = zero
                out_cn[y, x] = best
                argmax_cn[y, x] = where
        if total != total:
            nan_planes += 1
        elif total - total != 0:  # ±inf
            inf_planes += 1
    return 2 if nan_planes > 0 else (1 if inf_planes > 0 else 0)


@jit
def max_pool_2x2_careful(a, out, argmax, relu):
    """The same, the first NaN of a window winning it."""
    C, m, Ho, Wo = out.shape
    zero = out.dtype.type(0)
    for c in range(C):
        for n in range(m):
            for y in range(Ho):
                for x in range(Wo):
                    best, where = a[c, n, 2 * y, 2 * x], 0
                    for t in range(1, 4):
                        v = a[c, n, 2 * y + t // 2, 2 * x + t % 2]
                        if v > best or (v != v and best == best):
                            best, where = v, t
                    if relu and best <= zero:  # NaN stays NaN
                        best = zero
                    out[c, n, y, x] = best
                    argmax[c, n, y, x] = where


@jit
def max_pool_2x2_backward(dA, argmax, out, dA_prev, relu):
    C, m, Ho, Wo = dA.shape
    H, W = dA_prev.shape[2], dA_prev.shape[3]
    zero = dA_prev.dtype.type(0)
    for cn in prange(C * m):
        c, n = cn // m, cn % m
        d_cn = dA_prev[c, n]
        for y in range(H):  # the places that did not win, and a remainder row or column
            for x in range(W):
                d_cn[y, x] = zero
        for y in range(Ho):
            for x in range(Wo):
                g = dA[c, n, y, x]
                if relu and not out[c, n, y, x] > zero:
                    g = g * zero  # as the core's ∂C/∂a ⊙ relu'(z): NaN stays NaN
                t = argmax[c, n, y, x]
                d_cn[2 * y + t // 2, 2 * x + t % 2] = g
