"""Weight initializers: ``W`` of shape ``(n_out, n_in)`` and ``b`` of shape ``(n_out,)``.

- ``normal``: the lecture's random initialization: W and b drawn from N(0, scale²), scale 1 by
  default, as in Nielsen's chapter 1 (``normal:0.1`` picks another scale; very small weights
  start training on the flat saddle at the origin, where the ε stopping rule fires at once);
- ``lecun_normal``: N(0, 1/n_in) for W, as in Nielsen's book, b ~ N(0, 1);
- ``xavier_normal`` / ``xavier_uniform`` (Glorot): variance 2/(n_in + n_out), b = 0;
- ``he_normal`` / ``he_uniform``: variance 2/n_in (for ReLU), b = 0.

Every initializer draws from the ``numpy.random.Generator`` it is given: the same seed gives
bit-identical weights.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError

Array = np.ndarray
Init = Callable[[int, int, np.random.Generator], tuple[Array, Array]]


def normal(scale: float = 1.0) -> Init:
    def init(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
        return rng.normal(0.0, scale, (n_out, n_in)), rng.normal(0.0, scale, n_out)

    return init


def lecun_normal(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    return rng.normal(0.0, np.sqrt(1.0 / n_in), (n_out, n_in)), rng.normal(0.0, 1.0, n_out)


def xavier_normal(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    std = np.sqrt(2.0 / (n_in + n_out))
    return rng.normal(0.0, std, (n_out, n_in)), np.zeros(n_out)


def xavier_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_out, n_in)), np.zeros(n_out)


def he_normal(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out)


def he_uniform(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[Array, Array]:
    limit = np.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, (n_out, n_in)), np.zeros(n_out)


INITIALIZERS: dict[str, Init] = {
    "normal": normal(),
    "lecun_normal": lecun_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}
ALIASES = {"glorot_normal": "xavier_normal", "glorot_uniform": "xavier_uniform",
           "xavier": "xavier_normal", "glorot": "xavier_normal", "he": "he_normal"}


def get_initializer(name: str | Init) -> Init:
    """Look an initializer up: a name, ``"normal:SCALE"``, or a callable passed through."""
    if callable(name):
        return name
    key = str(name).lower()
    if key.startswith("normal:"):
        try:
            scale = float(key.split(":", 1)[1])
        except ValueError:
            scale = -1.0
        if not scale > 0:
            raise ConfigError(f"init {name!r}: the scale after 'normal:' must be a positive number")
        return normal(scale)
    key = ALIASES.get(key, key)
    if key not in INITIALIZERS:
        known = ", ".join(sorted(INITIALIZERS) + sorted(ALIASES) + ["normal:SCALE"])
        raise ConfigError(f"unknown init {name!r}; choose one of: {known}")
    return INITIALIZERS[key]
