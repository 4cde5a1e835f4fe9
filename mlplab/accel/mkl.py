"""Intel MKL's packed matrix products and vector tanh, for the recurrent accelerator.

A recurrent step multiplies the same ``W_h`` by a new ``hₜ₋₁`` T times over, each product small
(batch 32 × hidden 128 × four gates: 4 MFLOP). OpenBLAS repacks ``W_h`` into its kernel's
layout on every call and reaches ~100 GFLOP/s there on this project's 2-vCPU AVX-512 machine;
MKL can pack ``W_h`` once per training step (``cblas_sgemm_pack``) and then run each of the T
products on the packed copy (``cblas_sgemm_compute``): ~25 µs instead of ~41 µs for that shape
(``bench/rnn.py`` reports the step it makes). Its vector ``tanh`` (``vmsTanh``, low-accuracy
mode: about 1 ulp) is callable from compiled code, where numba's scalar ``tanh`` is ~25× slower
than NumPy's.

Optional: ``pip install 'mlplab[mkl]'`` (Intel's ``mkl`` wheel, x86-64). This module finds
``libmkl_rt`` where that wheel puts it (``<prefix>/lib``), or where the loader finds it, and
binds only when a self-test on small arrays agrees with NumPy; ``MLPLAB_MKL=off`` in the
environment never loads it. Loaded by mlplab, MKL runs *sequential* (no thread pool of its own,
so none to fight NumPy's OpenBLAS pool), called from the training thread. Where the process
already has MKL (a NumPy built on it), that copy is used, with the threads its owner set up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import site
import sys

import numpy as np

from .fused import _switch

ROW_MAJOR, NO_TRANS, PACKED, B_MATRIX = 101, 111, 151, 162
VML_LA = 0x1  # vector math: "low accuracy", ~1 ulp (HA: ~0.5 ulp, a little slower)
SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL
_state: dict = {}  # "lib": the binding (or None once tried and failed)


def setting() -> str:
    """``MLPLAB_MKL``: "off" (never load MKL) or "auto" (use it where installed)."""
    return _switch("MLPLAB_MKL", "auto", ("auto", "off"))


class Binding:
    """The MKL functions the recurrent loops call, typed for ctypes (and so for numba)."""

    def __init__(self, lib: ctypes.CDLL):
        I, P, S, D = ctypes.c_int, ctypes.c_void_p, ctypes.c_float, ctypes.c_double
        self.lib = lib
        for p, real in (("s", S), ("d", D)):
            size = getattr(lib, f"cblas_{p}gemm_pack_get_size")
            size.argtypes, size.restype = [I] * 4, ctypes.c_size_t
            pack = getattr(lib, f"cblas_{p}gemm_pack")
            pack.argtypes, pack.restype = [I] * 6 + [real, P, I, P], None
            compute = getattr(lib, f"cblas_{p}gemm_compute")
            compute.argtypes, compute.restype = [I] * 6 + [P, I, P, I, real, P, I], None
            tanh = getattr(lib, f"vm{p}Tanh")
            tanh.argtypes, tanh.restype = [I, P, P, ctypes.c_longlong], None
            setattr(self, f"{p}pack_size", size)
            setattr(self, f"{p}pack", pack)
            setattr(self, f"{p}compute", compute)
            setattr(self, f"{p}tanh", tanh)


class Packed:
    """``B`` (K, N) packed by MKL for products ``A @ B`` with ``rows`` rows in A; re-packed in
    place by :meth:`pack` when B's values change (same shape)."""

    def __init__(self, lib: Binding, B: np.ndarray, rows: int):
        self.lib, self.rows, self.shape, self.dtype = lib, rows, B.shape, B.dtype
        p = "s" if B.dtype == np.float32 else "d"
        K, N = B.shape
        n_bytes = getattr(lib, f"{p}pack_size")(B_MATRIX, rows, N, K)
        raw = np.empty(n_bytes + 64, np.uint8)  # 64-byte aligned, as MKL's own allocator does
        start = -raw.ctypes.data % 64
        self.buffer = raw[start:start + n_bytes]
        self._pack = getattr(lib, f"{p}pack")
        self.pack(B)

    def pack(self, B: np.ndarray) -> None:
        K, N = B.shape
        B = np.ascontiguousarray(B)
        self._pack(ROW_MAJOR, B_MATRIX, NO_TRANS, self.rows, N, K, 1.0, B.ctypes.data, N,
                   self.buffer.ctypes.data)


def _library_paths() -> list[str]:
    """Where ``libmkl_rt`` may be: already in the process (threadpoolctl), beside Python's
    prefix (the ``mkl`` wheel, conda), in the user's base (``pip install --user``), on the
    loader's path."""
    from threadpoolctl import threadpool_info

    loaded = [i["filepath"] for i in threadpool_info() if i.get("internal_api") == "mkl"]
    dirs = {os.path.join(prefix, "lib") for prefix in (sys.prefix, sys.base_prefix,
                                                        site.getuserbase())}
    found = [os.path.join(d, name) for d in sorted(dirs)
             for name in ("libmkl_rt.so.2", "libmkl_rt.so", "libmkl_rt.2.dylib")
             if os.path.exists(os.path.join(d, name))]
    by_loader = ctypes.util.find_library("mkl_rt")
    return loaded + found + ([by_loader] if by_loader else [])


def _open() -> Binding | None:
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
            # sequential: no thread pool (a no-op where MKL was already set up by its owner)
            lib.MKL_Set_Threading_Layer(ctypes.c_int(SEQUENTIAL))
            binding = Binding(lib)
        except (OSError, AttributeError):
            continue
        return binding if _self_test(binding) else None
    return None


def _self_test(lib: Binding) -> bool:
    rng = np.random.default_rng(0)
    for dtype, p, tol in ((np.float32, "s", 1e-5), (np.float64, "d", 1e-13)):
        A, B = rng.normal(size=(3, 5)).astype(dtype), rng.normal(size=(5, 4)).astype(dtype)
        C = np.ones((3, 4), dtype)
        packed = Packed(lib, B, 3)
        getattr(lib, f"{p}compute")(ROW_MAJOR, NO_TRANS, PACKED, 3, 4, 5, A.ctypes.data, 5,
                                    packed.buffer.ctypes.data, 4, 1.0, C.ctypes.data, 4)
        t = np.linspace(-3, 3, 7).astype(dtype)
        out = np.empty_like(t)
        getattr(lib, f"{p}tanh")(len(t), t.ctypes.data, out.ctypes.data, VML_LA)
        if not (np.allclose(C, A @ B + 1, rtol=tol, atol=tol)
                and np.allclose(out, np.tanh(t), rtol=tol, atol=tol)):
            return False
    return True


def binding() -> Binding | None:
    """The bound MKL, or None: not installed, ``MLPLAB_MKL=off``, or its self-test failed."""
    if setting() == "off":
        return None
    if "lib" not in _state:
        _state["lib"] = _open()
    return _state["lib"]
