"""MKL's threading layers on the dense products of the benchmarks: ``sgemm`` alone in a loop.

    python bench/mkl_layers.py [--threads 2]

Each layer (TBB, which mlplab uses so that numba's loops share MKL's threads; Intel OpenMP;
GNU OpenMP; sequential) runs in its own process, which loads the ``mkl`` wheel's ``libmkl_rt``
(and the ``tbb`` wheel's ``libtbb`` for TBB) and times ``C = A @ B`` for the first products of
scikit-learn's default network (200 × 784 × 100) and of the bench's relu-128 case
(128 × 784 × 256): µs per call, best of 5 rounds of 2,000 calls. See bench/README.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

LAYERS = {"TBB": 4, "INTEL": 0, "GNU": 3, "SEQUENTIAL": 1}  # MKL_THREADING_*
SHAPES = [(200, 784, 100), (128, 784, 256)]  # rows, inputs, outputs
CHILD = r"""
import ctypes, json, sys, time
import numpy as np
rt, tbb, layer, threads, shapes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
if tbb:
    ctypes.CDLL(tbb, mode=ctypes.RTLD_GLOBAL)
lib = ctypes.CDLL(rt, mode=ctypes.RTLD_GLOBAL)
assert lib.MKL_Set_Threading_Layer(layer) == layer, "layer not available"
lib.MKL_Set_Num_Threads(threads)
rng, out = np.random.default_rng(0), []
for m, k, n in shapes:
    A, B = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    C = np.empty((m, n), np.float32)
    args = (101, 111, 111, m, n, k, ctypes.c_float(1), A.ctypes.data_as(ctypes.c_void_p), k,
            B.ctypes.data_as(ctypes.c_void_p), n, ctypes.c_float(0), C.ctypes.data_as(ctypes.c_void_p), n)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(2000):
            lib.cblas_sgemm(*args)
        best = min(best, (time.perf_counter() - t) / 2000 * 1e6)
    assert np.allclose(C, A @ B, rtol=1e-3, atol=1e-2)
    out.append(best)
print(json.dumps(out))
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    lib_dir = os.path.join(sys.prefix, "lib")
    rt = sorted(glob.glob(os.path.join(lib_dir, "libmkl_rt.so*")))
    tbb = sorted(glob.glob(os.path.join(lib_dir, "libtbb.so.12*")))
    if not rt:
        print("no libmkl_rt in", lib_dir, "(pip install 'mlplab[mkl]')")
        return 2
    print(f"sgemm, µs per call, {args.threads} thread(s) ({rt[0]})")
    print(f"{'layer':<12}" + "".join(f"{f'{m}×{k}×{n}':>16}" for m, k, n in SHAPES))
    for name, code in LAYERS.items():
        run = subprocess.run([sys.executable, "-c", CHILD, rt[0], tbb[0] if name == "TBB" and tbb
                              else "", str(code), str(args.threads), json.dumps(SHAPES)],
                             capture_output=True, text=True)
        if run.returncode:
            print(f"{name:<12}  not available: {run.stderr.strip().splitlines()[-1:]}")
            continue
        print(f"{name:<12}" + "".join(f"{t:>16.1f}" for t in json.loads(run.stdout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
