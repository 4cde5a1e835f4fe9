"""The playground's data: generated sets, the user's CSV of 2-D points, and input features.

Points live in the plane ``(x₁, x₂)``; the network sees the chosen features of them
(``x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂``), as in TensorFlow Playground.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ...datasets import synthetic, train_test_split
from ...datasets.playground_sets import surface, three_blobs, three_spirals
from ...errors import DataError
from .config import DATASETS, MAX_COORD, MAX_POINTS, PlaygroundConfig

Array = np.ndarray

FEATURE_FUNCTIONS = {
    "x1": lambda P: P[:, 0], "x2": lambda P: P[:, 1],
    "x1^2": lambda P: P[:, 0] ** 2, "x2^2": lambda P: P[:, 1] ** 2,
    "x1x2": lambda P: P[:, 0] * P[:, 1],
    "sin(x1)": lambda P: np.sin(P[:, 0]), "sin(x2)": lambda P: np.sin(P[:, 1]),
}


def features(P: Array, names: list[str]) -> Array:
    """The network's input a⁽⁰⁾ for points P of shape (m, 2): one column per feature."""
    return np.column_stack([FEATURE_FUNCTIONS[name](P) for name in names])


@dataclass
class Data:
    """Train and test points of one task; ``classes`` is 0 for regression."""

    P_train: Array
    y_train: Array
    P_test: Array
    y_test: Array
    classes: int
    source: str
    sigma: float | None = None  # the generator's noise σ (None for the user's points)

    @property
    def kind(self) -> str:
        return "regression" if self.classes == 0 else "classification"


def generate(cfg: PlaygroundConfig) -> Data:
    """The configured data set, with σ = noise × 2 × the generator's default, split seeded."""
    kind, classes, sigma = DATASETS[cfg.dataset]
    noise = cfg.noise * 2 * sigma
    if cfg.dataset in synthetic.GENERATORS:
        P, y = synthetic.make(cfg.dataset, n=cfg.n_points, noise=noise, seed=cfg.seed)
    elif cfg.dataset == "three_blobs":
        P, y = three_blobs(cfg.n_points, noise=noise, seed=cfg.seed)
    elif cfg.dataset == "three_spirals":
        P, y = three_spirals(cfg.n_points, noise=noise, seed=cfg.seed)
    else:
        P, y = surface(cfg.dataset, cfg.n_points, noise=noise, seed=cfg.seed)
    data = split(P, y, classes, cfg, cfg.dataset)
    data.sigma = noise
    return data


def split(P: Array, y: Array, classes: int, cfg: PlaygroundConfig, source: str) -> Data:
    Ptr, Pte, ytr, yte = train_test_split(P, y, test_size=1 - cfg.train_ratio, seed=cfg.seed,
                                          stratify=classes > 0)
    return Data(Ptr, ytr, Pte, yte, classes, source)


def parse_csv(text: str, cfg: PlaygroundConfig) -> Data:
    """The user's points: three numeric columns ``x1, x2, y`` (a header line is optional).

    Labels that are all integers 0, 1 (or 0, 1, 2) make a classification task; two or three
    other small whole numbers (1, 2 or 0, 2 …) are refused, as class labels numbered
    wrongly; any other numbers make a regression task.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), header=None, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"the CSV could not be read: {str(exc).splitlines()[0]}") from None
    if frame.shape[1] != 3:
        raise DataError(f"the CSV needs exactly 3 columns (x1, x2, label), found {frame.shape[1]}")
    values = frame.apply(pd.to_numeric, errors="coerce")
    if values.iloc[0].isna().any():  # a header line
        values = values.iloc[1:]
    if values.isna().to_numpy().any():
        raise DataError("every row of the CSV must hold three numbers x1, x2, label")
    data = values.to_numpy(dtype=np.float64)
    if not np.isfinite(data).all():
        raise DataError("the CSV holds inf values; every number must be finite")
    big = np.abs(data) > MAX_COORD  # x1², a grid over 1e308 … overflow: refuse, as for a drawn point
    if big.any():
        row, col = np.argwhere(big)[0]
        raise DataError(f"every number in the CSV must lie within ±{MAX_COORD:g}; data row "
                        f"{row + 1} holds {data[row, col]:g} ({('x1', 'x2', 'label')[col]}): "
                        "rescale the data")
    if not 4 <= len(data) <= MAX_POINTS:
        raise DataError(f"the CSV must hold 4 to {MAX_POINTS} points, found {len(data)}")
    P, y = data[:, :2], data[:, 2]
    found = np.unique(y)
    if np.all(np.mod(y, 1) == 0) and 2 <= len(found) <= 3 and found.min() >= 0 \
            and found.max() <= 3 and found.max() != len(found) - 1:
        shown = ", ".join(f"{v:g}" for v in found)
        raise DataError(f"class labels must be 0 to k−1 (0, 1 or 0, 1, 2); this CSV's are "
                        f"{shown}: renumber them {', '.join(map(str, range(len(found))))}")
    if np.all(np.mod(y, 1) == 0) and set(found) <= {0, 1, 2} and len(found) >= 2:
        labels = y.astype(np.int64)
        classes = int(labels.max()) + 1
        if np.bincount(labels).min() < 2:
            raise DataError("each class in the CSV needs at least 2 points (one to train, one to test)")
        return split(P, labels, classes, cfg, "csv")
    return split(P, y, 0, cfg, "csv")
