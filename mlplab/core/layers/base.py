"""Layers: the lecture's ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)`` for a batch.

Shapes (one convention, everywhere in mlplab):

- ``W`` is ``(n_out, n_in)`` exactly as in the lecture (``w_ij``: from input j to neuron i);
  ``b`` is ``(n_out,)``.
- A batch holds samples as rows: ``A_prev`` is ``(m, n_in)``, so the batched forward is
  ``Z = A_prev @ W.T + b`` and the gradients are ``dW = Δᵀ @ A_prev / m``, ``db = Δ.sum(0) / m``
  (the division by ``m`` because the cost is the mean over the batch).

A layer has ``forward(A_prev, training)`` (caches what ``backward`` needs) and
``backward(dA)``, which receives ``dA = ∂C/∂a⁽ˡ⁾`` (for a dense layer above it, that is
``(W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾``), stores the parameter gradients and returns ``∂C/∂a⁽ˡ⁻¹⁾``. ``params``
and ``grads`` list the trainable arrays and their gradients in the same order.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class Layer:
    """Base class: a stage of the network with a forward and a backward pass."""

    n_out: int
    trainable = True

    @property
    def params(self) -> list[Array]:
        return []

    @property
    def grads(self) -> list[Array]:
        return []

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        raise NotImplementedError

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        raise NotImplementedError

    def astype(self, dtype: np.dtype) -> None:
        """Cast parameters (and any state) to ``dtype`` in place."""


class Input(Layer):
    """Layer 0: the input ``a⁽⁰⁾ = x`` (the lecture numbers it layer 1; we start at 0 so that
    ``W⁽ˡ⁾`` maps ``a⁽ˡ⁻¹⁾`` to ``a⁽ˡ⁾`` with l = 1 … L and ``net.layers[l].W`` is ``W⁽ˡ⁾``)."""

    trainable = False

    def __init__(self, n: int):
        self.n_out = n
        self.A: Array | None = None

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A = A_prev
        return A_prev

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        return dA

    def __repr__(self) -> str:
        return f"Input({self.n_out})"
