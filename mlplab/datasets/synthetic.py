"""Seeded 2-D data generators: the lecture's pictures and the playground's data sets.

Every generator takes ``n`` (samples), ``noise`` and ``seed`` and returns ``(X, y)`` with X of
shape ``(n, 2)`` and integer labels y of shape ``(n,)``. The same seed gives the same data.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..core.validation import check_positive_int, make_rng

Array = np.ndarray


def _check(n, noise) -> int:
    n = check_positive_int(n, "n (number of samples)")
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ConfigError(f"noise must be a number ≥ 0, got {noise!r}")
    return n


def _split_counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def blobs(n: int = 100, noise: float = 1.0, seed: int | None = 0, centers=None) -> tuple[Array, Array]:
    """Gaussian blobs, one per class (the lecture's "cats vs dogs" by default: two classes).

    ``centers`` is a list of 2-D centres (default ``[(-2, -2), (2, 2)]``); ``noise`` is the
    standard deviation around each centre.
    """
    n = _check(n, noise)
    centers = np.asarray(centers if centers is not None else [(-2.0, -2.0), (2.0, 2.0)], float)
    rng = make_rng(seed)
    X, y = [], []
    for k, count in enumerate(_split_counts(n, len(centers))):
        X.append(centers[k] + noise * rng.standard_normal((count, 2)))
        y.append(np.full(count, k))
    return np.vstack(X), np.concatenate(y)


def xor_clusters(n: int = 200, noise: float = 0.3, seed: int | None = 0) -> tuple[Array, Array]:
    """Four clusters at (±1, ±1): label 1 where exactly one coordinate is positive (XOR)."""
    n = _check(n, noise)
    rng = make_rng(seed)
    corners = np.array([(-1, -1), (-1, 1), (1, -1), (1, 1)], float)
    labels = np.array([0, 1, 1, 0])
    idx = np.repeat(np.arange(4), _split_counts(n, 4))
    return corners[idx] + noise * rng.standard_normal((n, 2)), labels[idx]


def moons(n: int = 200, noise: float = 0.2, seed: int | None = 0) -> tuple[Array, Array]:
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    from sklearn.datasets import make_moons

    n = _check(n, noise)
    return make_moons(n_samples=n, noise=noise, random_state=_sk_seed(seed))


def circles(n: int = 200, noise: float = 0.1, seed: int | None = 0,
            factor: float = 0.5) -> tuple[Array, Array]:
    """A disc inside a ring (scikit-learn's ``make_circles``); class 1 is the inner disc."""
    from sklearn.datasets import make_circles

    n = _check(n, noise)
    return make_circles(n_samples=n, noise=noise, factor=factor, random_state=_sk_seed(seed))


def spiral(n: int = 200, noise: float = 0.1, seed: int | None = 0, turns: float = 1.5) -> tuple[Array, Array]:
    """Two interleaved spirals, one per class."""
    n = _check(n, noise)
    rng = make_rng(seed)
    X, y = [], []
    for k, count in enumerate(_split_counts(n, 2)):
        t = np.sqrt(rng.uniform(0, 1, count)) * turns * 2 * np.pi
        r = t / (turns * 2 * np.pi)
        angle = t + k * np.pi
        X.append(np.c_[r * np.cos(angle), r * np.sin(angle)] + noise * rng.standard_normal((count, 2)) * 0.2)
        y.append(np.full(count, k))
    return np.vstack(X), np.concatenate(y)


def two_curves(n: int = 200, noise: float = 0.05, seed: int | None = 0) -> tuple[Array, Array]:
    """The lecture's universal-approximation picture: two cosine-shaped curves in [-1, 1]².

    Class 0 lies along ``x₂ = 0.5 cos(πx₁) + 0.2``, class 1 along ``x₂ = 0.5 cos(πx₁) − 0.2``:
    the curves never cross, yet no straight line separates them.
    """
    n = _check(n, noise)
    rng = make_rng(seed)
    X, y = [], []
    for k, count in enumerate(_split_counts(n, 2)):
        x1 = rng.uniform(-1, 1, count)
        x2 = 0.5 * np.cos(np.pi * x1) + (0.2 if k == 0 else -0.2)
        X.append(np.c_[x1, x2] + noise * rng.standard_normal((count, 2)))
        y.append(np.full(count, k))
    return np.clip(np.vstack(X), -1, 1), np.concatenate(y)


def _sk_seed(seed):
    return None if seed is None else int(make_rng(seed).integers(2**31 - 1))


GENERATORS = {"blobs": blobs, "xor": xor_clusters, "moons": moons, "circles": circles,
              "spiral": spiral, "two_curves": two_curves}


def make(name: str, n: int = 200, noise: float | None = None, seed: int | None = 0):
    """A generator by name (blobs, xor, moons, circles, spiral, two_curves)."""
    if name not in GENERATORS:
        raise ConfigError(f"unknown data set {name!r}; choose one of: {', '.join(GENERATORS)}")
    fn = GENERATORS[name]
    return fn(n=n, seed=seed) if noise is None else fn(n=n, noise=noise, seed=seed)
