"""The products of a fit: in Intel MKL where ``mlplab[mkl]`` installed it, else NumPy's BLAS.

On this project's 2-vCPU AVX-512 machine, MKL on its threads made the products of a
784-256-128-10 epoch at batch 128 in 0.235 s, NumPy's OpenBLAS in 0.303 s (``bench/run.py``'s
``gemm-mkl`` and ``gemm``), and the epoch took 0.330 s against 0.418. :func:`for_fit` chooses
the library for a fit and gives MKL the fitting thread's share of threads; :func:`matmul` and
:class:`Products` make ``out = A @ B`` there (a transposed operand or a block of columns is a
flag and a leading dimension, never a copy), and :mod:`mlplab.accel.blas` the gradient-descent
update folded into a product, with the same :class:`~mlplab.accel.blas.Library`. Then a step's products run in MKL (what MKL
cannot take falls back to NumPy's BLAS: a layout it cannot read, a loss's own formulas, the
recurrent layers' bias sums), and NumPy's OpenBLAS pool mostly sleeps (two pools busy-waiting
on two cores slow each other).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

import numpy as np

from .blas import NO_TRANS, NUMPY, ROW_MAJOR, TRANS, Library, self_test

Array = np.ndarray
_mkl: dict = {}  # "lib": MKL's Library (or None once tried and not usable)
_lock = threading.Lock()
PRODUCT_WORK = 1_000_000  # a batch's rows × parameters from which a fit's products go to MKL


def mkl_library() -> Library | None:
    """MKL's BLAS when :mod:`mlplab.accel.mkl` binds MKL with threads of its own (not with
    ``MLPLAB_MKL=off``, read on every call) and its products pass :func:`_self_test`; else None
    (a sequential MKL is no faster than NumPy's BLAS on two threads)."""
    from . import mkl

    if mkl.setting() == "off" or os.environ.get("MLPLAB_BLAS", "").lower() == "numpy":
        return None
    with _lock:  # fits starting in several threads at once all wait for the one outcome
        if "lib" not in _mkl:
            binding = mkl.binding()
            lib = None
            if binding is not None and binding.threaded:
                lib = Library("mkl", dict(binding.blas), ctypes.c_int)
                lib = lib if _self_test(lib) else None
            _mkl["lib"] = lib
    return _mkl["lib"]


def for_fit(run, threads: int | None = None, in_use: bool = False):
    """The library for the products of ``run`` (a fit), and a context that gives it
    ``threads`` threads in the calling thread (None: as many as NumPy's BLAS may use now,
    :func:`mlplab.accel.threads.numpy_blas_threads`; MKL's own count where that cannot be
    told): MKL where :func:`mkl_library` has it and the fit is worth it, or ``MLPLAB_MKL=on``
    asks for it in every fit; else NumPy's BLAS (``None``: ``np.matmul`` and :data:`NUMPY`),
    whose threads are NumPy's to set. ``in_use``: the fit runs MKL anyway (the recurrent
    loops), so its products take it whatever their size. Worth it: the fit pays for loading MKL
    (:func:`mlplab.accel.fused.worth_compiling`; ~0.2 s) and its products are large (a batch's
    rows × the parameters ≥ :data:`PRODUCT_WORK`): a small product gains nothing from MKL's
    threads, and a call through ctypes costs more than ``np.matmul``'s (1–8 µs against 1)."""
    from . import mkl
    from .fused import worth_compiling
    from .threads import numpy_blas_threads

    large = run.batch_size * sum(p.size for p in run.net.params) >= PRODUCT_WORK
    wanted = in_use or mkl.setting() == "on" or (large and worth_compiling(run))
    lib = mkl_library() if wanted else None
    if lib is None:
        return None, contextlib.nullcontext()
    n = numpy_blas_threads() if threads is None else threads
    return lib, mkl.binding().threads(n) if n is not None else contextlib.nullcontext()


def matmul(A: Array, B: Array, out: Array, lib: Library | None = None) -> Array:
    """``out = A @ B`` (2-D, ``out`` C- or F-contiguous) by ``lib``'s ``gemm`` where A and B each
    have contiguous rows or contiguous columns (a transpose, a block of columns: a flag and a
    leading dimension, not a copy); else ``np.matmul``."""
    call = _matmul_call(A, B, out, lib)
    if call is None:
        return np.matmul(A, B, out=out)
    call[0](*call[1])
    return out


def _matmul_call(A: Array, B: Array, out: Array, lib: Library | None):
    """``(gemm, arguments)`` computing ``out = A @ B`` in ``lib``, or None where it cannot. A
    column-major ``out`` (a gradient of a column-major W) is the row-major ``outᵀ = Bᵀ Aᵀ``."""
    if lib is None or lib is NUMPY or not _matmul_fits(A, B, out):
        return None
    if not out.flags.c_contiguous:
        A, B, out = B.T, A.T, out.T
    a, b = _operand(A), _operand(B)
    if a is None or b is None:
        return None
    (m, k), n = A.shape, B.shape[1]
    (a, lda), (b, ldb) = a, b
    if max(m, n, k, lda, ldb) >= lib.int_limit:  # MKL's LP64 integers would wrap around
        return None
    return (lib.funcs["sgemm" if out.dtype.char == "f" else "dgemm"],
            (ROW_MAJOR, a, b, m, n, k, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb, 0.0,
             out.ctypes.data, n))


class Products:
    """``products(A, B, out)``: :func:`matmul` in ``lib`` (None: ``np.matmul``) for a step
    that passes the same arrays batch after batch (its work arrays, the weights, a transposed
    view it keeps): each (A, B, out)'s call is prepared once, its ctypes arguments converted,
    and then costs ~1 µs of Python instead of ~8 (reading three ``.ctypes.data`` alone took
    2.8 µs; 5 products a batch at batch 32 are 1,875 × 5 calls an epoch of 60,000 rows).
    It keeps the arrays it prepared for: :meth:`clear` when the fit is over."""

    def __init__(self, lib: Library | None):
        self.lib = lib
        self._plans: dict[tuple, tuple] = {}

    def __call__(self, A: Array, B: Array, out: Array) -> Array:
        if self.lib is None:
            return np.matmul(A, B, out=out)
        plan = self._plans.get((id(A), id(B), id(out)))
        if plan is not None and plan[0] is A and plan[1] is B and plan[2] is out:
            plan[3](*plan[4])
            return out
        call = _matmul_call(A, B, out, self.lib)
        if call is None:
            return np.matmul(A, B, out=out)
        gemm, args = call
        real = ctypes.c_float if out.dtype.char == "f" else ctypes.c_double
        I, P = self.lib.int_type, ctypes.c_void_p
        types = (I, I, I, I, I, I, real, P, I, P, I, real, P, I)
        args = tuple(t(x) for t, x in zip(types, args))
        gemm(*args)
        if len(self._plans) >= 32:  # slices of an unshuffled data set: a new A every batch
            self._plans.clear()
        self._plans[id(A), id(B), id(out)] = (A, B, out, gemm, args)
        return out

    def clear(self) -> None:
        self._plans.clear()


def mkl_kernels():
    """:mod:`mlplab.accel._mklkernels` (compiled loops calling MKL on numba's threads), or None
    where it cannot load (no numba, no MKL with threads)."""
    try:
        from . import _mklkernels
    except ImportError:
        return None
    return _mklkernels


def shared_pool_threads() -> int:
    """Threads for numba's parallel loops beside MKL's products (``mlplab[mkl]``): NumPy's
    BLAS's count where MKL and numba both run their threads on TBB, one pool, so that neither
    spins while the other works; else 1 (serial loops). Starts numba's threads (the caller
    checks that numba may be used)."""
    from . import mkl
    from .threads import numpy_blas_threads

    n = numpy_blas_threads()
    binding = mkl.binding()
    if n is None or n < 2 or binding is None or binding.layer != mkl.TBB:
        return 1
    try:
        import numba

        numba.get_num_threads()  # starts numba's threads: its layer is known from here on
        layer = numba.threading_layer()
    except Exception:  # no numba, or no threading layer numba can start: serial loops
        return 1
    return min(n, numba.config.NUMBA_NUM_THREADS) if layer == "tbb" else 1


@contextlib.contextmanager
def numba_threads(n: int):
    """numba's threads for this thread's parallel calls inside: ``n``, then as before."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


SPLIT_INNER = 16  # an inner dimension this many times the larger outer one: split by threads


class InnerSplit:
    """``split(A, B, out)``: ``out = A @ B``, where a long inner dimension meets a small result
    (a convolution's ``∂C/∂W``: 32 × 28 summed over 131,072 windows) made as the sum of
    ``threads`` products over blocks of the inner dimension, each block one MKL call on one
    thread, the blocks on numba's threads (:mod:`mlplab.accel._mklkernels`). MKL's threads
    share such a product poorly: on this project's 2-vCPU machine 4.3 ms on its two threads
    against 2.0 ms in two blocks, 8.4 against 5.9 ms for 64 × 289 over 32,768, and the course's
    CNN step 44 against 40 ms (medians, one process each).

    ``threads`` > 1 only where MKL and numba run on the same TBB threads
    (:func:`mlplab.accel.conv.passes_threads` tells); every other product, and every product
    of a fit on one thread or in NumPy's BLAS, is :func:`matmul`. The sum of the blocks is not
    bit for bit the one product's (blocks add in another order), and is the same at every call.
    """

    def __init__(self, lib: Library | None, threads: int = 1):
        self.lib, self.threads, self.kernel = lib, 1, None
        kernels = mkl_kernels() if lib is not None and lib is not NUMPY and threads > 1 else None
        if kernels is not None:  # else (no numba, no MKL with threads): one product
            self.threads, self.kernel = threads, kernels.inner_blocks
        self._parts: dict[tuple, Array] = {}

    def worth(self, A: Array, B: Array) -> bool:
        """True when ``A @ B`` is made in blocks (see the class docstring)."""
        (m, k), n = A.shape, B.shape[1]
        return self.threads > 1 and k >= SPLIT_INNER * max(m, n) and k >= 4 * self.threads

    def __call__(self, A: Array, B: Array, out: Array) -> Array:
        call = _matmul_call(A, B, out, self.lib) if self.worth(A, B) else None
        if call is None:
            return matmul(A, B, out, self.lib)
        _, (_, ta, tb, m, n, k, _, a, lda, b, ldb, _, _, _) = call
        item = out.itemsize  # the bytes from one inner index to the next:
        a_step = item if ta == NO_TRANS else lda * item  # A's next column
        b_step = ldb * item if tb == NO_TRANS else item  # B's next row
        key = (m, n, out.dtype.str)
        parts = self._parts.get(key)
        if parts is None:
            parts = self._parts[key] = np.empty((self.threads, m, n), out.dtype)
        self.kernel(out.dtype.char == "f", ta, tb, m, n, k, a, lda, a_step, b, ldb, b_step,
                    parts.ctypes.data, self.threads)
        # a column-major out: _matmul_call made the row-major outᵀ = Bᵀ Aᵀ
        np.sum(parts, axis=0, out=out if out.flags.c_contiguous else out.T)
        return out

    def close(self) -> None:
        self._parts.clear()


def _operand(X: Array) -> tuple[int, int] | None:
    """How row-major ``gemm`` reads X: untransposed (contiguous rows) or transposed
    (contiguous columns), with its leading dimension; None when it cannot."""
    (r, c), (sr, sc), item = X.shape, X.strides, X.itemsize
    if (sc == item or c == 1) and sr > 0 and sr % item == 0 and sr // item >= c:
        return NO_TRANS, max(1, sr // item)
    if (sr == item or r == 1) and sc > 0 and sc % item == 0 and sc // item >= r:
        return TRANS, max(1, sc // item)
    return None


def _matmul_fits(A: Array, B: Array, out: Array) -> bool:
    dtype = out.dtype
    return (dtype.char in "fd" and out.ndim == 2 and out.size > 0 and out.flags.writeable
            and (out.flags.c_contiguous or out.flags.f_contiguous) and A.ndim == 2 and B.ndim == 2
            and A.dtype == dtype and B.dtype == dtype and A.shape[1] == B.shape[0] > 0
            and out.shape == (A.shape[0], B.shape[1])
            and not np.may_share_memory(out, A) and not np.may_share_memory(out, B))


def _self_test(lib: Library) -> bool:
    """The update of :mod:`mlplab.accel.blas` and :func:`matmul` in ``lib`` agree with NumPy."""
    if not self_test(lib):
        return False
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        A, W = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
        for X, Y in ((A, W.T), (A @ W.T, W)):  # a transposed operand and a plain one
            C = np.empty((X.shape[0], Y.shape[1]), dtype)
            if matmul(X, Y, C, lib) is not C or not np.allclose(C, X @ Y, rtol=tol, atol=tol):
                return False
    return True
