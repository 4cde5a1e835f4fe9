"""Intel MKL: the products of large fits, and the recurrent loops' packed products and
vector tanh.

Dense, convolutional and recurrent fits: their matrix products, where MKL is bound with
threads of its own (:attr:`Binding.threaded`); :mod:`mlplab.accel.products` chooses them
for a fit and makes them.

Recurrent layers: a step multiplies the same ``W_h`` by a new ``hₜ₋₁`` T times over, each
product small (batch 32 × hidden 128 × four gates: 4 MFLOP). OpenBLAS repacks ``W_h`` into its
kernel's layout on every call and reaches ~100 GFLOP/s there; MKL can pack ``W_h`` once per
training step (``cblas_sgemm_pack``) and then run each of the T products on the packed copy
(``cblas_sgemm_compute``): ~25 µs instead of ~41 µs for that shape (``bench/rnn.py`` reports
the step it makes). Its vector ``tanh`` (``vmsTanh``, low-accuracy mode: about 1 ulp) is
callable from compiled code, where numba's scalar ``tanh`` is ~25× slower than NumPy's. The
time loops call MKL on one thread (:meth:`Binding.one_thread`): their products are too small
to share.

Optional: ``pip install 'mlplab[mkl]'`` (Intel's ``mkl`` wheel, with ``tbb``; Linux on x86-64).
This module finds ``libmkl_rt`` where that wheel puts it (``<prefix>/lib``), or where the
loader finds it, and binds only when MKL's 32-bit integer interface (LP64) is in effect and a
self-test on small arrays agrees with NumPy. ``MLPLAB_MKL=off`` in the environment never loads
it, ``on`` makes a missing MKL an error. Loaded by mlplab, MKL runs its threads on Intel's TBB
(the wheel's ``libtbb``; numba's parallel kernels use the same TBB when its threading layer is
``tbb``), whose idle threads sleep instead of spinning beside NumPy's OpenBLAS pool; without
TBB beside it (or where a run on TBB in a separate process fails), MKL is set up *sequential*
(and the fits' products stay with NumPy's BLAS). The
choice holds for the whole process: another user of the same library gets it too. Where the
process already had MKL set up (a NumPy built on it), its threading stays as it is. How many
threads a fit's products use follows NumPy's BLAS (:func:`mlplab.accel.threads.numpy_blas_threads`,
the one setting threadpoolctl limits), set for the fitting thread only (:meth:`Binding.threads`).
``MKL_THREADING_LAYER`` in the environment, where set, chooses the layer instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import os
import site
import subprocess
import sys
import threading

import numpy as np

from .fused import env_switch

ROW_MAJOR, NO_TRANS, PACKED, B_MATRIX = 101, 111, 151, 162
VML_LA = 0x1  # vector math: "low accuracy", ~1 ulp (HA: ~0.5 ulp, a little slower)
SEQUENTIAL, TBB = 1, 4  # MKL_THREADING_SEQUENTIAL, MKL_THREADING_TBB
_LAYER_NAMES = {"INTEL": 0, "SEQUENTIAL": 1, "PGI": 2, "GNU": 3, "TBB": 4}  # mkl_service.h
LP64 = 0  # MKL_INTERFACE_LP64
_state: dict = {}  # "lib": the binding (or None once tried and failed)
_lock = threading.Lock()


def setting() -> str:
    """``MLPLAB_MKL``: "off" (never load MKL), "auto" (use it where installed) or "on" (an
    error where it cannot be used)."""
    return env_switch("MLPLAB_MKL", "auto", ("auto", "on", "off"))


class Binding:
    """MKL's functions typed for ctypes: packing and the self-test call them here; the compiled
    loops (:mod:`mlplab.accel._rnnloops`, :mod:`mlplab.accel._mklkernels`) call the same
    functions by name."""

    def __init__(self, lib: ctypes.CDLL, path: str, layer: int):
        I, P, S, D = ctypes.c_int, ctypes.c_void_p, ctypes.c_float, ctypes.c_double
        self.lib, self.path, self.layer = lib, path, layer  # MKL_THREADING_*: TBB, SEQUENTIAL…
        self.sequential = layer == SEQUENTIAL
        self._local = lib.MKL_Set_Num_Threads_Local
        self._local.argtypes, self._local.restype = [I], I
        self.blas = {}  # "sgemm", "dgemm", "sgemv", "dgemv": row-major CBLAS, 32-bit integers
        for p, real in (("s", S), ("d", D)):
            gemm, gemv = getattr(lib, f"cblas_{p}gemm"), getattr(lib, f"cblas_{p}gemv")
            gemm.argtypes, gemm.restype = [I] * 6 + [real, P, I, P, I, real, P, I], None
            gemv.argtypes, gemv.restype = [I] * 4 + [real, P, I, P, I, real, P, I], None
            self.blas[p + "gemm"], self.blas[p + "gemv"] = gemm, gemv
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

    @property
    def threaded(self) -> bool:
        """True when MKL runs its products on threads of its own (else sequential)."""
        return not self.sequential

    def one_thread(self):
        """MKL on one thread for this thread's calls inside (nothing to do when sequential)."""
        return self.threads(1)

    @contextlib.contextmanager
    def threads(self, n: int):
        """MKL on ``n`` threads for this thread's calls inside (other threads keep theirs)."""
        if self.sequential:
            yield
            return
        before = self._local(n)
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
            current = lib.MKL_Set_Threading_Layer(ctypes.c_int(-1))  # -1: asks, sets nothing
            if current != -1:
                wanted = current  # set up already (a NumPy built on MKL): as it is
            elif os.environ.get("MKL_THREADING_LAYER", "TBB").upper() in _LAYER_NAMES:
                wanted = _LAYER_NAMES[os.environ.get("MKL_THREADING_LAYER", "TBB").upper()]
                if wanted == TBB:  # mlplab's choice or the user's: probed, its TBB preloaded
                    wanted = _threading(path)
            else:
                wanted = _threading(path)
            layer = lib.MKL_Set_Threading_Layer(ctypes.c_int(wanted))
            if layer not in _LAYER_NAMES.values():
                continue  # an answer this module does not know: not used
            binding = Binding(lib, path, layer)
        except (OSError, AttributeError):
            continue
        if _self_test(binding):
            return binding
    return None


