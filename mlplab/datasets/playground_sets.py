"""The playground's further 2-D data sets: three classes, and regression surfaces.

Same contract as :mod:`mlplab.datasets.synthetic`: ``(n, noise, seed)`` in, ``(X, y)`` out,
X of shape ``(n, 2)``. Classification sets give integer labels; regression sets give a real
target ``y = f(x₁, x₂) + noise`` with the points uniform in ``[-1, 1]²``.
"""

from __future__ import annotations

import numpy as np

from .synthetic import _check, _split_counts, blobs

Array = np.ndarray


def three_blobs(n: int = 300, noise: float = 0.6, seed: int | None = 0) -> tuple[Array, Array]:
    """Three Gaussian blobs on a triangle, one class each."""
    centers = [(0.0, 2.0), (-1.8, -1.2), (1.8, -1.2)]
    return blobs(n, noise=noise, seed=seed, centers=centers)


def three_spirals(n: int = 300, noise: float = 0.1, seed: int | None = 0) -> tuple[Array, Array]:
    """Three interleaved spiral arms, one class each (radius ≤ 1)."""
    n = _check(n, noise)
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, count in enumerate(_split_counts(n, 3)):
        r = np.sqrt(rng.uniform(0.02, 1, count))
        angle = 1.75 * np.pi * r + k * 2 * np.pi / 3
        X.append(np.c_[r * np.cos(angle), r * np.sin(angle)] + noise * 0.5 * rng.standard_normal((count, 2)))
        y.append(np.full(count, k))
    return np.vstack(X), np.concatenate(y)


SURFACES = {
    # a tilted plane: a single linear neuron suffices
    "plane": lambda x1, x2: 0.5 * x1 + 0.3 * x2,
    # two Gaussian bumps of opposite sign (TensorFlow Playground's "multi-Gaussian")
    "bumps": lambda x1, x2: (np.exp(-((x1 - 0.4) ** 2 + (x2 - 0.4) ** 2) / 0.18)
                             - np.exp(-((x1 + 0.4) ** 2 + (x2 + 0.4) ** 2) / 0.18)),
    # a ripple: needs several neurons
    "ripple": lambda x1, x2: np.sin(np.pi * x1) * np.cos(np.pi * x2 / 2),
}


def surface(name: str, n: int = 300, noise: float = 0.05, seed: int | None = 0) -> tuple[Array, Array]:
    """Points uniform in ``[-1, 1]²`` with target ``f(x₁, x₂)`` plus Gaussian noise."""
    n = _check(n, noise)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = SURFACES[name](X[:, 0], X[:, 1]) + noise * rng.standard_normal(n)
    return X, y
