"""The gradient-descent update folded into the weight-gradient product, by NumPy's own BLAS.

Plain gradient descent needs ``W ← W − α · δᵀA/m`` for every layer. NumPy can only write a
matrix product into a fresh (or zeroed) array, so the update would cost a product into ``dW``
plus two more passes over the parameters (``α·dW`` into a temporary, then the subtraction).
BLAS's ``gemm`` computes ``C ← α·op(A)·op(B) + β·C``: with ``C = W``, ``β = 1`` and
``α = −learning_rate/m`` the update *is* the weight-gradient product, and ``gemv`` does the
same for ``b`` (see ``bench/README.md`` for what this saves).

This module calls the BLAS library NumPy itself is linked against (found by threadpoolctl,
called through ctypes), never a second copy: two OpenBLAS thread pools in one process slow
each other down many times over (``../shared/PERF-NOTES.md``). It binds only when it can
tell the integer width of the library's interface from its symbol names (the ``…64_``
symbols of the OpenBLAS that NumPy's wheels ship) and a self-test on small arrays agrees with
NumPy; otherwise, or with ``MLPLAB_BLAS=numpy`` in the environment, :func:`gemm_update`
returns False and the caller does the same update with NumPy.
"""

from __future__ import annotations

import ctypes
import os
import weakref

import numpy as np

Array = np.ndarray

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_funcs: dict[str, object] = {}  # "s"/"d" + "gemm"/"gemv": ctypes functions, once bound
_bound: bool | None = None  # None: not tried yet
_ptrs: dict[int, tuple] = {}  # id(array) -> (weakref, data pointer), for reused arrays


def _numpy_blas_path() -> str | None:
    """The file of the BLAS library NumPy uses, when threadpoolctl can see it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    roots = [os.path.realpath(os.path.dirname(np.__file__))]
    roots.append(roots[0] + ".libs")  # where NumPy's wheels keep their OpenBLAS
    for info in threadpool_info():
        path = os.path.realpath(info.get("filepath", ""))
        if info.get("user_api") == "blas" and any(path.startswith(r + os.sep) for r in roots):
            return path
    return None


def _bind() -> bool:
    global _bound
    _bound = False
    if os.environ.get("MLPLAB_BLAS", "").lower() == "numpy":
        return False
    path = _numpy_blas_path()
    if path is None:
        return False
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return False
    for prefix, suffix in (("scipy_cblas_", "64_"), ("cblas_", "64_")):  # ILP64: 64-bit ints
        if hasattr(lib, f"{prefix}sgemm{suffix}"):
            break
    else:
        return False
    I, E, P = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    for t, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
        gemm = getattr(lib, f"{prefix}{t}gemm{suffix}")
        gemm.argtypes = [E, E, E, I, I, I, real, P, I, P, I, real, P, I]
        gemm.restype = None
        gemv = getattr(lib, f"{prefix}{t}gemv{suffix}")
        gemv.argtypes = [E, E, I, I, real, P, I, P, I, real, P, I]
        gemv.restype = None
        _funcs[t + "gemm"], _funcs[t + "gemv"] = gemm, gemv
    _bound = True
    if not _self_test():
        _funcs.clear()
        _bound = False
    return _bound


def _self_test() -> bool:
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        D = rng.standard_normal((5, 3)).astype(dtype)
        A = rng.standard_normal((5, 4)).astype(dtype)
        W = rng.standard_normal((3, 4)).astype(dtype)
        b = rng.standard_normal(3).astype(dtype)
        v = np.full(5, 0.2, dtype)
        W_ref, b_ref = W - 0.5 * (D.T @ A), b - 0.5 * (v @ D)
        if not (gemm_update(-0.5, D, A, W) and gemv_update(-0.5, D, v, b)):
            return False
        tol = 1e-5 if dtype == np.float32 else 1e-12
        if not (np.allclose(W, W_ref, rtol=tol, atol=tol) and np.allclose(b, b_ref, rtol=tol,
                                                                          atol=tol)):
            return False
    _ptrs.clear()
    return True


def available() -> bool:
    """True when the BLAS update is bound (binding is tried once, on first use)."""
    return _bind() if _bound is None else _bound


def _ptr(a: Array) -> int:
    """``a.ctypes.data``, remembered for arrays that are used again (the work arrays)."""
    hit = _ptrs.get(id(a))
    if hit is not None and hit[0]() is a:
        return hit[1]
    p = a.ctypes.data
    if len(_ptrs) > 256:
        _ptrs.clear()
    _ptrs[id(a)] = (weakref.ref(a), p)
    return p


def _rows_ok(a: Array, dtype) -> bool:
    """A 2-D array BLAS can read as row-major: contiguous rows, a positive row stride."""
    s = a.strides
    return (a.ndim == 2 and a.dtype == dtype and s[1] == a.itemsize and s[0] > 0
            and s[0] % a.itemsize == 0 and s[0] // a.itemsize >= a.shape[1])


def gemm_update(alpha: float, D: Array, A: Array, C: Array) -> bool:
    """``C += alpha · Dᵀ A`` in place (D: m × p, A: m × q, C: p × q, C-contiguous).

    Returns False, leaving C untouched, when the BLAS is not bound or the arrays do not fit
    (dtype, layout, empty); the caller then computes the same with NumPy.
    """
    if not (_bound or (_bound is None and _bind())):
        return False
    dtype = C.dtype
    if (dtype.char not in "fd" or not C.flags.c_contiguous or not C.flags.writeable
            or C.ndim != 2 or not _rows_ok(D, dtype) or not _rows_ok(A, dtype)):
        return False
    m, p = D.shape
    q = A.shape[1]
    if A.shape[0] != m or C.shape != (p, q) or m == 0 or p == 0 or q == 0:
        return False
    item = C.itemsize
    _funcs["sgemm" if dtype.char == "f" else "dgemm"](
        _ROW_MAJOR, _TRANS, _NO_TRANS, p, q, m, alpha, _ptr(D), D.strides[0] // item,
        _ptr(A), A.strides[0] // item, 1.0, _ptr(C), q)
    return True


def gemv_update(alpha: float, D: Array, v: Array, c: Array) -> bool:
    """``c += alpha · Dᵀ v`` in place (D: m × p, v: m, c: p, both vectors contiguous)."""
    if not (_bound or (_bound is None and _bind())):
        return False
    dtype = c.dtype
    if (dtype.char not in "fd" or c.ndim != 1 or not c.flags.c_contiguous
            or not c.flags.writeable or not _rows_ok(D, dtype) or v.dtype != dtype
            or v.ndim != 1 or not v.flags.c_contiguous):
        return False
    m, p = D.shape
    if v.shape[0] != m or c.shape[0] != p or m == 0 or p == 0:
        return False
    _funcs["sgemv" if dtype.char == "f" else "dgemv"](
        _ROW_MAJOR, _TRANS, m, p, alpha, _ptr(D), D.strides[0] // D.itemsize, _ptr(v), 1,
        1.0, _ptr(c), 1)
    return True
