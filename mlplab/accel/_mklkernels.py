"""Compiled loops on numba's threads that call MKL's ``gemm`` on one thread each:

- :func:`inner_blocks`: a product with a long inner dimension made in blocks
  (:class:`mlplab.accel.products.InnerSplit` decides when, and sums the blocks);
- :func:`conv_pool_forward`, :func:`conv_pool_backward`: a ReLU convolution (stride 1) and the
  2 × 2 max pooling after it, a few images at a time
  (:class:`mlplab.accel.conv_blocks.ConvPoolStage`);
- :func:`gradient_step`: a dense layer's ``∂C/∂W``, ``∂C/∂b`` and its update, each thread its
  share of the rows (:class:`mlplab.accel.dense_updates.GradientSteps`);
- :func:`output_tail`: the last two dense layers' small work in one call, on the calling thread
  (:class:`mlplab.accel.dense_updates.OutputTail`);
- :func:`sgd_step`: a dense stack's whole step of plain gradient descent in one call, on the
  calling thread with MKL's products on its threads (:class:`mlplab.accel.dense_updates.SGDStep`).

numba's parallel loop runs on the same TBB threads as MKL's own products (numba's threading
layer ``tbb``, MKL's TBB layer): one pool, no thread waiting beside another's spinning ones.
Inside each block the thread asks MKL for one thread (``MKL_Set_Num_Threads_Local``, per
thread), then restores what it had. MKL's functions are called by name, as in
:mod:`mlplab.accel._rnnloops`, so that numba caches the compiled loops on disk. The inner
split's arguments are integers: the operands' addresses and their strides in bytes, whatever
their layout, so that one compiled loop serves every product (a compiled signature per layout
costs a second each). The convolution's loops call the passes of :mod:`mlplab.accel._convkernel`
and the update rules of :mod:`mlplab.accel.numba_kernels`, the output tail and the SGD step its
passes and output kernels (numba caches this module's code by this file: after changing any of
those, clear numba's cache, ``__pycache__/_mklkernels*.nb*``).

Importing this module needs numba and a bound MKL; it raises ImportError otherwise.
"""

import math

import llvmlite.binding
import numba
import numpy as np
from numba import prange, types

from . import mkl
from .blas import NO_TRANS, TRANS
from .kernels import SKLEARN_OUT, SOFTMAX_CCE
from ._convkernel import col2im, im2col, max_pool_2x2, max_pool_2x2_backward
from ._convkernel import max_pool_2x2_careful
from .numba_kernels import bias_g, decay, delta_g, rule_step, sklearn_output, softmax_cce
from .numba_kernels import _pointer, unitwise_output

_lib = mkl.binding()
if _lib is None or not _lib.threaded:
    raise ImportError("MKL with threads is not available (pip install 'mlplab[mkl]')")
llvmlite.binding.load_library_permanently(_lib.path)  # its symbols, for the calls by name
_int, _addr = types.int32, types.intp  # LP64 integers; addresses as integers (the C ABI's)
SGEMM, DGEMM = (types.ExternalFunction(
    f"cblas_{p}gemm", types.void(*[_int] * 6, real, _addr, _int, _addr, _int, real, _addr, _int))
    for p, real in (("s", types.float32), ("d", types.float64)))
LOCAL_THREADS = types.ExternalFunction("MKL_Set_Num_Threads_Local", types.int32(types.int32))
ROW = mkl.ROW_MAJOR


@numba.njit(parallel=True, nogil=True, cache=True)
def inner_blocks(is32, ta, tb, m, n, k, a, lda, a_step, b, ldb, b_step, parts, count):
    """``parts[t] = A[:, kₜ:kₜ₊₁] @ B[kₜ:kₜ₊₁, :]`` for ``count`` blocks of the inner dimension
    k (row-major CBLAS: ``ta``/``tb`` its transpose flags, ``lda``/``ldb`` its leading
    dimensions); ``a_step``/``b_step``: the bytes from one inner index to the next in A and B;
    ``parts``: the address of ``count`` row-major ``m × n`` results."""
    size = 4 if is32 else 8
    for t in prange(count):
        lo, hi = k * t // count, k * (t + 1) // count
        before = LOCAL_THREADS(1)
        out = parts + t * m * n * size
        if is32:
            SGEMM(ROW, ta, tb, m, n, hi - lo, np.float32(1), a + lo * a_step, lda,
                  b + lo * b_step, ldb, np.float32(0), out, n)
        else:
            DGEMM(ROW, ta, tb, m, n, hi - lo, 1.0, a + lo * a_step, lda,
                  b + lo * b_step, ldb, 0.0, out, n)
        LOCAL_THREADS(before)


