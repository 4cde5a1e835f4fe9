"""Data sets: the lecture's truth tables, seeded 2-D generators, splits, and CSV files.

Every loader returns ``(X, Y)`` with samples as rows. Generators live in
:mod:`mlplab.datasets.synthetic` (blobs, xor_clusters, moons, circles, spiral, two_curves),
splits in :mod:`mlplab.datasets.split`, the course's real data (UCI Mushroom, UCI Heart
Disease Cleveland) in :mod:`mlplab.datasets.tabular`, images (digits as 1 × 8 × 8 images,
CIFAR-10's binary files) in :mod:`mlplab.datasets.images`.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .images import load_cifar10, load_digits_images, shift_images
from .split import train_test_split, train_val_test_split, validation_split
from .tabular import load_heart_cleveland, load_mushrooms
from .synthetic import blobs, circles, moons, spiral, two_curves, xor_clusters

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
TRUTH_TABLES = {
    "xor": np.array([0, 1, 1, 0]),
    "and": np.array([0, 0, 0, 1]),
    "or": np.array([0, 1, 1, 1]),
}


def truth_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The 4-point truth table of ``xor``, ``and`` or ``or``: X (4, 2) and Y (4, 1)."""
    key = str(name).lower()
    if key not in TRUTH_TABLES:
        raise ConfigError(f"unknown truth table {name!r}; choose one of: {', '.join(TRUTH_TABLES)}")
    return _INPUTS.copy(), TRUTH_TABLES[key].reshape(-1, 1).astype(np.float64)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table: (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0."""
    return truth_table("xor")


BUILTIN = dict.fromkeys(TRUTH_TABLES)


def load_builtin(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set by name (the CLI's ``mlplab train NAME``)."""
    return truth_table(name)


__all__ = ["truth_table", "xor", "load_builtin", "BUILTIN", "blobs", "xor_clusters", "moons",
           "circles", "spiral", "two_curves", "load_mushrooms", "load_heart_cleveland",
           "train_test_split", "train_val_test_split", "validation_split", "load_digits_images",
           "load_cifar10", "shift_images"]
