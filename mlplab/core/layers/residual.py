"""A residual (skip) connection around a block of layers: ``a = a_prev + F(a_prev)``.

``F`` is any stack of layers that keeps the width (``Dense(30, 30, "sigmoid")``, or
``Dense(30, 30, "relu"), Dense(30, 30, "identity")``, with BatchNorm between if wished).
Backward, with ``dA = ∂C/∂a``::

    ∂C/∂a_prev = dA + (∂F/∂a_prev)ᵀ dA

The first term is the skip: the gradient reaches the layers below undiminished, however small
``F``'s derivative (σ' ≤ 0.25) makes the second. This is why deep residual networks train.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...errors import ConfigError
from .base import Layer

Array = np.ndarray


class Residual(Layer):
    """``a = a_prev + F(a_prev)`` with ``F`` the given layers, applied in order.

    Parameters
    ----------
    layers : sequence of Layer
        The block F; the first layer's input width must equal the last layer's output width.

    Examples
    --------
    >>> from mlplab.layers import Dense, Residual
    >>> block = Residual([Dense(30, 30, "sigmoid")])
    >>> block.n_out
    30
    """

    def __init__(self, layers: Sequence[Layer]):
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise ConfigError("Residual needs a non-empty list of layers, e.g. "
                              "Residual([Dense(30, 30, 'relu')])")
        self.layers = layers
        # the block's width: the first one a layer was given (Dropout(None) or BatchNorm(None)
        # take theirs from the layer below); none given: the network's build decides it
        shape = next((layer.in_shape for layer in layers if layer.in_shape is not None), None)
        if shape is not None:
            self._chain(tuple(shape))

    def _chain(self, shape: tuple) -> None:
        """Build F's layers one after the other from ``shape``; F must give ``shape`` back."""
        out = shape
        for layer in self.layers:
            if layer.in_shape is not None and tuple(layer.in_shape) != out:
                raise ConfigError(f"Residual block: {layer!r} takes {_width(layer.in_shape)} "
                                  f"inputs but receives {_width(out)}; F must keep the width")
            out = tuple(layer.build(out))
        if out != shape:
            raise ConfigError(f"Residual block maps {_width(shape)} units to {_width(out)}: the "
                              "skip a_prev + F(a_prev) needs F to keep the width")
        self.in_shape = self.out_shape = shape

    def build(self, in_shape: tuple) -> tuple:
        if self.in_shape is None:
            self._chain(tuple(in_shape))
        return super().build(in_shape)

    @property
    def n_in(self) -> int:
        return self.in_shape[0]

    @property
    def params(self) -> list[Array]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[Array]:
        return [g for layer in self.layers for g in layer.grads]

    def seed_from(self, rng, redraw: bool = True) -> None:
        for layer in self.layers:  # its layers know their widths: drawn when made
            layer.seed_from(rng, redraw)

    def to(self, where) -> None:
        for layer in self.layers:
            layer.to(where)

    def clear(self) -> None:
        for layer in self.layers:
            layer.clear()
        self.A = None

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        F = A_prev
        for layer in self.layers:
            F = layer.forward(F, training)
        self.A = A_prev + F  # a = a_prev + F(a_prev): a new array, never a layer's buffer
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        d = dA
        for i in range(len(self.layers) - 1, -1, -1):
            d = self.layers[i].backward(d, need_dA_prev=need_dA_prev or i > 0)
        return dA + d if need_dA_prev else None  # the skip adds dA unchanged

    def astype(self, dtype) -> None:
        for layer in self.layers:
            layer.astype(dtype)

    def __repr__(self) -> str:
        return f"Residual([{', '.join(map(repr, self.layers))}])"


def _width(shape: tuple):
    return shape[0] if len(shape) == 1 else shape