@numba.njit(nogil=True, cache=True)
def _gemm(is32, ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc):
    """``C ← op(A) @ op(B) + beta·C`` (row-major; arrays of the call's dtype)."""
    if is32:
        SGEMM(ROW, ta, tb, m, n, k, np.float32(1), A.ctypes.data, lda, B.ctypes.data, ldb,
              np.float32(beta), C.ctypes.data, ldc)
    else:
        DGEMM(ROW, ta, tb, m, n, k, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb, beta,
              C.ctypes.data, ldc)


@numba.njit(nogil=True, cache=True)
def _windows(P, cols, t, n0, n1, K, Ho, Wo, kh, kw):
    """The windows of images n0…n1 into thread t's ``cols`` as ``(K + 1, N)`` with a row of
    ones (the bias); returns it."""
    N = (n1 - n0) * Ho * Wo
    ct = cols[t, :(K + 1) * N].reshape((K + 1, N))
    im2col(P[:, n0:n1], ct[:K].reshape((K, n1 - n0, Ho, Wo)), kh, kw, 1, 1)
    ct[K] = 1
    return ct


@numba.njit(nogil=True, cache=True)
def _share(m, t, T):
    """Thread t's images of m, as T threads share them: ``(first, end)``."""
    return m * t // T, m * (t + 1) // T


@numba.njit(parallel=True, nogil=True, cache=True)
def conv_pool_forward(is32, A, fill, top, left, P, W_aug, out, argmax, cols, Z, flags, chunk,
                      kh, kw):
    """For images ``chunk`` at a time, the T = ``len(cols)`` threads each taking a share:
    with ``fill``, the maps ``A`` (C, m, H, W) into the inside of ``P`` (from ``top``, ``left``),
    windows of the zero-bordered maps ``P`` (C, m, H + kh − 1, W + kw − 1) into ``cols[t]``,
    ``z = W_aug @ [cols; 1]`` into ``Z[t]`` (MKL, one thread), ``out``/``argmax`` = the 2 × 2
    max pooling of ``relu(z)``. ``flags[t]``: the largest code the pooling returned (1: an
    infinity in z, 2: a NaN)."""
    T, m = cols.shape[0], P.shape[1]
    O, K = W_aug.shape[0], W_aug.shape[1] - 1
    Ho, Wo = P.shape[2] - kh + 1, P.shape[3] - kw + 1
    for t in prange(T):
        before = LOCAL_THREADS(1)
        flags[t] = 0
        first, end = _share(m, t, T)
        for n0 in range(first, end, chunk):
            n1 = min(n0 + chunk, end)
            N = (n1 - n0) * Ho * Wo
            if fill:
                P[:, n0:n1, top:top + A.shape[2], left:left + A.shape[3]] = A[:, n0:n1]
            ct = _windows(P, cols, t, n0, n1, K, Ho, Wo, kh, kw)
            zt = Z[t, :O * N].reshape((O, N))
            _gemm(is32, NO_TRANS, NO_TRANS, O, N, K + 1, W_aug, K + 1, ct, N, 0.0, zt, N)
            z4, o4, a4 = zt.reshape((O, n1 - n0, Ho, Wo)), out[:, n0:n1], argmax[:, n0:n1]
            code = max_pool_2x2(z4, o4, a4, True)
            if code == 2:  # a NaN: the first one wins its window
                max_pool_2x2_careful(z4, o4, a4, True)
            flags[t] = max(flags[t], code)
        LOCAL_THREADS(before)


