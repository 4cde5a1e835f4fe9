"""The dense (fully connected) layer: ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``.

Shapes and the backward contract are described in :mod:`mlplab.layers.base`.
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation, get_activation
from ..errors import ConfigError
from ..initializers import get_initializer
from .base import Layer

Array = np.ndarray


class Dense(Layer):
    """A fully connected layer of neurons: ``a = g(W a_prev + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Inputs to and neurons in this layer.
    activation : str or Activation
        The layer's g.
    init : str or callable
        Initializer name (see :mod:`mlplab.initializers`).
    rng : numpy.random.Generator
    dtype : numpy dtype of W and b.

    Attributes
    ----------
    W : (n_out, n_in) array
    b : (n_out,) array
    Z, A : (m, n_out) arrays cached by the last ``forward``
    delta : (m, n_out) array, the per-sample δ⁽ˡ⁾ of the last ``backward``
    dW, db : gradients of the mean cost, shapes of W and b
    """

    def __init__(self, n_in: int, n_out: int, activation: str | Activation = "sigmoid",
                 init="normal", rng: np.random.Generator | None = None,
                 dtype=np.float64):
        rng = rng if rng is not None else np.random.default_rng()
        W, b = get_initializer(init)(n_in, n_out, rng)
        self.W: Array = np.ascontiguousarray(W, dtype=dtype)
        self.b: Array = np.ascontiguousarray(b, dtype=dtype)
        self.g: Activation = get_activation(activation)
        self.n_in, self.n_out = n_in, n_out
        self.dW: Array = np.zeros_like(self.W)
        self.db: Array = np.zeros_like(self.b)
        self.A_prev = self.Z = self.A = self.delta = None

    @property
    def params(self) -> list[Array]:
        return [self.W, self.b]

    @property
    def grads(self) -> list[Array]:
        return [self.dW, self.db]

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A_prev = A_prev
        self.Z = A_prev @ self.W.T + self.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        self.A = self.g(self.Z)  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        return self.A

    def backward(self, dA: Array | None = None, need_dA_prev: bool = True,
                 delta: Array | None = None) -> Array | None:
        """Backpropagate through this layer.

        Either ``dA = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾`` from the layer above, or (output layer) the loss's
        ``delta = δ⁽ᴸ⁾`` directly. Returns ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` as rows, or None.
        """
        if delta is None:
            if not self.g.differentiable:
                raise ConfigError(
                    f"cannot backpropagate through a {self.g.name!r} activation: its derivative "
                    "is 0 everywhere, so gradient descent would learn nothing; use 'sigmoid' "
                    "(or train a single layer with mlplab.Perceptron and its learning rule)"
                )
            delta = dA * self.g.derivative(self.Z, self.A)  # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)
        m = delta.shape[0]
        self.delta = delta
        np.matmul(delta.T, self.A_prev, out=self.dW)  # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, summed over rows
        self.dW /= m
        np.sum(delta, axis=0, out=self.db)  # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, summed over rows
        self.db /= m
        return delta @ self.W if need_dA_prev else None

    def astype(self, dtype: np.dtype) -> None:
        self.W = self.W.astype(dtype)
        self.b = self.b.astype(dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    def __repr__(self) -> str:
        return f"Dense({self.n_in} → {self.n_out}, {self.g.name})"
