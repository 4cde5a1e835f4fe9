"""How many threads the accelerators use: one setting, honoured by BLAS and the kernels together.

The matrix products run in NumPy's BLAS, with its own pool of threads (or in MKL's, where
``mlplab[mkl]`` is installed: :func:`mlplab.accel.products.for_fit` gives it this same count, in
the fitting thread); the compiled elementwise kernels (:mod:`mlplab.accel.numba_kernels`) run
in numba's. Both pools take turns within a
step, and a pool that is larger than its share of the machine makes the other wait (a BLAS
call waits for its slowest thread). So with ``MLPLAB_PARALLEL=on`` (off by default: see
:func:`mlplab.accel.fused.parallel_setting`) the kernels use exactly as many threads as NumPy's
BLAS may use at the moment a ``fit`` starts, never more than numba's own pool:

- ``threadpoolctl.threadpool_limits(n)`` (or :func:`limit`), ``OPENBLAS_NUM_THREADS`` /
  ``OMP_NUM_THREADS`` set before start-up: both pools shrink to n;
- scikit-learn's ``n_jobs`` (joblib's worker processes get their BLAS limited to their share
  of the cores) and Dask's workers (their nanny starts them with one BLAS thread): the kernels
  follow, so several fits side by side never run more threads than cores.

``numba.set_num_threads`` is per thread in numba, so fits running in different threads of one
process (a Dask worker with several threads) each keep their own count.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np

__all__ = ["blas_threads", "kernel_threads", "limit", "numpy_blas_threads",
           "one_blas_thread_limiter"]


def numpy_blas_info(infos: list[dict]) -> dict | None:
    """Of threadpoolctl's ``threadpool_info()``, the entry of the BLAS NumPy itself uses."""
    roots = [os.path.realpath(os.path.dirname(np.__file__))]
    roots.append(roots[0] + ".libs")  # where NumPy's wheels keep their OpenBLAS
    for info in infos:
        path = os.path.realpath(info.get("filepath", ""))
        if info.get("user_api") == "blas" and any(path.startswith(r + os.sep) for r in roots):
            return info
    return None


def numpy_blas_threads() -> int | None:
    """Threads NumPy's BLAS may use now; None when threadpoolctl cannot tell (a NumPy whose
    BLAS lives outside its own folder, as conda's and Linux distributions' do)."""
    from threadpoolctl import threadpool_info

    info = numpy_blas_info(threadpool_info())
    return max(1, int(info.get("num_threads") or 1)) if info else None


def blas_threads() -> int:
    """Threads NumPy's BLAS may use now (1 when threadpoolctl cannot tell)."""
    n = numpy_blas_threads()
    return 1 if n is None else n


def kernel_threads() -> int:
    """Threads for the compiled kernels: NumPy's BLAS's, at most numba's pool (numba imported)."""
    import numba

    return max(1, min(blas_threads(), numba.config.NUMBA_NUM_THREADS))


def one_blas_thread_limiter():
    """A callable giving a context in which BLAS uses one thread, restored on the way out: for
    small products (on a quiet 2-core machine a second thread gains them ~10 %, while other
    jobs hold the cores it makes a recurrent step 2.5–6× slower: each small product waits for
    its slowest thread, ``bench/rnn_threads.py``). It limits the pools loaded when it was made
    (threadpoolctl's controller, a scan of the process's libraries: make it once per use)."""
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


@contextmanager
def limit(n: int):
    """``with limit(n):`` fits inside use at most n threads, in BLAS and in the kernels alike
    (``threadpoolctl.threadpool_limits(n)``, which the kernels follow)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(n):
        yield