@numba.njit(parallel=True, nogil=True, cache=True)
def conv_pool_backward(is32, P, W_aug, d_out, out, argmax, cols, Z, parts, dP, need_dP, chunk,
                       kh, kw):
    """The same images per thread: ``δ`` = ``∂C/∂out`` at each window's argmax where the
    maximum was > 0 (into ``Z[t]``), the windows again, ``parts[t] += [cols; 1] δᵀ`` (the
    thread's share of ``[∂C/∂W | ∂C/∂b]ᵀ``, summed over its images: this orientation of the
    product is ~8 % faster in MKL for the course's CNN), and with ``need_dP``
    ``∂C/∂P`` = the columns ``W_colᵀ δ`` (over ``cols[t]``) added back into maps."""
    T, m = cols.shape[0], P.shape[1]
    O, K = W_aug.shape[0], W_aug.shape[1] - 1
    Ho, Wo = P.shape[2] - kh + 1, P.shape[3] - kw + 1
    for t in prange(T):
        before = LOCAL_THREADS(1)
        parts[t] = 0
        first, end = _share(m, t, T)
        for n0 in range(first, end, chunk):
            n1 = min(n0 + chunk, end)
            N = (n1 - n0) * Ho * Wo
            dt = Z[t, :O * N].reshape((O, N))
            max_pool_2x2_backward(d_out[:, n0:n1], argmax[:, n0:n1], out[:, n0:n1],
                                  dt.reshape((O, n1 - n0, Ho, Wo)), True)
            ct = _windows(P, cols, t, n0, n1, K, Ho, Wo, kh, kw)
            _gemm(is32, NO_TRANS, TRANS, K + 1, O, N, ct, N, dt, N, 1.0, parts[t], O)
            if need_dP:  # W_colᵀ δ over the windows, then added back where they were read
                _gemm(is32, TRANS, NO_TRANS, K, N, O, W_aug, K + 1, dt, N, 0.0, ct, N)
                col2im(ct[:K].reshape((K, n1 - n0, Ho, Wo)), dP[:, n0:n1], kh, kw, 1, 1)
        LOCAL_THREADS(before)


@numba.njit(nogil=True, cache=True, fastmath={"reassoc", "nsz"})
def _sum_of_squares(p):
    """``Σ p²`` in float64 (in any order: vectorized, 3 µs for 39,200 floats against 21 in
    order; the rule's arithmetic, compiled without these flags, is left as it is)."""
    s = 0.0
    for i in range(p.shape[0]):
        s += np.float64(p[i]) * np.float64(p[i])
    return s


@numba.njit(parallel=True, nogil=True, cache=True)
def gradient_step(is32, L, R, G, inv_m, D, db, P, S1, S2, Pb, Sb1, Sb2, lams, l1, rule, sc, T,
                  squares):
    """On T threads, each its share of G's rows and of the bias's units:
    ``G = inv_m·Lᵀ R`` (L: m × p, R: m × q, G: p × q, row-major; MKL on one thread) and
    ``db = inv_m·Σᵢ D[i]`` (D: m × len(db)); then the weight penalty (``lams``: W's λ and b's,
    ``l1``) and :func:`~mlplab.accel.numba_kernels.rule_step` ``(rule, sc)`` on the same
    elements of P (the weights laid out as G, state S1, S2) and of Pb (state Sb1, Sb2), while
    they are in the thread's cache. Returns ``Σ P²`` after the step (each thread's rows summed
    in float64 into ``squares[t]``, then added up): scikit-learn's penalty reads ``‖W‖²`` at
    the next batch, and here it costs no pass of its own."""
    m, p = L.shape
    q, n = R.shape[1], D.shape[1]
    size = 4 if is32 else 8
    for t in prange(T):
        r0, r1 = _share(p, t, T)
        if r1 > r0:
            before = LOCAL_THREADS(1)
            if is32:
                SGEMM(ROW, TRANS, NO_TRANS, r1 - r0, q, m, np.float32(inv_m),
                      L.ctypes.data + r0 * size, p, R.ctypes.data, q, np.float32(0),
                      G.ctypes.data + r0 * q * size, q)
            else:
                DGEMM(ROW, TRANS, NO_TRANS, r1 - r0, q, m, inv_m, L.ctypes.data + r0 * size, p,
                      R.ctypes.data, q, 0.0, G.ctypes.data + r0 * q * size, q)
            LOCAL_THREADS(before)
            lo, hi = r0 * q, r1 * q
            p1, g1 = P.reshape(-1)[lo:hi], G.reshape(-1)[lo:hi]
            decay(g1, p1, lams[0], l1)
            rule_step(rule, p1, g1, S1.reshape(-1)[lo:hi], S2.reshape(-1)[lo:hi], sc)
            squares[t] = _sum_of_squares(p1)
        else:
            squares[t] = 0.0
        u0, u1 = _share(n, t, T)
        if u1 > u0:
            dbt = db[u0:u1]
            dbt[:] = 0
            for i in range(m):
                for u in range(u1 - u0):
                    dbt[u] += D[i, u0 + u]
            for u in range(u1 - u0):
                dbt[u] *= inv_m
            pb = Pb[u0:u1]
            decay(dbt, pb, lams[1], l1)
            rule_step(rule, pb, dbt, Sb1[u0:u1], Sb2[u0:u1], sc)
    total = 0.0
    for t in range(T):
        total += squares[t]
    return total


