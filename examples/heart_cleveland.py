"""Heart disease (UCI Cleveland), binary target ``num > 0``, 5-fold stratified CV.

Preprocessing in a scikit-learn Pipeline: median-impute and standardize the numeric columns,
most-frequent-impute and one-hot encode the coded ones (chest pain, rest ECG, slope, thal);
then a 16-unit ReLU layer trained with Adam, L2 alpha = 1.

    python examples/heart_cleveland.py            # mlplab
    python examples/heart_cleveland.py --sklearn  # scikit-learn's MLPClassifier, same pipeline
"""

from __future__ import annotations

import sys
import time

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlplab
from mlplab.datasets import load_heart_cleveland

CODED = ["cp", "restecg", "slope", "thal"]


def make_model(estimator_class=mlplab.MLPClassifier, seed: int = 0):
    """The pipeline: the same preprocessing and architecture for either library."""
    X = load_heart_cleveland(as_frame=True).data
    numeric = [c for c in X.columns if c not in CODED]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), CODED),
    ])
    clf = estimator_class(hidden_layer_sizes=(16,), activation="relu", solver="adam",
                          alpha=1.0, learning_rate_init=0.01, max_iter=300, random_state=seed)
    return make_pipeline(prep, clf)


def run(estimator_class=mlplab.MLPClassifier, seed: int = 0, n_jobs: int | None = None) -> dict:
    """5-fold stratified cross-validation accuracy (mean and standard deviation)."""
    X, y = load_heart_cleveland(return_X_y=True, as_frame=True, binary=True)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    start = time.perf_counter()
    scores = cross_val_score(make_model(estimator_class, seed), X, y, cv=cv, n_jobs=n_jobs)
    return {"accuracy": float(scores.mean()), "std": float(scores.std()),
            "folds": scores.tolist(), "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    if "--sklearn" in sys.argv:
        from sklearn.neural_network import MLPClassifier as cls
    else:
        cls = mlplab.MLPClassifier
    r = run(cls)
    print(f"Cleveland num > 0 ({cls.__module__}): 5-fold CV accuracy {r['accuracy']:.4f} "
          f"± {r['std']:.4f}, {r['seconds']:.1f} s")
