"""Gradient clipping as callbacks: they act after backpropagation, before the update.

- :class:`ClipByGlobalNorm` (Pascanu et al. 2013): with ``‖g‖ = √(Σ over every W, b of ‖∂C/∂θ‖²)``,
  if ``‖g‖ > max_norm`` every gradient is scaled by ``max_norm / ‖g‖``: the step keeps its
  direction and is bounded in length.
- :class:`ClipByValue`: every entry clipped to ``[−clip_value, clip_value]`` (the direction
  changes; simpler and per entry).

Clipping is a remedy for *exploding* gradients: it bounds the update so one huge gradient cannot
throw the weights into overflow. It does nothing for vanishing gradients (it only ever shrinks),
and global-norm clipping leaves the ratio between layers unchanged.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .callbacks import Callback
from ..errors import ConfigError


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
            or not math.isfinite(value):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def global_norm(grads) -> float:
    """``√(Σ ‖g‖²)`` over a list of gradient arrays."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads))


class ClipByGlobalNorm(Callback):
    """Scale all gradients by ``max_norm / ‖g‖`` whenever their global norm exceeds ``max_norm``.

    Attributes
    ----------
    n_clipped, n_batches : int
        Batches whose gradient was scaled down, and batches seen (reset by each ``fit``).
    n_nonfinite : int
        Batches whose gradient norm was NaN or infinite; those gradients are set to 0 (the step
        is skipped) rather than spreading NaN into every weight.
    last_norm : float
        The global norm before clipping, of the last batch.
    """

    def __init__(self, max_norm: float = 1.0):
        self.max_norm = _check_positive(max_norm, "ClipByGlobalNorm max_norm")

    def on_train_begin(self, trainer) -> None:
        self.n_clipped = self.n_batches = self.n_nonfinite = 0
        self.last_norm = float("nan")

    def on_gradients(self, trainer) -> None:
        grads = trainer.net.grads
        norm = global_norm(grads)
        self.last_norm = norm
        self.n_batches += 1
        if not math.isfinite(norm):
            self.n_nonfinite += 1
            for g in grads:
                g[...] = 0
        elif norm > self.max_norm:
            self.n_clipped += 1
            scale = self.max_norm / norm
            for g in grads:
                g *= scale

    def __repr__(self) -> str:
        return f"ClipByGlobalNorm({self.max_norm:g})"


class ClipByValue(Callback):
    """Clip every gradient entry to ``[−clip_value, clip_value]``.

    ``n_clipped`` counts the entries changed over the last ``fit``.
    """

    def __init__(self, clip_value: float = 1.0):
        self.clip_value = _check_positive(clip_value, "ClipByValue clip_value")

    def on_train_begin(self, trainer) -> None:
        self.n_clipped = 0

    def on_gradients(self, trainer) -> None:
        c = self.clip_value
        for g in trainer.net.grads:
            self.n_clipped += int(np.count_nonzero(np.abs(g) > c))
            np.clip(g, -c, c, out=g)

    def __repr__(self) -> str:
        return f"ClipByValue({self.clip_value:g})"