_bias_g, _delta_g, _sklearn_output = bias_g[0], delta_g[0], sklearn_output[0]  # the serial
_softmax_cce, _unitwise_output = softmax_cce[0], unitwise_output[0]  # kernels, called by name


@numba.njit(nogil=True, cache=True)
def _gemm_scaled(is32, ta, tb, m, n, k, alpha, A, lda, B, ldb, C, ldc):
    """``C = alpha·op(A) @ op(B)`` (row-major; arrays of the call's dtype)."""
    if is32:
        SGEMM(ROW, ta, tb, m, n, k, np.float32(alpha), A.ctypes.data, lda, B.ctypes.data, ldb,
              np.float32(0), C.ctypes.data, ldc)
    else:
        DGEMM(ROW, ta, tb, m, n, k, alpha, A.ctypes.data, lda, B.ctypes.data, ldb, 0.0,
              C.ctypes.data, ldc)


@numba.njit(nogil=True, cache=True)
def output_tail(is32, Zh, bh, Ah, act, Wr, w_rows, b, Z, Y, A, D, which, kind, flag, eps, scale,
                dA, Dh, G, db, S1, S2, Sb1, Sb2, lams, l1, rule, sc):
    """A hidden layer (its product in ``Zh``) and the output layer after it, on the calling
    thread (MKL on one thread), all in its cache: ``Ah = g(Zh + bh)`` (``act``);
    ``Z = Ah Wᵀ`` and the output kernel ``which`` (``kind``, ``flag``, ``eps``, ``scale``: its
    last arguments) into ``A``, ``D = δ⁽ᴸ⁾`` and the summed cost; then, where that is finite,
    ``dA = δ⁽ᴸ⁾ W`` and the hidden δ ``Dh = dA ⊙ g'(Zh)``, ``G = ∂C/∂W`` (laid out as ``Wr``:
    W where ``w_rows``, else the row-major Wᵀ), ``db = ∂C/∂b`` (means over the rows), the
    penalty and the rule's step on ``Wr`` (state S1, S2) and ``b`` (Sb1, Sb2), as
    :func:`gradient_step` takes them. Returns (the summed cost, ``Σ W²`` after the step); where
    the cost is not finite nothing after it is done (the divergence guard looks first)."""
    m, nh = Ah.shape
    n = Z.shape[1]
    before = LOCAL_THREADS(1)
    _bias_g(Zh, bh, Ah, act)
    if w_rows:  # Wr = W, n × nh
        _gemm_scaled(is32, NO_TRANS, TRANS, m, n, nh, 1.0, Ah, nh, Wr, nh, Z, n)
    else:  # Wr = Wᵀ, nh × n
        _gemm_scaled(is32, NO_TRANS, NO_TRANS, m, n, nh, 1.0, Ah, nh, Wr, n, Z, n)
    if which == SKLEARN_OUT:
        cost = _sklearn_output(Z, b, Y, A, D, kind, eps, scale)
    elif which == SOFTMAX_CCE:
        cost = _softmax_cce(Z, b, Y, A, D)
    else:
        cost = _unitwise_output(Z, b, Y, A, D, kind, flag)
    if not math.isfinite(cost):
        LOCAL_THREADS(before)
        return cost, 0.0
    inv_m = 1.0 / m
    if w_rows:  # dA = D W; G = Dᵀ Ah / m
        _gemm_scaled(is32, NO_TRANS, NO_TRANS, m, nh, n, 1.0, D, n, Wr, nh, dA, nh)
        _gemm_scaled(is32, TRANS, NO_TRANS, n, nh, m, inv_m, D, n, Ah, nh, G, nh)
    else:  # dA = D (Wᵀ)ᵀ; G = Ahᵀ D / m
        _gemm_scaled(is32, NO_TRANS, TRANS, m, nh, n, 1.0, D, n, Wr, n, dA, nh)
        _gemm_scaled(is32, TRANS, NO_TRANS, nh, n, m, inv_m, Ah, nh, D, n, G, n)
    LOCAL_THREADS(before)
    _delta_g(dA, Zh, Ah, Dh, act)
    db[:] = 0
    for i in range(m):
        for u in range(n):
            db[u] += D[i, u]
    for u in range(n):
        db[u] *= inv_m
    p, g = Wr.reshape(-1), G.reshape(-1)
    decay(g, p, lams[0], l1)
    rule_step(rule, p, g, S1.reshape(-1), S2.reshape(-1), sc)
    decay(db, b, lams[1], l1)
    rule_step(rule, b, db, Sb1, Sb2, sc)
    return cost, _sum_of_squares(p)


