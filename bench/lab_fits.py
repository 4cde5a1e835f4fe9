"""The overfitting lab's fits (2-100-100-1 ReLU, 40 points, full-batch Adam, 2,000 epochs), one per
regularization method, timed in CPU seconds with one BLAS thread (as the lab runs them).

    python bench/lab_fits.py                          # this checkout
    python bench/lab_fits.py --baseline /path/to/older/checkout --rounds 3

Each checkout runs in its own process, alternating round by round; per method the best of two
fits in a process, then the median over rounds is printed (seconds per fit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ["baseline", "l2", "dropout", "early_stopping", "noise", "max_norm"]
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["LAB_ROOT"])
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                 and "editable" not in type(f).__name__.lower()]  # not an installed mlplab
import mlplab
try:
    from mlplab.lab.experiments import overfitting as lab
except ImportError:  # an mlplab from before the package's layers
    from mlplab.experiments import overfitting as lab
setup = lab.Setup()
lab.train("baseline", 1, setup)  # warm-up: BLAS, numba's kernels
out = {}
for method in json.loads(os.environ["LAB_METHODS"]):
    best = float("inf")
    for _ in range(2):
        c = time.process_time()
        run = lab.train(method, 0, setup)
        best = min(best, time.process_time() - c)
    out[method] = best
out["backend"] = getattr(run["history"], "backend", "-")
print(json.dumps(out))
"""


def run(root: str) -> dict:
    env = {**os.environ, "LAB_ROOT": root, "LAB_METHODS": json.dumps(METHODS),
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                         check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="root of another mlplab checkout")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    roots = {"mlplab": ROOT, **({"baseline": os.path.abspath(args.baseline)}
                                if args.baseline else {})}
    runs = {name: [] for name in roots}
    for _ in range(args.rounds):
        for name, root in roots.items():
            runs[name].append(run(root))
    print(f"{'method':<16}" + "".join(f"{name:>10}" for name in roots) + "   (CPU s per fit)")
    for method in METHODS:
        print(f"{method:<16}" + "".join(
            f"{statistics.median(r[method] for r in runs[name]):>10.3f}" for name in roots))
    print("backend: " + runs["mlplab"][0]["backend"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
