"""Sequence data: seeded generators for the recurrent-network lab, and a bundled text.

Every sequence set is ``X`` of shape ``(m, T, features)`` (samples, time, features), as the
recurrent layers take it.

- :func:`adding_problem` (Hochreiter & Schmidhuber 1997): remember two marked numbers across
  ``T`` steps and add them;
- :func:`sum_of_sines` and :func:`windows`: a noisy series and its sliding windows, for
  forecasting the next value;
- :func:`load_coriolanus`, :class:`CharCoding`: a public-domain text (see the data folder's
  README for its source) and its characters as one-hot steps, for a character-level language
  model.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..core.validation import check_positive_int, make_rng
from ..errors import ConfigError, DataError


def adding_problem(n: int, T: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of the adding problem, ``X`` ``(n, T, 2)`` and ``y`` ``(n, 1)``.

    Feature 0 holds numbers drawn from U[0, 1]; feature 1 marks two steps with 1, one in each
    half of the sequence; the target is the sum of the two marked numbers. Predicting the mean
    (1) gives a mean squared error of Var(u₁ + u₂) = 1/6 ≈ 0.167: a network must beat that by
    remembering the first marked number across up to T steps.
    """
    n, T = check_positive_int(n, "n"), check_positive_int(T, "T", minimum=2)
    rng = make_rng(seed)
    X = np.zeros((n, T, 2))
    X[:, :, 0] = rng.random((n, T))
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    rows = np.arange(n)
    X[rows, first, 1] = X[rows, second, 1] = 1.0
    return X, (X[rows, first, 0] + X[rows, second, 0])[:, None]


def sum_of_sines(n_steps: int, noise: float = 0.1, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """A series ``sin(0.2 t) + 0.5 sin(0.31 t + 1)`` plus Gaussian noise of std ``noise``.

    Returns ``(noisy, clean)``, each ``(n_steps,)``.
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    t = np.arange(n_steps, dtype=float)
    clean = np.sin(0.2 * t) + 0.5 * np.sin(0.31 * t + 1.0)
    return clean + make_rng(seed).normal(0.0, noise, n_steps), clean


def windows(series, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``T`` consecutive values and the value after it: ``X`` ``(m, T, 1)``,
    ``y`` ``(m, 1)`` with ``m = len(series) − T``."""
    series = np.asarray(series, dtype=float)
    T = check_positive_int(T, "T")
    if series.ndim != 1 or len(series) <= T:
        raise DataError(f"windows needs a 1-D series longer than T = {T}, got shape "
                        f"{series.shape}")
    view = np.lib.stride_tricks.sliding_window_view(series[:-1], T)
    return view[..., None].copy(), series[T:, None].copy()


def load_coriolanus() -> str:
    """The opening of Shakespeare's *Coriolanus* (public domain), 39,908 characters."""
    path = resources.files("mlplab.datasets") / "data" / "coriolanus.txt"
    return path.read_text(encoding="utf-8")


class CharCoding:
    """The characters of a text as class indices and one-hot steps.

    Parameters
    ----------
    text : str
        Its distinct characters, sorted, are the vocabulary.
    """

    def __init__(self, text: str):
        if not text:
            raise ConfigError("CharCoding needs a non-empty text")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Class indices ``(len(text),)``; a character outside the vocabulary is a DataError."""
        try:
            return np.array([self.index[c] for c in text], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, indices) -> str:
        return "".join(self.chars[int(i)] for i in indices)

    def one_hot(self, indices, dtype=np.float32) -> np.ndarray:
        """``(..., size)`` one-hot rows for an array of class indices."""
        return np.eye(self.size, dtype=dtype)[np.asarray(indices)]

    def training_windows(self, text: str, T: int, dtype=np.float32):
        """Non-overlapping windows of ``T`` characters: inputs ``(m, T, size)`` one-hot, and
        targets ``(m, T)``, the class of the next character at every step."""
        codes = self.encode(text)
        m = (len(codes) - 1) // T
        if m < 1:
            raise DataError(f"the text has {len(codes)} characters: too short for T = {T}")
        inputs = codes[:m * T].reshape(m, T)
        targets = codes[1:m * T + 1].reshape(m, T)
        return self.one_hot(inputs, dtype), targets
