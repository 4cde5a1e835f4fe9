"""How close to MKL's GEMM-only bound can an epoch over shuffled data get? A ladder of bare loops.

    python bench/floor_mkl.py               # relu-128, 5 rounds of 3 epochs
    python bench/floor_mkl.py --batch 32 --rounds 5

``bench/floor.py`` climbs from NumPy's products (OpenBLAS) to a full epoch. This is the same
question for ``mlplab[mkl]``'s products, whose bound (``run.py``'s ``gemm-mkl``) is lower, so
the work around the products weighs more. Each rung is the bound plus one thing an epoch of
minibatch SGD over the 60,000 × 784 bench data cannot skip, and nothing else:

1. ``gemm-mkl``: the 8 products a batch, on the same arrays every batch (in cache), called as
   mlplab calls MKL: ``contenders.gemm_epochs(mkl=True)``, the bound of ``run.py``;
2. ``+ data read in order``: a⁽⁰⁾ is the next 128 rows of the data, a view (no copy): each
   epoch reads its 180 MiB from memory once, as any epoch must;
3. ``+ shuffled gather, take``: a⁽⁰⁾ and y gathered by a fresh permutation, ``np.take`` into
   reused arrays (what mlplab's fit does below 4 threads);
4. ``+ shuffled gather, compiled``: the same with mlplab's compiled serial gather (needs numba);
5. ``mlplab``: ``Network.fit`` for the same epoch (bias adds, ReLU, softmax, δ, SGD step).

Rungs 2–4 have no elementwise pass, no softmax, no update: where they already exceed 1.12 ×
the bound, no epoch that gathers shuffled rows can meet it on this machine. Each rung runs in a
process of its own (as ``run.py``'s contenders), rungs alternating within every round; the
best epoch of each is quoted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

import floor  # noqa: F401  (puts this checkout's mlplab first on sys.path, as contenders does)
import contenders

from mlplab.accel import products

try:
    from mlplab.accel import numba_kernels as nk
except ImportError:  # numba not installed: no compiled rung
    nk = None

N, SIZES, LR = contenders.N, contenders.SIZES, contenders.LR
RUNGS = ["gemm-mkl", "+ data read in order", "+ shuffled gather, take",
         "+ shuffled gather, compiled", "mlplab"]
WAYS = dict(zip(RUNGS, ["cached", "in order", "take", "compiled"]))


def products_epoch(X, Y, m: int, lib):
    """An epoch of the 8 products; ``way`` picks where a⁽⁰⁾ (and y) come from."""
    matmul, n, rng = products.Products(lib), SIZES, np.random.default_rng(0)
    W = [np.asfortranarray(rng.standard_normal((n[l + 1], n[l]), dtype=np.float32) * 0.01)
         for l in range(3)]
    WT, dW = [w.T for w in W], [np.empty_like(w) for w in W]
    A = [rng.standard_normal((m, k), dtype=np.float32) for k in n]  # a⁽⁰⁾ … a⁽³⁾
    dA = [np.empty((m, k), np.float32) for k in n[:3]]
    D = [rng.standard_normal((m, k), dtype=np.float32) for k in n[1:]]
    DT, Yb, x0 = [d.T for d in D], np.empty((m, n[-1]), np.float32), A[0]
    gather = nk.gather[False] if nk is not None else None

    def epoch(way: str) -> None:
        order = rng.permutation(N)
        for i in range(0, N // m * m, m):
            if way == "in order":
                A[0] = X[i:i + m]
            elif way == "take":
                X.take(order[i:i + m], axis=0, out=x0, mode="clip")
                Y.take(order[i:i + m], axis=0, out=Yb, mode="clip")
            elif way == "compiled":
                gather(X, order[i:i + m], x0)
                gather(Y, order[i:i + m], Yb)
            for l in range(3):  # 3 forward GEMMs
                matmul(A[l], WT[l], out=A[l + 1])
            for l in (2, 1, 0):  # 3 weight-gradient GEMMs
                matmul(DT[l], A[l], out=dW[l])
            for l in (2, 1):  # 2 delta GEMMs
                matmul(D[l], W[l], out=dA[l])
            A[0] = x0

    return epoch


def run_rung(name: str, batch: int, reps: int) -> list[float]:
    """``reps`` epochs of one rung after one to warm up, in this process: their times."""
    lib = products.mkl_library()
    if lib is None:
        raise SystemExit("MKL with threads is not installed (or MLPLAB_MKL=off): "
                         "pip install 'mlplab[mkl]'")
    X, labels = contenders.data()
    Y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    if name == "mlplab":
        fit = floor.mlplab_epoch(X, Y, batch)
        return [fit() for _ in range(reps + 1)][1:]
    bare, way, times = products_epoch(X, Y, batch, lib), WAYS[name], []
    for _ in range(reps + 1):
        t0 = contenders.clock()
        bare(way)
        times.append(contenders.clock() - t0)
    return times[1:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3, help="timed epochs per process")
    ap.add_argument("--rung", choices=RUNGS, help=argparse.SUPPRESS)  # a child process
    args = ap.parse_args(argv)
    if args.rung:
        print(json.dumps(run_rung(args.rung, args.batch, args.reps)))
        return 0
    rungs = [r for r in RUNGS if nk is not None or "compiled" not in r]
    best = {r: float("inf") for r in rungs}
    for r in range(args.rounds):
        for name in rungs[r % len(rungs):] + rungs[:r % len(rungs)]:
            out = subprocess.run([sys.executable, __file__, "--rung", name, "--batch",
                                  str(args.batch), "--reps", str(args.reps)],
                                 capture_output=True, text=True, check=False)
            if out.returncode:
                print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.stdout)
                return 1
            best[name] = min(best[name], *json.loads(out.stdout.splitlines()[-1]))
    batches = N // args.batch
    print(f"784-256-128-10 ReLU, batch {args.batch}, float32; MKL's products on its own "
          f"threads; best of {args.rounds} rounds × {args.reps} epochs, each rung in its own "
          f"process, rungs alternating")
    print(f"{'rung':<30} {'s/epoch':>8} {'× gemm-mkl':>11} {'+µs/batch':>10}")
    for name in rungs:
        t = best[name]
        print(f"{name:<30} {t:8.4f} {t / best['gemm-mkl']:11.3f} "
              f"{(t - best['gemm-mkl']) / batches * 1e6:+10.1f}")
    print(f"1.12 × gemm-mkl leaves {0.12 * best['gemm-mkl'] / batches * 1e6:.1f} µs a batch "
          f"for everything that is not a product")
    return 0


if __name__ == "__main__":
    sys.exit(main())
