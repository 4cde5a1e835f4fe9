"""Flatten: feature maps ``(m, C, H, W)`` to rows ``(m, C·H·W)`` for the dense layers above.

The order is row-major (channel, then row, then column), as ``torch.nn.Flatten`` and ONNX's
``Flatten`` take it, so exported weights line up. Backward reshapes ``∂C/∂a`` back to maps.
"""

from __future__ import annotations

from ..xp import namespace
from .base import Layer

Array = object


class Flatten(Layer):
    """``a = a_prev.reshape(m, -1)``: a sample of any shape becomes one vector."""

    trainable = False

    def __init__(self):
        self.A = None

    def build(self, in_shape: tuple) -> tuple:
        self.in_shape = tuple(in_shape)
        size = 1
        for n in self.in_shape:
            size *= n
        self.out_shape = (size,)
        return self.out_shape

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A = namespace(A_prev).reshape(A_prev, (A_prev.shape[0], self.out_shape[0]))
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        if not need_dA_prev:
            return None
        return namespace(dA).reshape(dA, (dA.shape[0], *self.in_shape))

    def __repr__(self) -> str:
        return "Flatten()" if self.in_shape is None else f"Flatten({self.in_shape} → {self.n_out})"