W_, B_, Z_, A_, D_, DA_ = range(6)  # the columns of sgd_step's address table


@numba.njit(nogil=True, cache=True)
def _gemm_at(is32, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``C ← alpha·op(A) @ op(B) + beta·C``, the arrays given by their addresses (row-major)."""
    if is32:
        SGEMM(ROW, ta, tb, m, n, k, np.float32(alpha), a, lda, b, ldb, np.float32(beta), c, ldc)
    else:
        DGEMM(ROW, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


@numba.njit(nogil=True, cache=True)
def _at(address, m, n, like):
    """The row-major m × n array at ``address``, of ``like``'s dtype."""
    return numba.carray(_pointer(address), (m, n), like.dtype)


@numba.njit(nogil=True, cache=True)
def sgd_step(X, Y, at, shapes, acts, db_all, which, kind, flag, eps, scale, lr):
    """One batch's whole step of plain gradient descent for a stack of dense layers, on the
    calling thread (MKL's products on its threads), with no Python between its parts. Layer l:
    ``shapes[l]`` is W's (n × k), ``at[l]`` the addresses of W, b and the batch's z, a, δ and
    ``∂C/∂a⁽ˡ⁻¹⁾`` (row-major, X's dtype; columns ``W_`` … ``DA_``; the caller checks that
    they chain); ``db_all`` holds each layer's ``Σ δ`` in turn (the widest layer's length).

    Forward: ``z = a⁽ˡ⁻¹⁾Wᵀ + b`` and ``a = g(z)`` (``acts[l]``), then on the last layer the
    output kernel ``which``, softmax with cross-entropy or a unit-wise one (its arguments as
    :func:`output_tail`'s; scikit-learn's losses are not taken here). Where the summed cost is
    finite, down the layers: ``δ = ∂C/∂a ⊙ g'(z)``, ``∂C/∂a⁽ˡ⁻¹⁾ = δW`` (before W's step),
    ``W ← W − (α/m)·δᵀa⁽ˡ⁻¹⁾`` in the product (as :func:`mlplab.accel.blas.sgd_step`) and
    ``b ← b − α·mean(δ)``. Returns the summed cost; where it is not finite nothing is updated."""
    m, L = X.shape[0], shapes.shape[0]
    is32 = X.itemsize == 4
    x_at = np.intp(X.ctypes.data)  # an address as at's are (not unified through a float)
    prev, cost = x_at, 0.0
    for l in range(L):
        n, k = shapes[l, 0], shapes[l, 1]
        _gemm_at(is32, NO_TRANS, TRANS, m, n, k, 1.0, prev, k, at[l, W_], k, 0.0, at[l, Z_], n)
        Z, A, b = _at(at[l, Z_], m, n, X), _at(at[l, A_], m, n, X), _at(at[l, B_], 1, n, X)[0]
        if l < L - 1:
            _bias_g(Z, b, A, acts[l])
            prev = at[l, A_]
        elif which == SOFTMAX_CCE:
            cost = _softmax_cce(Z, b, Y, A, _at(at[l, D_], m, n, X))
        else:
            cost = _unitwise_output(Z, b, Y, A, _at(at[l, D_], m, n, X), kind, flag)
    if not math.isfinite(cost):
        return cost
    rate, mean = X.dtype.type(lr), X.dtype.type(1.0 / m)
    for l in range(L - 1, -1, -1):
        n, k = shapes[l, 0], shapes[l, 1]
        D = _at(at[l, D_], m, n, X)
        if l < L - 1:
            _delta_g(_at(at[l + 1, DA_], m, n, X), _at(at[l, Z_], m, n, X),
                     _at(at[l, A_], m, n, X), D, acts[l])
        prev = x_at if l == 0 else at[l - 1, A_]
        if l > 0:
            _gemm_at(is32, NO_TRANS, NO_TRANS, m, k, n, 1.0, at[l, D_], n, at[l, W_], k, 0.0,
                     at[l, DA_], k)
        _gemm_at(is32, TRANS, NO_TRANS, n, k, m, -lr / m, at[l, D_], n, prev, k, 1.0,
                 at[l, W_], k)
        b, db = _at(at[l, B_], 1, n, X)[0], db_all[:n]
        db[:] = 0
        for i in range(m):
            for u in range(n):
                db[u] += D[i, u]
        for u in range(n):
            b[u] -= rate * (db[u] * mean)
    return cost
