"""Where an accelerated LSTM training step spends its time, part by part (one thread, CPU time).

    OPENBLAS_NUM_THREADS=1 python bench/rnn_breakdown.py

The step is bench/rnn.py's anchor (input 32, hidden 128, T = 50, batch 32, float32, SGD);
each part of it is run on the kernel's own arrays after a few real steps, best of 5 × 10.
"""

from __future__ import annotations

import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def best_ms(f, n: int = 10) -> float:
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t) / n)
    return best * 1e3


def main() -> None:
    import numpy as np
    import rnn  # bench/rnn.py: the same step

    from mlplab.accel import recurrent

    step, _ = rnn.mlplab_step("lstm", True, True, 1)
    for _ in range(5):
        step()
    k = next(o for o in gc.get_objects() if isinstance(o, recurrent.LSTMKernel))
    w, T, H, one = k.w, rnn.T, rnn.H, k.one
    grads = k.zero_gradients(np.float32)
    parts = {
        "whole step": step,
        "forward products hₜ₋₁ @ W_h (+ into G)": lambda: [
            w["G"][t].__iadd__(w["h"][t] @ k.Wh) for t in range(T)],
        "tanh of the gates": lambda: [np.tanh(w["G"][t], out=w["G"][t]) for t in range(T)],
        "forward cell (numba)": lambda: [k.cells["lstm_cell"](w["G"][t], w["c"][t], w["c"][t + 1],
                                                              one) for t in range(T)],
        "tanh(cₜ) and hₜ": lambda: [np.multiply(w["G"][t][:, 2 * H:3 * H],
                                                 np.tanh(w["c"][t + 1], out=w["tc"][t]),
                                                 out=w["h"][t + 1]) for t in range(T)],
        "backward cell (numba)": lambda: [k.cells["lstm_back"](
            w["dh"], w["dc"], w["G"][t], w["c"][t], w["tc"][t], w["dZ"][t], one)
            for t in range(T)],
        "backward products δₜ @ W_h": lambda: [np.matmul(w["dZ"][t], k.Wh_rows, out=w["dh"])
                                               for t in range(T)],
        "gradient products": lambda: k.accumulate(w, grads, 0, T),
        "input projection": lambda: k.project(w, 0, T),
        "stacking the weights": lambda: k.pack(np.float32),
    }
    for name, f in parts.items():
        print(f"{name:<40} {best_ms(f):6.2f} ms")


if __name__ == "__main__":
    main()
