"""How mlplab's recurrent step uses BLAS's threads: three ways in one process, alternating.

    python bench/rnn_threads.py            # LSTM, GRU and RNN, 8 rounds
    python bench/rnn_threads.py --kinds lstm --rounds 12 --no-mkl

- ``shipped``: as ``fit`` runs it: the time loop's small products on one BLAS thread, the
  products over all steps at once (input projection, gradients) on every thread BLAS may use;
- ``one thread``: BLAS on one thread for the whole step;
- ``all threads``: BLAS free to use every thread, in the loop too.

With MKL's compiled loops (``mlplab[mkl]``) the loop's products are MKL's, sequential in every
way; ``--no-mkl`` runs the NumPy steps, whose products are NumPy's BLAS. The step is
bench/rnn.py's anchor (input 32, hidden 128, T = 50, batch 32, float32, SGD). Quoted: the best
wall time of a step over all rounds.
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

    from mlplab.accel import rnn_base

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", default="lstm,gru,rnn")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--no-mkl", action="store_true")
    args = p.parse_args(argv)
    shipped = rnn_base.one_blas_thread
    ways = {"shipped": (shipped, contextlib.nullcontext),
            "one thread": (shipped, shipped),
            "all threads": (contextlib.nullcontext, contextlib.nullcontext)}
    for kind in args.kinds.split(","):
        step, label = rnn.mlplab_step(kind, True, True, mkl=not args.no_mkl)
        best = dict.fromkeys(ways, float("inf"))
        for _ in range(args.rounds):
            for name, (in_loop, whole) in ways.items():
                rnn_base.one_blas_thread = in_loop
                with whole():
                    for _ in range(2):
                        step()
                    for _ in range(8):
                        t = time.perf_counter()
                        step()
                        best[name] = min(best[name], time.perf_counter() - t)
        rnn_base.one_blas_thread = shipped
        print(f"{kind.upper()} ({label}):",
              "  ".join(f"{name}: {t * 1e3:.2f} ms" for name, t in best.items()))


if __name__ == "__main__":
    main()
