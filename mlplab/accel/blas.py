"""The gradient-descent update folded into the weight-gradient product; the dense step's products.

Plain gradient descent needs ``W ← W − α · δᵀA/m`` for every layer. NumPy can only write a
matrix product into a fresh (or zeroed) array, so the update would cost a product into ``dW``
plus two more passes over the parameters (``α·dW`` into a temporary, then the subtraction).
BLAS's ``gemm`` computes ``C ← α·op(A)·op(B) + β·C``: with ``C = W``, ``β = 1`` and
``α = −learning_rate/m`` the update *is* the weight-gradient product, and ``gemv`` does the
same for ``b`` (see ``bench/README.md`` for what this saves).

This module calls the BLAS library NumPy itself is linked against (found by threadpoolctl,
called through ctypes), never a second copy: two OpenBLAS thread pools in one process slow each
other down many times over (their threads busy-wait for each other's cores). It binds only when
it can tell the integer width of the library's interface from its symbol names (the ``…64_``
symbols of the OpenBLAS that NumPy's wheels ship) and a self-test on small arrays agrees with
NumPy; otherwise, or with ``MLPLAB_BLAS=numpy`` in the environment, :func:`gemm_update` returns
False and the caller does the same update with NumPy.

Where MKL is installed with threads (:mod:`mlplab.accel.mkl`), :func:`products` gives the dense
step MKL instead (faster on the dense layers' shapes): then every product of the step, the
forward ones too (:func:`matmul`), runs in MKL, and NumPy's OpenBLAS pool stays asleep. Each
:class:`Library` is bound through ctypes with its own integer width.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import weakref

import numpy as np

from .threads import numpy_blas_info

Array = np.ndarray

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_funcs: dict[str, object] = {}  # "s"/"d" + "gemm"/"gemv": ctypes functions, once bound
_bound: bool | None = None  # None: not tried yet
_plans: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_mkl: dict = {}  # "lib": MKL's Library (or None once tried and not usable)
PRODUCT_WORK = 1_000_000  # a batch's rows × parameters from which a fit's products go to MKL


class Library:
    """A BLAS bound through ctypes: ``funcs`` (``"sgemm"``, ``"dgemm"``, ``"sgemv"``,
    ``"dgemv"``, row-major CBLAS) and ``int_type``, its integers' ctypes type."""

    def __init__(self, name: str, funcs: dict, int_type):
        self.name, self.funcs, self.int_type = name, funcs, int_type

    def __repr__(self) -> str:
        return f"Library({self.name!r})"


NUMPY = Library("numpy", _funcs, ctypes.c_int64)  # NumPy's own (bound on first use)


def _numpy_blas_path() -> str | None:
    """The file of the BLAS library NumPy uses, when threadpoolctl can see it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    info = numpy_blas_info(threadpool_info())
    return None if info is None else os.path.realpath(info["filepath"])


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
    if not _self_test(NUMPY):
        _funcs.clear()
        _bound = False
    return _bound


def _self_test(lib: Library) -> bool:
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        D = rng.standard_normal((5, 3)).astype(dtype)
        A = rng.standard_normal((5, 4)).astype(dtype)
        W = rng.standard_normal((3, 4)).astype(dtype)
        b = rng.standard_normal(3).astype(dtype)
        v = np.full(5, 0.2, dtype)
        W_ref, b_ref = W - 0.5 * (D.T @ A), b - 0.5 * (v @ D)
        if not (gemm_update(-0.5, D, A, W, lib=lib) and gemv_update(-0.5, D, v, b, lib=lib)):
            return False
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for X, Y in ((A, W.T), (D, W)):  # a transposed operand and a plain one
            C = np.empty((X.shape[0], Y.shape[1]), dtype)
            if matmul(X, Y, C, lib) is not C or not np.allclose(C, X @ Y, rtol=tol, atol=tol):
                return False
        if not (np.allclose(W, W_ref, rtol=tol, atol=tol) and np.allclose(b, b_ref, rtol=tol,
                                                                          atol=tol)):
            return False
    return True


def available() -> bool:
    """True when NumPy's BLAS is bound (binding is tried once, on first use)."""
    return _bind() if _bound is None else _bound


