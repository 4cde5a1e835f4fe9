"""Where an mlplab epoch spends its time, by source line (py-spy sampling).

    pip install py-spy
    python bench/profile_epoch.py relu-128            # this checkout
    MLPLAB_PATH=/old/checkout python bench/profile_epoch.py relu-128   # another version

Runs ``bench/contenders.py mlplab CASE 3`` single-threaded under ``py-spy record`` and prints
the share of samples taken inside ``fit`` by the innermost mlplab line (a NumPy call's time
counts on the line that made it).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main(case: str = "relu-128", top: int = 15) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "profile.txt")
        subprocess.run(["py-spy", "record", "-r", "400", "-f", "raw", "-o", raw, "--",
                        sys.executable, os.path.join(HERE, "contenders.py"), "mlplab", case, "3"],
                       env=env, check=True, capture_output=True)
        lines = collections.Counter()
        with open(raw) as f:
            for row in f:
                stack, n = row.rsplit(" ", 1)
                frames = stack.split(";")
                if not any(fr.startswith("fit (") and "training.py" in fr for fr in frames):
                    continue
                ours = [fr for fr in frames if "mlplab/" in fr]
                lines[ours[-1] if ours else frames[-1]] += int(n)
    total = sum(lines.values())
    print(f"{case}: {total} samples inside fit (1 BLAS thread)")
    for where, n in lines.most_common(top):
        print(f"{100 * n / total:5.1f}%  {where}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
