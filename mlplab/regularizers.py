"""Weight penalties as callbacks that add their gradient after backpropagation.

The regularized cost is ``C + λ·Ω(W)``; only the weights ``W⁽ˡ⁾`` are penalized, not the
biases, unless ``include_bias=True``. The loss recorded in the History stays the data cost
``C``; :meth:`penalty` gives ``λ·Ω`` for reports.

- ``L2(λ)``: ``Ω = ½ Σ‖W⁽ˡ⁾‖²``, gradient ``λ W`` (weight decay);
- ``L1(λ)``: ``Ω = Σ|W⁽ˡ⁾|``, gradient ``λ sign(W)``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .callbacks import Callback
from .errors import ConfigError
from .layers import Dense


class _Penalty(Callback):
    def __init__(self, lam: float, include_bias: bool = False):
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
            raise ConfigError(f"{type(self).__name__} strength λ must be ≥ 0, got {lam!r}")
        self.lam, self.include_bias = float(lam), bool(include_bias)

    def _pairs(self, net):
        for layer in net.layers:
            if isinstance(layer, Dense):
                yield layer.W, layer.dW
                if self.include_bias:
                    yield layer.b, layer.db

    def on_gradients(self, trainer) -> None:
        if self.lam:
            for p, g in self._pairs(trainer.net):
                self.add_gradient(p, g)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.lam:g})"


class L2(_Penalty):
    """Weight decay: adds ``λ W`` to ``∂C/∂W`` (cost term ``½ λ ‖W‖²``)."""

    def add_gradient(self, p, g) -> None:
        g += self.lam * p

    def penalty(self, net) -> float:
        return 0.5 * self.lam * sum(float(np.sum(p * p)) for p, _ in self._pairs(net))


class L1(_Penalty):
    """Sparsity: adds ``λ sign(W)`` to ``∂C/∂W`` (cost term ``λ Σ|W|``)."""

    def add_gradient(self, p, g) -> None:
        g += self.lam * np.sign(p)

    def penalty(self, net) -> float:
        return self.lam * sum(float(np.sum(np.abs(p))) for p, _ in self._pairs(net))
