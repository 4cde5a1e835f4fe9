"""The one-layer learning rules of the lecture, written sample by sample: the perceptron rule
from a random line, and Hebb's rule. Each returns a :class:`Dance`, the line after every
update, which the perceptron figures draw.

The perceptron rule is :class:`mlplab.Perceptron`'s (tested equal from a zero start); it is
written again here because the lecture starts from a *random* line, and because the lab's
pictures must not change when the estimator gains scikit-learn's options.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass
class Dance:
    """The lines ``w·x + b = 0`` a rule visited: the start, then one per update."""

    coef_path_: Array            # (updates + 1, 1, n_features)
    intercept_path_: Array       # (updates + 1, 1)
    update_samples_: Array       # row of X behind each update
    update_epochs_: Array        # epoch (1-based) of each update
    mistakes_: list[int] = field(default_factory=list)
    converged_: bool = False

    @property
    def n_updates_(self) -> int:
        return len(self.update_samples_)

    @property
    def n_iter_(self) -> int:
        return len(self.mistakes_)

    @property
    def stop_reason_(self) -> str:
        return "converged" if self.converged_ else "max_epochs"

    def line_at(self, update: int, unit: int = 0) -> tuple[Array, float]:
        return self.coef_path_[update, unit].copy(), float(self.intercept_path_[update, unit])

    def accuracy(self, X: Array, y: Array, update: int | None = None) -> float:
        """Share of samples with sgn(w·x + b) = the target (the last line by default)."""
        w, b = self.line_at(self.n_updates_ if update is None else update)
        return float(np.mean((X @ w + b > 0) == (np.asarray(y) == 1)))

    def accuracies(self, X: Array, y: Array) -> Array:
        """The accuracy of every line visited."""
        Z = np.einsum("uf,mf->um", self.coef_path_[:, 0], X) + self.intercept_path_[:, :1]
        return ((Z > 0) == (np.asarray(y) == 1)).mean(axis=1)

    def smallest_margin(self, X: Array) -> float:
        """min |w·x + b| over every line and sample: > 0 means no line ran through a point,
        so no result depended on the value of sgn(0)."""
        Z = np.einsum("uf,mf->um", self.coef_path_[:, 0], X) + self.intercept_path_[:, :1]
        return float(np.abs(Z).min())


def random_line(X: Array, rng: np.random.Generator) -> tuple[Array, float]:
    """A random line through a random point of the data's box: the lecture's starting line."""
    angle = rng.uniform(0, 2 * np.pi)
    w = np.array([np.cos(angle), np.sin(angle)])
    point = rng.uniform(X.min(0), X.max(0))
    return w, float(-w @ point)


def _run(X, y, w, b, eta, max_epochs, rng, update, shuffle: bool = True) -> Dance:
    t = np.where(np.asarray(y) == 1, 1.0, -1.0)
    W_path, b_path, samples, epochs, mistakes = [w.copy()], [b], [], [], []
    converged = False
    for epoch in range(1, max_epochs + 1):
        wrong = 0
        for i in (rng.permutation(len(X)) if shuffle else range(len(X))):
            changed, w, b = update(X[i], t[i], w, b, eta)
            if changed:
                wrong += 1
                W_path.append(w.copy())
                b_path.append(b)
                samples.append(int(i))
                epochs.append(epoch)
        mistakes.append(wrong)
        if wrong == 0:
            converged = True
            break
    return Dance(np.array(W_path)[:, None, :], np.array(b_path)[:, None], np.array(samples, int),
                 np.array(epochs, int), mistakes, converged)


def _perceptron_update(x, t, w, b, eta):
    if t * (w @ x + b) <= 0:          # misclassified: sgn(z) ≠ t
        return True, w + eta * t * x, b + eta * t   # w ← w + η t x: the line moves towards x
    return False, w, b


def perceptron_rule(X, y, *, w0=None, b0: float = 0.0, eta: float = 1.0, max_epochs: int = 100,
                    seed: int = 0, shuffle: bool = True) -> Dance:
    """The perceptron rule, sample by sample (in a fresh random order each epoch unless
    ``shuffle`` is False); stops after an epoch without mistakes. ``w0=None`` starts from a
    random line."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, float)
    if w0 is None:
        w0, b0 = random_line(X, rng)
    return _run(X, y, np.asarray(w0, float), float(b0), eta, max_epochs, rng, _perceptron_update,
                shuffle)


def _hebb_update(x, t, w, b, eta):
    return True, w + eta * t * x, b + eta * t      # Δw = η t x for every sample


def hebb_rule(X, y, *, eta: float = 1.0, epochs: int = 1, seed: int = 0) -> Dance:
    """Hebb's rule from w = 0: every sample, right or wrong, adds η·t·x to w (and η·t to b);
    targets t = ±1. Runs ``epochs`` passes (it has no stopping test of its own)."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, float)
    dance = _run(X, y, np.zeros(X.shape[1]), 0.0, eta, epochs, rng, _hebb_update)
    dance.converged_ = dance.accuracy(X, y) == 1.0
    return dance
