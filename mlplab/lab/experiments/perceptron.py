"""The perceptron: it separates the blobs ("cats vs dogs") but can never learn XOR."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import ExperimentResult, Table

NAME = "perceptron"
ORDER = 20
TITLE = "The neuron and the perceptron rule"
TITLE_ZH = "02 神经元 · 03 单层感知机"
CLAIM = ("A single layer of sgn neurons, trained sample by sample by moving its line towards each "
         "misclassified sample, separates any linearly separable data in finitely many updates — "
         "and never learns XOR.")


def _accuracies(clf, X, y) -> np.ndarray:
    """Training accuracy of every line the rule visited (start, then after each update)."""
    Z = np.einsum("uf,mf->um", clf.coef_path_[:, 0], X) + clf.intercept_path_[:, :1]
    return ((Z > 0) == (np.asarray(y) == 1)).mean(axis=1)


CENTERS = np.array([(2.0, 5.0), (5.0, 3.0)])  # off the origin: the bias b has to learn too


def separable_blobs(n: int, seed: int, margin: float = 0.3):
    """Two blobs ("cats vs dogs") with the points near the bisector removed: separable."""
    from ...datasets import blobs

    X, y = blobs(n, noise=0.8, seed=seed, centers=CENTERS)
    w = CENTERS[1] - CENTERS[0]
    z = (X - CENTERS.mean(0)) @ w / np.linalg.norm(w)   # signed distance to the bisector
    keep = np.where(y == 1, z, -z) > margin
    return X[keep], y[keep]


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...datasets import truth_table, xor_clusters
    from ...sklearn.perceptron import Perceptron
    from ..plots.perceptron import dancing_line_gif, dancing_line_still, mistakes_plot

    out = Path(out)
    max_iter = 30 if quick else 100
    # 1. separable: two Gaussian blobs
    Xb, yb = separable_blobs(100, seed)  # cheap either way; fewer points barely dance
    # tol="error_free": the lecture's rule, stop after the first epoch without a mistake
    blob = Perceptron(eta0=1.0, max_iter=1000, tol="error_free", random_state=seed).fit(Xb, yb)
    # 2. XOR, the 4-point truth table and the 4-cluster version
    Xx, Yx = truth_table("xor")
    yx = Yx.ravel().astype(int)
    xor = Perceptron(max_iter=max_iter, tol="error_free", random_state=seed).fit(Xx, yx)
    xor_acc = _accuracies(xor, Xx, yx)
    Xc, yc = xor_clusters(100 if quick else 200, seed=seed)
    clusters = Perceptron(max_iter=max_iter, tol="error_free", random_state=seed).fit(Xc, yc)
    clusters_acc = _accuracies(clusters, Xc, yc)

    figures = [
        (dancing_line_gif(blob, Xb, yb, out / "perceptron_dance.gif",
                          max_frames=25 if quick else 60),
         "The dancing line (animated): each frame is one update; the ringed sample was "
         "misclassified and pulled the line towards itself."),
        (dancing_line_still(blob, Xb, yb, out / "perceptron_blobs.png",
                            title=f"blobs: separated after {blob.n_updates_} updates, "
                                  f"{blob.n_iter_} epochs"),
         "Blobs: every line the rule visited (faint) and the final separating line (bold)."),
        (dancing_line_still(xor, Xx, yx, out / "perceptron_xor.png",
                            title=f"XOR: {xor.n_iter_} epochs, still no separating line",
                            highlight=int(xor_acc.argmax()),
                            highlight_label=f"best line: {xor_acc.max():.0%} right"),
         "XOR truth table: the line keeps dancing; no line gets more than 3 of the 4 points."),
        (mistakes_plot({f"blobs ({len(Xb)} samples)": (blob.mistakes_, len(Xb)),
                        "XOR truth table (4 samples)": (xor.mistakes_, 4),
                        f"XOR clusters ({len(Xc)} samples)": (clusters.mistakes_, len(Xc))},
                       out / "perceptron_mistakes.png"),
         "Mistakes per epoch (share of the samples): the blobs reach an error-free epoch and stop; XOR never does and "
         "runs to max_iter."),
    ]
    runs = [("blobs", blob, Xb, yb, _accuracies(blob, Xb, yb)), ("XOR table", xor, Xx, yx, xor_acc),
            ("XOR clusters", clusters, Xc, yc, clusters_acc)]
    table = Table("Perceptron runs", ["data", "samples", "epochs", "updates", "final accuracy",
                                      "best accuracy", "stop reason"],
                  [[name, len(X), c.n_iter_, c.n_updates_, f"{c.score(X, y):.1%}",
                    f"{acc.max():.1%}", c.stop_reason_] for name, c, X, y, acc in runs])
    numbers = {
        "max_iter": max_iter,
        "blobs": {"converged": blob.converged_, "epochs": blob.n_iter_,
                  "updates": blob.n_updates_, "accuracy": blob.score(Xb, yb),
                  "stop_reason": blob.stop_reason_},
        "xor": {"converged": xor.converged_, "epochs": xor.n_iter_, "updates": xor.n_updates_,
                "best_accuracy": float(xor_acc.max()), "final_accuracy": xor.score(Xx, yx),
                "stop_reason": xor.stop_reason_},
        "xor_clusters": {"converged": clusters.converged_, "epochs": clusters.n_iter_,
                         "best_accuracy": float(clusters_acc.max()),
                         "final_accuracy": clusters.score(Xc, yc)},
    }
    findings = [
        f"Blobs: {blob.stop_reason_}; accuracy {blob.score(Xb, yb):.0%}.",
        f"XOR: {xor.stop_reason_}. The best line it ever held got {xor_acc.max():.0%} "
        "of the 4 points (no line can do better than 3 of 4).",
        f"XOR clusters: best line {clusters_acc.max():.0%}, final {clusters.score(Xc, yc):.0%} "
        f"after {clusters.n_iter_} epochs.",
    ]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table], findings)
