"""What numba costs a process: compiling mlplab's kernels once, then loading them from its cache.

    python bench/numba_cache.py

Runs the same few fits in three fresh processes that share an empty numba cache directory
(``NUMBA_CACHE_DIR``): the first compiles every kernel those fits use and writes the cache,
the next two load it. For each process it prints the time to import numba and the extra time
the first round of fits took over an identical second round in the same process (compiling
or loading the kernels), as wall and CPU seconds, and the memory (anonymous, and file-backed:
the libraries' code) that importing numba and the first round of fits added. A fourth
process runs the fits with ``MLPLAB_NUMBA=off``: what they load without numba's kernels. The fits: the lecture's XOR (the tiny
full-batch kernel, float64), a minibatch SGD fit (float32, ReLU, softmax) and an Adam fit
with L2 (float64, sigmoid and tanh, binary cross-entropy), the last two with the compiled
step (``MLPLAB_NUMBA=on``). See bench/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = r"""
import json, time
import numpy as np

def rss():  # MiB: (anonymous memory, file-backed pages: the libraries' code)
    with open("/proc/self/status") as f:
        v = {k: int(r.split()[0]) / 1024 for k, _, r in (l.partition(":") for l in f)
             if k in ("RssAnon", "RssFile")}
    return v.get("RssAnon", float("nan")), v.get("RssFile", float("nan"))

mem = [rss()]
t = time.perf_counter(); c = time.process_time()
import numba
numba_import = (time.perf_counter() - t, time.process_time() - c)
mem.append(rss())
import mlplab
mem.append(rss())

def fits():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    h1 = mlplab.Network([2, 2, 1], seed=0).fit(X, [0, 1, 1, 0], max_epochs=10)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 20)).astype(np.float32)
    h2 = mlplab.Network([20, 16, 8, 3], activation="relu", loss="cross_entropy", seed=0).fit(
        X, rng.integers(0, 3, 256), optimizer="sgd", batch_size=32, max_epochs=2)
    X = rng.normal(size=(256, 20))
    h3 = mlplab.Network([20, 16, 8, 1], activation=["sigmoid", "tanh"], loss="cross_entropy",
                        seed=0).fit(X, X[:, 0] > 0, optimizer="adam", batch_size=32,
                                    max_epochs=2, callbacks=[mlplab.regularizers.L2(1e-3)])
    return [h1.backend, h2.backend, h3.backend]

def timed():
    t = time.perf_counter(); c = time.process_time()
    backends = fits()
    return time.perf_counter() - t, time.process_time() - c, backends

first = timed()
mem.append(rss())
second = timed()
print(json.dumps({"numba_import": numba_import, "first": first[:2], "again": second[:2],
                  "backends": first[2], "mem": mem}))
"""


def run(cache: str, numba: str = "on") -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "MLPLAB_NUMBA": numba, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        print("process  cache     import numba (wall/CPU s)  kernels: first fits − same fits "
              "again (wall/CPU s)   MiB, anonymous + code: import numba   first fits")
        for i, state in enumerate(["empty", "written", "written", "unused"], start=1):
            r = run(cache, "off" if state == "unused" else "on")
            (iw, ic), (fw, fc), (aw, ac) = r["numba_import"], r["first"], r["again"]
            (a0, f0), (a1, f1), (a2, f2), (a3, f3) = r["mem"]
            print(f"{i:>7}  {state:<8} {iw:>10.2f} / {ic:.2f}            "
                  f"{fw - aw:>10.2f} / {fc - ac:.2f}{'':>21}{a1 - a0:>5.0f} + {f1 - f0:<3.0f}"
                  f"{'':>8}{a3 - a2:>5.0f} + {f3 - f2:.0f}")
        print("backends:", ", ".join(r["backends"]), "(process 4: MLPLAB_NUMBA=off, numba "
              "imported and not used: what the fits load without it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
