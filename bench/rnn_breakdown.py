"""Where an accelerated recurrent training step spends its time: each part of the kernel's
step timed while real steps run (wall time, summed per step, mean of 50 steps).

    python bench/rnn_breakdown.py                 # LSTM, BLAS on 2 threads
    python bench/rnn_breakdown.py --kind gru --threads 1 --no-mkl

The step is bench/rnn.py's anchor (input 32, hidden 128, T = 50, batch 32, float32, SGD).
``forward`` holds ``pack`` … ``steps``, ``backward`` holds ``steps_back`` and ``accumulate``.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PARTS = ["forward", "pack", "pack_for_loops", "project", "steps", "backward", "steps_back",
         "accumulate"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-mkl", action="store_true", help="the NumPy steps, not MKL's loops")
    args = p.parse_args(argv)
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    import rnn  # bench/rnn.py: the same step

    from mlplab.accel import rnn_kernels

    step, label = rnn.mlplab_step(args.kind, True, True, mkl=not args.no_mkl)
    step()
    kernels = [o for o in gc.get_objects() if isinstance(o, rnn_kernels.Kernel)]
    halves = [h for k in kernels for h in (getattr(k, "_kept_halves", None) or [])]
    kernel = next(k for k in kernels if all(k is not h for h in halves))  # the layer's own
    # with halves (LSTM, GRU on two threads) the parts after ``pack`` run in the halves'
    # kernels: the first half's, on the calling thread, are timed (the second runs beside it)
    inner = kernel._kept_halves[0] if getattr(kernel, "_kept_halves", None) else kernel
    spent: dict = collections.defaultdict(float)

    def timed(name, f):
        def part(*a, **kw):
            t = time.perf_counter()
            out = f(*a, **kw)
            spent[name] += time.perf_counter() - t
            return out
        return part

    for name in PARTS:
        on = kernel if name in ("forward", "backward", "pack") else inner  # the layer's own
        setattr(on, name, timed(name, getattr(on, name)))
    for _ in range(10):
        step()
    spent.clear()
    n, t = 50, time.perf_counter()
    for _ in range(n):
        step()
    whole = (time.perf_counter() - t) / n
    print(f"{args.kind.upper()} step ({label}), {args.threads} thread(s): {whole * 1e3:.2f} ms"
          + ("; the parts are the first half's (the batch in two halves)" if inner is not kernel
             else ""))
    for name, seconds in sorted(spent.items(), key=lambda kv: PARTS.index(kv[0])):
        print(f"  {name:<16} {seconds / n * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