def _ready(lib: Library | None) -> Library | None:
    """``lib`` (None: NumPy's) when it is bound, else None."""
    if lib is None or lib is NUMPY:
        return NUMPY if available() else None
    return lib


def mkl_library() -> Library | None:
    """MKL's BLAS when :mod:`mlplab.accel.mkl` binds MKL with threads of its own and its
    products pass :func:`_self_test`; else None (sequential MKL is no faster than NumPy's
    BLAS on two threads)."""
    if "lib" not in _mkl:
        _mkl["lib"] = None
        if os.environ.get("MLPLAB_BLAS", "").lower() != "numpy":
            from . import mkl

            binding = mkl.binding()
            if binding is not None and binding.threaded:
                lib = Library("mkl", dict(binding.blas), ctypes.c_int)
                _mkl["lib"] = lib if _self_test(lib) else None
    return _mkl["lib"]


def products(run, threads: int | None = None):
    """The library for the products of ``run`` (a fit), and a context that gives it
    ``threads`` threads in the calling thread (None: as many as NumPy's BLAS may use now,
    :func:`mlplab.accel.threads.blas_threads`): MKL where :func:`mkl_library` has it and the
    fit is worth it, or ``MLPLAB_MKL=on`` asks for it in every fit; else NumPy's BLAS
    (``None``: ``np.matmul`` and :data:`NUMPY`), whose threads are NumPy's to set. Worth it:
    the fit pays for loading MKL (:func:`mlplab.accel.fused.worth_compiling`; 33 ms) and its
    products are large (a batch's rows × the parameters ≥ :data:`PRODUCT_WORK`): on small ones
    MKL gains nothing, and the playground's many small fits side by side ran 3× slower."""
    from . import mkl
    from .fused import worth_compiling

    large = run.batch_size * sum(p.size for p in run.net.params) >= PRODUCT_WORK
    wanted = mkl.setting() == "on" or (large and worth_compiling(run))
    lib = mkl_library() if wanted else None
    if lib is None:
        return None, contextlib.nullcontext()
    from .threads import blas_threads

    return lib, mkl.binding().threads(blas_threads() if threads is None else threads)


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
    return (lib.funcs["sgemm" if out.dtype.char == "f" else "dgemm"],
            (_ROW_MAJOR, a, b, m, n, k, 1.0, A.ctypes.data, lda, B.ctypes.data, ldb, 0.0,
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


def _operand(X: Array) -> tuple[int, int] | None:
    """How row-major ``gemm`` reads X: untransposed (contiguous rows) or transposed
    (contiguous columns), with its leading dimension; None when it cannot."""
    (r, c), (sr, sc), item = X.shape, X.strides, X.itemsize
    if (sc == item or c == 1) and sr > 0 and sr % item == 0 and sr // item >= c:
        return _NO_TRANS, max(1, sr // item)
    if (sr == item or r == 1) and sc > 0 and sc % item == 0 and sc // item >= r:
        return _TRANS, max(1, sc // item)
    return None


def _matmul_fits(A: Array, B: Array, out: Array) -> bool:
    dtype = out.dtype
    return (dtype.char in "fd" and out.ndim == 2
            and (out.flags.c_contiguous or out.flags.f_contiguous) and out.flags.writeable and out.size > 0 and A.ndim == 2 and B.ndim == 2
            and A.dtype == dtype and B.dtype == dtype and A.shape[1] == B.shape[0] > 0
            and out.shape == (A.shape[0], B.shape[1])
            and not np.may_share_memory(out, A) and not np.may_share_memory(out, B))


def _rows_ok(a: Array, dtype) -> bool:
    """A 2-D array BLAS can read as row-major: contiguous rows, a positive row stride."""
    s = a.strides
    return (a.ndim == 2 and a.dtype == dtype and s[1] == a.itemsize and s[0] > 0
            and s[0] % a.itemsize == 0 and s[0] // a.itemsize >= a.shape[1])


def _gemm_fits(D: Array, A: Array, C: Array) -> bool:
    dtype = C.dtype
    return (dtype.char in "fd" and C.ndim == 2 and C.flags.writeable
            and (C.flags.c_contiguous or C.flags.f_contiguous)
            and _rows_ok(D, dtype) and _rows_ok(A, dtype) and A.shape[0] == D.shape[0]
            and C.shape == (D.shape[1], A.shape[1]) and C.size > 0 and D.shape[0] > 0)


def _gemm_call(alpha: float, D: Array, A: Array, C: Array, beta: float = 1.0) -> tuple[list, int]:
    """The row-major ``gemm`` arguments for ``C ← alpha · Dᵀ A + beta · C``, and the position of
    A's pointer in them. A Fortran-ordered C is the C-contiguous ``Cᵀ``, computed as
    ``Cᵀ ← alpha · Aᵀ D + beta · Cᵀ``."""
    (m, p), q, item = D.shape, A.shape[1], C.itemsize
    d, a = (D.ctypes.data, D.strides[0] // item), (A.ctypes.data, A.strides[0] // item)
    if C.flags.c_contiguous:
        return [_ROW_MAJOR, _TRANS, _NO_TRANS, p, q, m, alpha, *d, *a, beta, C.ctypes.data, q], 9
    return [_ROW_MAJOR, _TRANS, _NO_TRANS, q, p, m, alpha, *a, *d, beta, C.ctypes.data, p], 7


def _gemv_fits(D: Array, v: Array, c: Array) -> bool:
    dtype = c.dtype
    return (dtype.char in "fd" and c.ndim == 1 and c.flags.c_contiguous and c.flags.writeable
            and _rows_ok(D, dtype) and v.dtype == dtype and v.ndim == 1
            and v.flags.c_contiguous and v.shape[0] == D.shape[0] and c.shape[0] == D.shape[1]
            and c.size > 0 and D.shape[0] > 0)


def gemm_update(alpha: float, D: Array, A: Array, C: Array, beta: float = 1.0,
                lib: Library | None = None) -> bool:
    """``C ← alpha · Dᵀ A + beta · C`` in place (D: m × p, A: m × q, C: p × q, C- or
    F-contiguous; beta = 1 adds to C, beta = 0 overwrites it).

    Returns False, leaving C untouched, when the BLAS (``lib``; None: NumPy's) is not bound or
    the arrays do not fit (dtype, layout, empty); the caller then computes the same with NumPy.
    """
    lib = _ready(lib)
    if lib is None or not _gemm_fits(D, A, C):
        return False
    lib.funcs["sgemm" if C.dtype.char == "f" else "dgemm"](*_gemm_call(alpha, D, A, C, beta)[0])
    return True


def gemv_update(alpha: float, D: Array, v: Array, c: Array, beta: float = 1.0,
                lib: Library | None = None) -> bool:
    """``c ← alpha · Dᵀ v + beta · c`` in place (D: m × p, v: m, c: p, both contiguous)."""
    lib = _ready(lib)
    if lib is None or not _gemv_fits(D, v, c):
        return False
    m, p = D.shape
    lib.funcs["sgemv" if c.dtype.char == "f" else "dgemv"](
        _ROW_MAJOR, _TRANS, m, p, alpha, D.ctypes.data, D.strides[0] // D.itemsize,
        v.ctypes.data, 1, beta, c.ctypes.data, 1)
    return True


class _Step:
    """One layer's ``W ← aW·Dᵀ A + β·W``, ``b ← ab·Dᵀ v + β·b`` with the ctypes arguments built
    once (β = 1: the gradient-descent step into W and b; β = 0: the gradients into dW and db).

    It keeps the layer's own arrays (D, W, b, v) but only a weak reference to the input A (a
    batch, or the caller's data set itself), so that it never keeps the data alive; a call
    is made only after A is confirmed to be the same array, or re-pointed to a new one.
    """

    __slots__ = ("arrays", "input", "layout", "alphas", "gemm", "gemm_args", "at", "gemv",
                 "gemv_args")

    def __init__(self, D: Array, A: Array, W: Array, b: Array, v: Array, alphas,
                 beta: float, lib: Library):
        self.arrays, self.alphas = (D, W, b, v), alphas
        self.input, self.layout = weakref.ref(A), (A.shape, A.strides, A.dtype)
        t = "s" if W.dtype.char == "f" else "d"
        real = ctypes.c_float if t == "s" else ctypes.c_double
        I, E, P = lib.int_type, ctypes.c_int, ctypes.c_void_p
        m, p = D.shape
        self.gemm, self.gemv = lib.funcs[t + "gemm"], lib.funcs[t + "gemv"]
        args, self.at = _gemm_call(alphas[0], D, A, W, beta)  # A's pointer: args[at]
        self.gemm_args = [f(x) for f, x in zip((E, E, E, I, I, I, real, P, I, P, I, real, P, I),
                                               args)]
        self.gemv_args = (E(_ROW_MAJOR), E(_TRANS), I(m), I(p), real(alphas[1]),
                          P(D.ctypes.data), I(D.strides[0] // W.itemsize), P(v.ctypes.data),
                          I(1), real(beta), P(b.ctypes.data), I(1))

    def points_at(self, A: Array) -> bool:
        """True when the call reads A: the same array, or re-pointed to this one (the next
        slice of the data when batches are not shuffled) if its layout is the same."""
        if self.input() is A:
            return True
        if (A.shape, A.strides, A.dtype) != self.layout:
            return False
        self.gemm_args[self.at] = ctypes.c_void_p(A.ctypes.data)
        self.input = weakref.ref(A)
        return True


def sgd_step(owner, alpha_W: float, alpha_b: float, D: Array, A: Array, W: Array, b: Array,
             v: Array, lib: Library | None = None) -> bool:
    """``W += alpha_W · Dᵀ A`` and ``b += alpha_b · Dᵀ v``: one layer's gradient-descent step.

    ``owner`` (the layer) keeps a prepared call per batch size, reused while it is called with
    the same arrays (its work arrays, the reused batch array): then a step costs two BLAS calls
    and no argument checks. Returns False, touching nothing, when :func:`gemm_update` could not.
    """
    return _prepared(owner, 1.0, (alpha_W, alpha_b), D, A, W, b, v, lib)


def gradients(owner, D: Array, A: Array, dW: Array, db: Array, v: Array, scale: float,
              lib: Library | None = None) -> bool:
    """``dW = scale · Dᵀ A`` and ``db = Dᵀ v``: one layer's gradients (with ``scale = 1/m`` and
    ``v = (1/m, …, 1/m)`` the means over the batch), prepared as :func:`sgd_step`'s calls.
    Returns False, touching nothing, when the BLAS is not bound or the arrays do not fit."""
    return _prepared(owner, 0.0, (scale, 1.0), D, A, dW, db, v, lib)


def _prepared(owner, beta: float, alphas: tuple, D: Array, A: Array, W: Array, b: Array,
              v: Array, lib: Library | None) -> bool:
    plans = _plans.get(owner)
    key = (len(D), beta, lib)
    plan = plans.get(key) if plans is not None else None
    if plan is not None:
        a = plan.arrays
        if (a[0] is D and a[1] is W and a[2] is b and a[3] is v
                and plan.alphas == alphas and plan.points_at(A)):
            plan.gemm(*plan.gemm_args)
            plan.gemv(*plan.gemv_args)
            return True
    lib = _ready(lib)
    if lib is None or not (_gemm_fits(D, A, W) and _gemv_fits(D, v, b)):
        return False
    gemm_update(alphas[0], D, A, W, beta, lib)
    gemv_update(alphas[1], D, v, b, beta, lib)
    if plans is None:
        plans = _plans[owner] = {}
    if len(plans) >= 4:
        plans.pop(next(iter(plans)))
    plans[key] = _Step(D, A, W, b, v, alphas, beta, lib)
    return True
