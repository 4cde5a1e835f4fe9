"""How close to the GEMM-only bound can a NumPy epoch get? A ladder, measured in one process.

    python bench/floor.py                 # relu-128, 5 rounds
    python bench/floor.py --batch 32 --rounds 3
    OPENBLAS_NUM_THREADS=1 BENCH_CLOCK=cpu python bench/floor.py   # CPU time, one thread

Each rung is the previous one plus one kind of work that an SGD epoch of the benchmark's
784-256-128-10 ReLU network cannot skip, written as a bare loop with no framework around it:

1. ``gemm``: the 8 matrix products per batch, into preallocated arrays (``contenders.py``'s
   GEMM-only replay, the bound of ``run.py``);
2. ``+ SGD step in the GEMM``: the 3 weight-gradient products become the update itself
   (``W += −α/m·δᵀa``, ``b += −α·δᵀ(1/m)``: BLAS calls prepared once, as mlplab makes them),
   so the 3 bias-gradient GEMVs and the per-call cost of ctypes are added;
3. ``+ gather``: each batch's 128 rows gathered from the 60,000 × 784 data by a shuffled index
   (``np.take`` into a reused array);
4. ``+ elementwise``: bias adds, ReLU, softmax and the cost, the output δ and the two ReLU
   derivatives: a complete epoch of minibatch SGD, as lean as NumPy allows;
5. ``+ elementwise, compiled``: rung 4 with the same work in numba's kernels
   (:mod:`mlplab.accel.numba_kernels`: one pass per layer and direction; needs numba);
6. ``mlplab``: ``Network.fit`` for the same epoch (its per-batch bookkeeping included).

Rungs alternate within every round (a slow phase of a shared machine hits all of them); the
best epoch of each is quoted, with its ratio to ``gemm`` and the added µs per batch.
See bench/README.md ("How close to the bound").
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import contenders  # noqa: E402  (also puts this checkout's mlplab first on sys.path)

from mlplab.accel import blas as _blas  # noqa: E402
from mlplab.accel.kernels import DELTA_INTO, relu_into, softmax_cce_into  # noqa: E402

try:
    from mlplab.accel import numba_kernels as nk
except ImportError:  # numba not installed: no compiled rung
    nk = None

N, SIZES, LR = contenders.N, contenders.SIZES, contenders.LR
RUNGS = ["gemm", "+ SGD step in the GEMM", "+ gather", "+ elementwise",
         "+ elementwise, compiled", "mlplab"]


class Ladder:
    """The bare loops of rungs 1–4 on one set of arrays (batch size m)."""

    def __init__(self, X, Y, m: int, seed: int = 0):
        if not _blas.available():
            raise RuntimeError("the ladder needs NumPy's BLAS bound (see main)")
        rng = np.random.default_rng(seed)
        self.X, self.Y, self.m, self.rng = X, Y, m, rng
        n = SIZES
        self.W0 = [np.asfortranarray(rng.standard_normal((n[l + 1], n[l]), dtype=np.float32)
                                     * np.float32(np.sqrt(2 / n[l]))) for l in range(3)]
        self.Xb, self.Yb = np.empty((m, n[0]), np.float32), np.empty((m, n[-1]), np.float32)
        self.Xb[:], self.Yb[:] = X[:m], Y[:m]
        self.A = [self.Xb] + [np.zeros((m, k), np.float32) for k in n[1:]]  # a⁽⁰⁾ … a⁽³⁾
        self.Z = [np.empty((m, k), np.float32) for k in n[1:]]
        self.D = [rng.standard_normal((m, k), dtype=np.float32) * np.float32(0.01)
                  for k in n[1:]]  # δ⁽¹⁾ … δ⁽³⁾
        self.dA = [np.empty((m, k), np.float32) for k in n[1:3]]  # (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾, as rows
        self.dW = [np.empty_like(w) for w in self.W0]
        self.v = np.full(m, 1 / m, np.float32)
        self.batches = N // m  # whole batches only: one shape, one set of prepared calls

    def reset(self, lr: float):
        """Fresh weights, and the prepared BLAS calls of the step for them."""
        self.W = [w.copy(order="K") for w in self.W0]  # column-major, as mlplab's Dense
        self.b = [np.zeros(w.shape[0], np.float32) for w in self.W]
        self.steps = [_blas._Step(self.D[l], self.A[l], self.W[l], self.b[l], self.v,
                                  (-lr / self.m, -lr)) for l in range(3)]

    def epoch(self, rung: int) -> float:
        X, Y, m, A, Z, D, dA, W, b = (self.X, self.Y, self.m, self.A, self.Z, self.D, self.dA,
                                      self.W, self.b)
        steps, order, cost = self.steps, self.rng.permutation(N), 0.0
        for i in range(0, self.batches * m, m):
            if rung >= 3:
                idx = order[i:i + m]
                np.take(X, idx, axis=0, out=self.Xb, mode="clip")
                np.take(Y, idx, axis=0, out=self.Yb, mode="clip")
            for l in range(3):
                np.matmul(A[l], W[l].T, out=Z[l])
                if rung == 5 and l < 2:
                    nk.bias_g[False](Z[l], b[l], A[l + 1], nk.RELU)
                elif rung == 4:
                    Z[l] += b[l]
                    if l < 2:
                        relu_into(Z[l], A[l + 1])
            if rung == 5:
                cost += nk.softmax_cce[False](Z[2], b[2], self.Yb, A[3], D[2]) / m
            elif rung == 4:
                cost += softmax_cce_into(Z[2], self.Yb, A[3])
                np.subtract(A[3], self.Yb, out=D[2])
            for l in (2, 1, 0):
                if l:  # (W⁽ˡ⁾)ᵀδ⁽ˡ⁾ from the W before its step
                    np.matmul(D[l], W[l], out=dA[l - 1])
                if rung == 1:
                    np.matmul(D[l].T, A[l], out=self.dW[l])
                else:
                    s = steps[l]
                    s.gemm(*s.gemm_args)
                    s.gemv(*s.gemv_args)
                if l and rung == 5:
                    nk.delta_g[False](dA[l - 1], Z[l - 1], A[l], D[l - 1], nk.RELU)
                elif l and rung == 4:
                    DELTA_INTO["relu"](dA[l - 1], Z[l - 1], A[l], D[l - 1])
        return cost / self.batches


def mlplab_epoch(X, Y, m: int):
    import mlplab

    net = mlplab.Network(SIZES, activation="relu", loss="cross_entropy", init="he_normal",
                         seed=0)

    def run() -> float:
        clock = contenders.epoch_clock()
        net.fit(X, Y, optimizer="sgd", learning_rate=LR, batch_size=m, max_epochs=1,
                epsilon=None, callbacks=[clock])
        assert np.isfinite(net.history.loss[-1])
        return clock.times[-1]

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    if not _blas.available():
        print("NumPy's BLAS could not be bound (MLPLAB_BLAS=numpy, or not OpenBLAS's ILP64 "
              "interface): the fused step, and so this ladder, needs it")
        return 1
    X, labels = contenders.data()
    Y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    ladder, fit = Ladder(X, Y, args.batch), mlplab_epoch(X, Y, args.batch)
    rungs = [r for r in RUNGS if nk is not None or "compiled" not in r]
    best = {r: float("inf") for r in rungs}
    for r in range(-1, args.rounds):  # round −1 warms up
        order = rungs[r % len(rungs):] + rungs[:r % len(rungs)]
        for name in order:
            rung = RUNGS.index(name) + 1
            if rung == 6:
                t = fit()
            else:
                ladder.reset(LR if rung >= 4 else 1e-4)  # no ReLU or δ below rung 4: tiny α
                t0 = contenders.clock()
                cost = ladder.epoch(rung)
                t = contenders.clock() - t0
                assert rung < 4 or np.isfinite(cost), cost
            if r >= 0:
                best[name] = min(best[name], t)
    from threadpoolctl import threadpool_info

    blas = [f"{p['internal_api']} {p['version']} ({p['architecture']}, {p['num_threads']} "
            f"threads)" for p in threadpool_info() if p.get("user_api") == "blas"]
    env = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                   if k.startswith("OPENBLAS_")) or "no OPENBLAS_* variable set"
    batches = N / args.batch
    print(f"784-256-128-10 ReLU, batch {args.batch}, float32, SGD; best epoch of "
          f"{args.rounds} rounds, rungs alternating in one process")
    print(f"BLAS: {'; '.join(blas)}; {env}\n")
    print(f"{'rung':<26} {'s/epoch':>8} {'× gemm':>7} {'+µs/batch':>10}")
    prev = None
    for name in rungs:
        t = best[name]
        added = "" if prev is None else f"{(t - prev) / batches * 1e6:+10.1f}"
        print(f"{name:<26} {t:8.4f} {t / best['gemm']:7.2f} {added:>10}")
        prev = best["+ gather"] if name == "+ elementwise" else t  # 5 adds to 3, as 4 does
    return 0


if __name__ == "__main__":
    sys.exit(main())
