"""scikit-learn's bundled 8×8 digits with one hidden layer.

Pixels scaled to [0, 1] (÷ 16); a stratified 75/25 split; 64 ReLU units, Adam with learning rate 0.001, at most 300 epochs.

    python examples/digits.py            # mlplab
    python examples/digits.py --sklearn  # scikit-learn's MLPClassifier
"""

from __future__ import annotations

import sys
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import mlplab


def run(estimator_class=mlplab.MLPClassifier, seed: int = 0) -> dict:
    """Test accuracy of a 64-64-10 network on a held-out quarter of the digits."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=seed)
    clf = estimator_class(hidden_layer_sizes=(64,), activation="relu", solver="adam",
                          learning_rate_init=0.001, max_iter=300, random_state=seed)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    return {"accuracy": clf.score(X_test, y_test), "epochs": clf.n_iter_,
            "seconds": time.perf_counter() - start, "n_test": len(X_test)}


if __name__ == "__main__":
    if "--sklearn" in sys.argv:
        from sklearn.neural_network import MLPClassifier as cls
    else:
        cls = mlplab.MLPClassifier
    r = run(cls)
    print(f"Digits ({cls.__module__}): test accuracy {r['accuracy']:.4f} on {r['n_test']} "
          f"images, {r['epochs']} epochs, {r['seconds']:.1f} s")
