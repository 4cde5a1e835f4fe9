"""The compiled elementwise passes on one thread, on every thread, or NumPy's, for one network:
seconds per epoch of a 784-256-128-10 ReLU network, SGD, float32, 30,000 random rows.

    python bench/parallel_passes.py                 # batch 1,024, the three ways, 4 epochs each
    python bench/parallel_passes.py --batch 128
    NUMBA_THREADING_LAYER=workqueue python bench/parallel_passes.py

Each way runs in its own process (numba's thread pool and OpenBLAS's are per process); the
first epoch includes loading numba and its kernels, so compare the later ones.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WAYS = {"serial": {"MLPLAB_NUMBA": "on", "MLPLAB_PARALLEL": "off"},
        "parallel": {"MLPLAB_NUMBA": "on", "MLPLAB_PARALLEL": "on"},
        "numpy": {"MLPLAB_NUMBA": "off"}}


def child(batch: int, epochs: int) -> None:
    sys.path.insert(0, os.path.dirname(HERE))
    import numpy as np

    import mlplab

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30_000, 784), dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 30_000)]
    net = mlplab.Network([784, 256, 128, 10], activation="relu", output="softmax",
                         loss="cross_entropy", init="he_normal", seed=0, dtype="float32")
    times = []

    class Clock(mlplab.Callback):
        def on_epoch_begin(self, trainer, epoch):
            self.t = time.perf_counter()

        def on_epoch_end(self, trainer, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    h = net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=batch, max_epochs=epochs,
                epsilon=None, callbacks=[Clock()])
    print(f"{h.backend:32s}", " ".join(f"{t:.3f}" for t in times), "s/epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.batch, args.epochs)
    for way, env in WAYS.items():
        out = subprocess.run([sys.executable, __file__, "--child", "--batch", str(args.batch),
                              "--epochs", str(args.epochs)], env={**os.environ, **env},
                             capture_output=True, text=True, check=True).stdout.strip()
        print(f"{way:9s} {out}")


if __name__ == "__main__":
    main()
