"""Intel MKL's packed matrix products and vector tanh, for the recurrent accelerator.

A recurrent step multiplies the same ``W_h`` by a new ``hₜ₋₁`` T times over, each product small
(batch 32 × hidden 128 × four gates: 4 MFLOP). OpenBLAS repacks ``W_h`` into its kernel's
layout on every call and reaches ~100 GFLOP/s there on this project's 2-vCPU AVX-512 machine;
MKL can pack ``W_h`` once per training step (``cblas_sgemm_pack``) and then run each of the T
products on the packed copy (``cblas_sgemm_compute``): ~25 µs instead of ~41 µs for that shape
(``bench/rnn.py`` reports the step it makes). Its vector ``tanh`` (``vmsTanh``, low-accuracy
mode: about 1 ulp) is callable from compiled code, where numba's scalar ``tanh`` is ~25× slower
than NumPy's.

Optional: ``pip install 'mlplab[mkl]'`` (Intel's ``mkl`` wheel; Linux on x86-64). This module
finds ``libmkl_rt`` where that wheel puts it (``<prefix>/lib``), or where the loader finds it,
and binds only when MKL's 32-bit integer interface (LP64) is in effect and a self-test on small
arrays agrees with NumPy. ``MLPLAB_MKL=off`` in the environment never loads it, ``on`` makes a
missing MKL an error. Loaded by mlplab, MKL is set up *sequential* (no thread pool of its own,
so none to fight NumPy's OpenBLAS pool), for the whole process: another user of the same
library gets sequential MKL too. Where the process already had MKL set up with threads (a
NumPy built on it), the time loops' calls are limited to one thread (:meth:`Binding.one_thread`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import os
import site
import sys

import numpy as np

from .fused import env_switch

ROW_MAJOR, NO_TRANS, PACKED, B_MATRIX = 101, 111, 151, 162
VML_LA = 0x1  # vector math: "low accuracy", ~1 ulp (HA: ~0.5 ulp, a little slower)
SEQUENTIAL, LP64 = 1, 0  # MKL_THREADING_SEQUENTIAL, MKL_INTERFACE_LP64
_state: dict = {}  # "lib": the binding (or None once tried and failed)


def setting() -> str:
    """``MLPLAB_MKL``: "off" (never load MKL), "auto" (use it where installed) or "on" (an
    error where it cannot be used)."""
    return env_switch("MLPLAB_MKL", "auto", ("auto", "on", "off"))


class Binding:
    """MKL's functions typed for ctypes: packing and the self-test call them here; the compiled
    loops (:mod:`mlplab.accel._rnnloops`) call the same functions by name."""

    def __init__(self, lib: ctypes.CDLL, path: str, sequential: bool):
        I, P, S, D = ctypes.c_int, ctypes.c_void_p, ctypes.c_float, ctypes.c_double
        self.lib, self.path, self.sequential = lib, path, sequential
        self._local = lib.MKL_Set_Num_Threads_Local
        self._local.argtypes, self._local.restype = [I], I
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

    @contextlib.contextmanager
    def one_thread(self):
        """MKL on one thread for this thread's calls inside (nothing to do when sequential)."""
        if self.sequential:
            yield
            return
        before = self._local(1)
        try:
            yield
        finally:
            self._local(before)


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
        if B.shape != self.shape or B.dtype != self.dtype:  # the buffer's size depends on them
            raise ValueError(f"packing {B.dtype} {B.shape} into a buffer for {self.dtype} "
                             f"{self.shape}")
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
    found = []
    for prefix in dict.fromkeys((sys.prefix, site.getuserbase(), sys.base_prefix)):  # in order
        # libmkl_rt.so.2 (MKL 2024–2025), .so.3 (2026), …: the newest first
        names = glob.glob(os.path.join(prefix, "lib", "libmkl_rt.so*"))
        found += sorted(names, key=_version, reverse=True)
    by_loader = ctypes.util.find_library("mkl_rt")
    return loaded + found + ([by_loader] if by_loader else [])


def _version(path: str) -> tuple:
    """``libmkl_rt.so.3`` → (3,); a bare ``libmkl_rt.so`` sorts last."""
    tail = path.rsplit(".so", 1)[-1].strip(".")
    return tuple(int(p) for p in tail.split(".") if p.isdigit()) or (-1,)


def _open() -> Binding | None:
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
            # each returns the layer in effect: the one asked for, or the one its owner set up
            if lib.MKL_Set_Interface_Layer(ctypes.c_int(LP64)) != LP64:
                continue  # 64-bit integers: the loops' 32-bit arguments would be misread
            layer = lib.MKL_Set_Threading_Layer(ctypes.c_int(SEQUENTIAL))
            binding = Binding(lib, path, sequential=layer == SEQUENTIAL)
        except (OSError, AttributeError):
            continue
        if _self_test(binding):
            return binding
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
    """The bound MKL, or None: not installed, ``MLPLAB_MKL=off``, or its self-test failed
    (with ``MLPLAB_MKL=on`` those are a :class:`~mlplab.errors.ConfigError`)."""
    chosen = setting()
    if chosen == "off":
        return None
    if "lib" not in _state:
        _state["lib"] = _open()
    if _state["lib"] is None and chosen == "on":
        from ..errors import ConfigError

        raise ConfigError("MLPLAB_MKL=on, but no usable MKL was found (libmkl_rt with its LP64 "
                          "interface, passing a self-test): pip install 'mlplab[mkl]' "
                          "(Linux, x86-64), or unset MLPLAB_MKL")
    return _state["lib"]