# A run of MKL on TBB in a process of its own: MKL ends the process it runs in (a "FATAL
# ERROR") when it cannot load the threading library it was set to, so that is tried apart first
_PROBE = """
import ctypes, sys
ctypes.CDLL(sys.argv[2], mode=ctypes.RTLD_GLOBAL)
lib = ctypes.CDLL(sys.argv[1])
if lib.MKL_Set_Threading_Layer(ctypes.c_int(4)) != 4:
    sys.exit(3)
F, P, I = ctypes.c_float, ctypes.c_void_p, ctypes.c_int
lib.cblas_sgemm.argtypes = [I] * 6 + [F, P, I, P, I, F, P, I]
a, c = (F * 4)(1, 2, 3, 4), (F * 4)()
lib.cblas_sgemm(101, 111, 111, 2, 2, 2, 1.0, a, 2, a, 2, 0.0, c, 2)
sys.exit(0 if list(c) == [7.0, 10.0, 15.0, 22.0] else 4)
"""


def _threading(path: str) -> int:
    """The threading layer to ask of the MKL at ``path``: TBB (whose idle threads sleep) where
    the wheel's ``libtbb`` sits beside it and a run of MKL on it in a separate process (~0.1 s)
    multiplies right; else sequential. TBB is then loaded here by its path (MKL loads it by
    name, and the loader does not look in the environment's ``lib``)."""
    if not os.path.isabs(path) or not sys.executable or getattr(sys, "frozen", False):
        return SEQUENTIAL  # a bare name from the loader, or no Python to run the probe with
    folder = os.path.dirname(os.path.realpath(path))
    found = glob.glob(os.path.join(folder, "libtbb.so.12*"))
    for tbb in sorted({os.path.realpath(f): f for f in found}.values()):  # each file once
        try:
            probe = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE, path, tbb],
                                   capture_output=True, timeout=30)
        except (OSError, ValueError, subprocess.SubprocessError):
            return SEQUENTIAL
        if probe.returncode == 0:
            ctypes.CDLL(tbb, mode=ctypes.RTLD_GLOBAL)
            return TBB
    return SEQUENTIAL


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
    with _lock:  # one process-wide set-up, whichever thread asks first
        if "lib" not in _state:
            _state["lib"] = _open()
    if _state["lib"] is None and chosen == "on":
        from ..errors import ConfigError

        raise ConfigError("MLPLAB_MKL=on, but no usable MKL was found (libmkl_rt with its LP64 "
                          "interface, passing a self-test): pip install 'mlplab[mkl]' "
                          "(Linux, x86-64), or unset MLPLAB_MKL")
    return _state["lib"]
