"""Per-epoch wall time of checkpoint-every-1 training, first 500 epochs against last 500.

A checkpoint whose cost grows with the run's length shows it here (a later epoch costs more);
xor on a 2-4-1 network, full batch, so the epoch itself is negligible:

    python bench/checkpoint_epoch_cost.py CHECKPOINT_PATH [EPOCHS=3000]
"""

import sys
import time

import numpy as np

import mlplab


class Clock(mlplab.Callback):
    def __init__(self):
        self.t = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.t.append(time.perf_counter())


def main(path: str, epochs: int = 3000) -> None:
    X, Y = mlplab.datasets.xor()
    clock, net = Clock(), mlplab.Network([2, 4, 1], seed=1)
    start = time.perf_counter()
    net.fit(X, Y, learning_rate=1.0, max_epochs=epochs, epsilon=1e-12, checkpoint=path,
            callbacks=[clock])
    d = np.diff(clock.t)
    print(f"total {time.perf_counter() - start:.2f} s; median ms per epoch: first 500 "
          f"{np.median(d[:500]) * 1e3:.2f}, last 500 {np.median(d[-500:]) * 1e3:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:3]))
