"""The course's three exercises, mlplab and scikit-learn side by side, in one run.

    python examples/compare_sklearn.py [--seed N]

Both libraries get the same data, split, preprocessing, architecture and hyper-parameters
(see each example's docstring). BLAS is limited to one thread for both: these matrices are
small, and on a shared machine OpenBLAS's threads cost more than they give.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from threadpoolctl import threadpool_limits

import mlplab

HERE = Path(__file__).resolve().parent
EXERCISES = [("Mushroom, first 80% / last 20%", "mushrooms", "test accuracy"),
             ("Cleveland num > 0, 5-fold CV", "heart_cleveland", "CV accuracy"),
             ("Digits 8×8, 25% held out", "digits", "test accuracy")]


def _module(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(seed: int = 0) -> list[dict]:
    """Run every exercise with both libraries; one row per exercise."""
    rows = []
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for title, name, metric in EXERCISES:
            run = _module(name).run
            ours, theirs = run(mlplab.MLPClassifier, seed=seed), run(SkMLPClassifier, seed=seed)
            rows.append({"exercise": title, "metric": metric, "mlplab": ours["accuracy"],
                         "sklearn": theirs["accuracy"], "mlplab_s": ours["seconds"],
                         "sklearn_s": theirs["seconds"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = compare(args.seed)
    print(f"| exercise (seed {args.seed}) | metric | mlplab | scikit-learn | mlplab s | "
          "scikit-learn s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['exercise']} | {r['metric']} | {r['mlplab']:.4f} | {r['sklearn']:.4f} | "
              f"{r['mlplab_s']:.1f} | {r['sklearn_s']:.1f} |")


if __name__ == "__main__":
    main()
