"""The gradient-descent update folded into the weight-gradient product, by NumPy's own BLAS.

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

The same calls run in MKL where :mod:`mlplab.accel.products` chooses it: each :class:`Library`
is bound through ctypes with its own integer width.
"""

from __future__ import annotations

import ctypes
import os
import weakref

import numpy as np

from .threads import numpy_blas_info

Array = np.ndarray

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS's layout and transpose flags
_funcs: dict[str, object] = {}  # "s"/"d" + "gemm"/"gemv": ctypes functions, once bound
_bound: bool | None = None  # None: not tried yet
_plans: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


class Library:
    """A BLAS bound through ctypes: ``funcs`` (``"sgemm"``, ``"dgemm"``, ``"sgemv"``,
    ``"dgemv"``, row-major CBLAS) and ``int_type``, its integers' ctypes type."""

    def __init__(self, name: str, funcs: dict, int_type):
        self.name, self.funcs, self.int_type = name, funcs, int_type
        self.int_limit = 2 ** (8 * ctypes.sizeof(int_type) - 1)  # dimensions must stay below

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
    if not self_test(NUMPY):
        _funcs.clear()
        _bound = False
    return _bound


def self_test(lib: Library) -> bool:
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
        if not (np.allclose(W, W_ref, rtol=tol, atol=tol) and np.allclose(b, b_ref, rtol=tol,
                                                                          atol=tol)):
            return False
    return True


def available() -> bool:
    """True when NumPy's BLAS is bound (binding is tried once, on first use)."""
    return _bind() if _bound is None else _bound


def _ready(lib: Library | None, *arrays: Array) -> Library | None:
    """``lib`` (None: NumPy's) when it is bound and its integers hold every dimension and row
    stride of ``arrays``, else None."""
    if lib is None or lib is NUMPY:
        lib = NUMPY if available() else None
    if lib is not None and any(max(a.shape + tuple(abs(s) // a.itemsize for s in a.strides),
                                   default=0) >= lib.int_limit for a in arrays):
        return None
    return lib


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
        return [ROW_MAJOR, TRANS, NO_TRANS, p, q, m, alpha, *d, *a, beta, C.ctypes.data, q], 9
    return [ROW_MAJOR, TRANS, NO_TRANS, q, p, m, alpha, *a, *d, beta, C.ctypes.data, p], 7


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
    lib = _ready(lib, D, A, C)
    if lib is None or not _gemm_fits(D, A, C):
        return False
    lib.funcs["sgemm" if C.dtype.char == "f" else "dgemm"](*_gemm_call(alpha, D, A, C, beta)[0])
    return True


def gemv_update(alpha: float, D: Array, v: Array, c: Array, beta: float = 1.0,
                lib: Library | None = None) -> bool:
    """``c ← alpha · Dᵀ v + beta · c`` in place (D: m × p, v: m, c: p, both contiguous)."""
    lib = _ready(lib, D, v, c)
    if lib is None or not _gemv_fits(D, v, c):
        return False
    m, p = D.shape
    lib.funcs["sgemv" if c.dtype.char == "f" else "dgemv"](
        ROW_MAJOR, TRANS, m, p, alpha, D.ctypes.data, D.strides[0] // D.itemsize,
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
        self.gemv_args = (E(ROW_MAJOR), E(TRANS), I(m), I(p), real(alphas[1]),
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
    lib = _ready(lib, D, A, W, b, v)
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
