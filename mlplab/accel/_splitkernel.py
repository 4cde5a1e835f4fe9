"""A product with a long inner dimension made in blocks on numba's threads, each block one MKL
``gemm`` on one thread (:class:`mlplab.accel.products.InnerSplit` decides when, and sums the
blocks).

numba's parallel loop runs on the same TBB threads as MKL's own products (numba's threading
layer ``tbb``, MKL's TBB layer): one pool, no thread waiting beside another's spinning ones.
Inside each block the thread asks MKL for one thread (``MKL_Set_Num_Threads_Local``, per
thread), then restores what it had. MKL's functions are called by name, as in
:mod:`mlplab.accel._rnnloops`, so that numba caches the compiled loop on disk. Every argument is
an integer: the operands' addresses and their strides in bytes, whatever their layout, so that
one compiled loop serves every product (a compiled signature per layout costs a second each).

Importing this module needs numba and a bound MKL; it raises ImportError otherwise.
"""

import llvmlite.binding
import numba
import numpy as np
from numba import prange, types

from . import mkl

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
def blocks(is32, ta, tb, m, n, k, a, lda, a_step, b, ldb, b_step, parts, count):
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
