"""The course's Mushroom exercise, with mlplab or scikit-learn.

Protocol (the exercise's): one-hot encode every feature, train on the first 80% of the file,
test on the last 20%, no shuffling of the split; 100 logistic hidden units, Adam,
learning rate 0.001, at most 2000 epochs.

    python examples/mushrooms.py            # mlplab
    python examples/mushrooms.py --sklearn  # scikit-learn's MLPClassifier, same protocol
"""

from __future__ import annotations

import sys
import time

import pandas as pd

import mlplab
from mlplab.datasets import load_mushrooms


def run(estimator_class=mlplab.MLPClassifier, seed: int = 0) -> dict:
    """Fit the exercise's network; returns test accuracy, epochs and seconds."""
    X, y = load_mushrooms(return_X_y=True, as_frame=True)
    X = pd.get_dummies(X).to_numpy(dtype=float)  # one-hot every feature: 117 columns
    n_train = int(0.8 * len(X))                  # first 80% of the file, in file order
    clf = estimator_class(hidden_layer_sizes=(100,), activation="logistic", solver="adam",
                          learning_rate_init=0.001, max_iter=2000, random_state=seed)
    start = time.perf_counter()
    clf.fit(X[:n_train], y[:n_train])
    return {"accuracy": clf.score(X[n_train:], y[n_train:]), "epochs": clf.n_iter_,
            "seconds": time.perf_counter() - start, "n_train": n_train,
            "n_test": len(X) - n_train, "n_features": X.shape[1]}


if __name__ == "__main__":
    if "--sklearn" in sys.argv:
        from sklearn.neural_network import MLPClassifier as cls
    else:
        cls = mlplab.MLPClassifier
    r = run(cls)
    print(f"Mushroom ({cls.__module__}): test accuracy {r['accuracy']:.4f} on the last "
          f"{r['n_test']} rows, {r['epochs']} epochs, {r['seconds']:.1f} s")
