"""Wall time of one `mlplab sweep` on 2 Dask workers against the serial run (`--n-jobs 1`).

Each run is the whole command in its own process (CSV encoding, the embedded cluster's start
and stop, 20 fits, the refit), as a user types it; the two alternate, several rounds, and the
best of each is compared (this machine has a slow state that comes and goes).

    python bench/sweep_wall.py              # 3 rounds: ~2 min on 2 quiet cores
    python bench/sweep_wall.py --rounds 1
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "mlplab" / "datasets" / "data" / "mushrooms.csv"
SWEEP = ["sweep", "--csv", str(DATA), "--target", "class", "--grid", "hidden=16,64",
         "--grid", "lr=0.001,0.01", "--cv", "5", "--max-epochs", "50"]


def wall(n_jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlplab", *SWEEP, "--n-jobs", str(n_jobs)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    times = {1: [], 2: []}
    for r in range(rounds):
        for n_jobs in (1, 2) if r % 2 == 0 else (2, 1):
            times[n_jobs].append(wall(n_jobs))
            print(f"round {r + 1}: n_jobs={n_jobs}  {times[n_jobs][-1]:.1f} s", flush=True)
    serial, dask = min(times[1]), min(times[2])
    print(f"best of {rounds}: n_jobs=1 {serial:.1f} s, 2 Dask workers {dask:.1f} s "
          f"(serial / Dask = {serial / dask:.2f})")


if __name__ == "__main__":
    main()
