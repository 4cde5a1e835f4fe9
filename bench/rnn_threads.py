"""How mlplab's recurrent step uses two cores, three ways in one process, alternating.

    python bench/rnn_threads.py            # LSTM and GRU, 8 rounds
    python bench/rnn_threads.py --kinds lstm --rounds 12

- ``shipped``: as ``fit`` runs it: BLAS on one thread, the gradient products and the input
  projection on a second thread (``mlplab.accel.rnn_base.OVERLAP``);
- ``one thread``: BLAS on one thread, everything on the calling thread;
- ``two BLAS threads``: everything on the calling thread, BLAS free to use its two threads.

The step is bench/rnn.py's anchor (input 32, hidden 128, T = 50, batch 32, float32, SGD).
Quoted: the best wall time of a step over all rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None) -> None:
    import rnn  # bench/rnn.py: the same step

    from mlplab.accel import recurrent, rnn_base

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", default="lstm,gru")
    p.add_argument("--rounds", type=int, default=8)
    args = p.parse_args(argv)
    shipped = recurrent.one_blas_thread
    ways = {"shipped": (True, shipped), "one thread": (False, shipped),
            "two BLAS threads": (False, contextlib.nullcontext)}
    for kind in args.kinds.split(","):
        step, _ = rnn.mlplab_step(kind, True, True, 2)
        best = dict.fromkeys(ways, float("inf"))
        for _ in range(args.rounds):
            for name, (overlap, limit) in ways.items():
                rnn_base.OVERLAP, recurrent.one_blas_thread = overlap, limit
                for _ in range(2):
                    step()
                for _ in range(8):
                    t = time.perf_counter()
                    step()
                    best[name] = min(best[name], time.perf_counter() - t)
        rnn_base.OVERLAP, recurrent.one_blas_thread = True, shipped
        print(kind.upper(), "  ".join(f"{name}: {t * 1e3:.2f} ms" for name, t in best.items()))


if __name__ == "__main__":
    main()
