"""The minibatch gather alone: NumPy's ``take`` against the compiled gather, serial and on
every thread, for the bench data (60,000 × 784 float32) at batch 128 and 1,024.

    python bench/gather.py

Each way gathers the batches of fresh permutations into one reused array; best of 20 rounds
of 100 batches, ways alternating, µs per batch. mlplab gathers with the compiled kernel on all
threads from :data:`mlplab.accel.fused.GATHER_THREADS` threads on, with ``take`` below; this
script is the measurement behind that threshold (bench/README.md).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mlplab.accel import numba_kernels as nk  # noqa: E402  (needs numba)
from mlplab.accel.threads import kernel_threads  # noqa: E402


def main() -> int:
    import numba

    numba.set_num_threads(kernel_threads())
    X = np.random.default_rng(0).standard_normal((60_000, 784), dtype=np.float32)
    rng = np.random.default_rng(1)
    print(f"{numba.get_num_threads()} threads (numba's, as many as NumPy's BLAS may use)")
    for m in (128, 1024):
        out = np.empty((m, X.shape[1]), X.dtype)
        ways = {"np.take": lambda rows: np.take(X, rows, axis=0, out=out, mode="clip"),
                "compiled, 1 thread": lambda rows: nk.gather[False](X, rows, out),
                "compiled, all threads": lambda rows: nk.gather[True](X, rows, out)}
        for way in ways.values():
            way(np.arange(m))
        best = {name: float("inf") for name in ways}
        for _ in range(20):
            order = rng.permutation(len(X))
            for name, way in ways.items():
                t0 = time.perf_counter()
                for i in range(100):
                    way(order[i * m % (len(X) - m):][:m])
                best[name] = min(best[name], (time.perf_counter() - t0) / 100)
        print(f"batch {m}: " + ", ".join(f"{n} {t * 1e6:.1f} µs" for n, t in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
