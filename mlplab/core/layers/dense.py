"""The dense (fully connected) layer: ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``.

Shapes and the backward contract are described in :mod:`mlplab.core.layers.base`. With rows of
samples, the lecture's column vectors become rows, so ``W⁽ˡ⁾a⁽ˡ⁻¹⁾`` is ``A_prev @ W.T`` and
``(W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾`` is ``delta @ W``.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ..activations import Activation, get_activation
from ..initializers import get_initializer
from ..validation import check_positive_int
from ..xp import namespace
from .base import Layer

Array = object


class Dense(Layer):
    """A fully connected layer of neurons: ``a = g(W a_prev + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Inputs to and neurons in this layer. ``n_in=None`` takes the width of the layer below
        when the network is built (``Network.from_layers``).
    activation : str or Activation
        The layer's g.
    init : str or callable
        Initializer name (see :mod:`mlplab.core.initializers`).
    rng : numpy.random.Generator, optional
        Draws the initial W and b (a fresh, unseeded generator by default).
    dtype : float32 or float64

    Attributes
    ----------
    W : (n_out, n_in) array
    b : (n_out,) array
    A_prev, Z, A : the last forward's input a⁽ˡ⁻¹⁾, z⁽ˡ⁾ and a⁽ˡ⁾, (m, ·) arrays
    delta : (m, n_out) array, the per-sample δ⁽ˡ⁾ of the last ``backward``
    dW, db : the gradients ∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾ of the mean cost
    """

    param_names = ("W", "b")

    def __init__(self, n_in: int | None, n_out: int, activation: str | Activation = "sigmoid",
                 init="normal", rng: np.random.Generator | None = None, dtype=np.float64):
        self.g: Activation = get_activation(activation)
        self.n_units = check_positive_int(n_out, "Dense n_out")
        self.out_shape = (self.n_units,)
        self.init, self._init_rng, self.dtype = init, rng, np.dtype(dtype)
        get_initializer(init)  # an unknown name fails here, not at build
        self.W = self.b = self.dW = self.db = None
        self.A_prev = self.Z = self.A = self.delta = None
        if n_in is not None:
            self.build((check_positive_int(n_in, "Dense n_in"),))

    @property
    def n_in(self) -> int | None:
        return None if self.in_shape is None else self.in_shape[0]

    def build(self, in_shape: tuple) -> tuple:
        if len(in_shape) != 1:
            fix = ("put Flatten() before it; after a recurrent layer with return_sequences=True "
                   "use TimeDense(...) for an output at every step, or return_sequences=False "
                   "for one at the end" if len(in_shape) == 2 else "put Flatten() before it")
            raise ConfigError(f"{self!r} takes vectors, but the layer below gives samples of shape "
                              f"{tuple(in_shape)}; {fix}")
        out = super().build(in_shape)
        if self.W is None:  # W and b drawn once, when the input size is known
            self.redraw()
        return out

    def redraw(self) -> None:
        rng = self._init_rng
        n_in = self.in_shape[0] if self.W is None else self.W.shape[1]  # built, or drawn again
        W, b = get_initializer(self.init)(n_in, self.n_units,
                                          rng if rng is not None else np.random.default_rng())
        self._init_rng = None  # not kept: the network's generator goes on elsewhere
        self.W, self.b = np.asarray(W, self.dtype), np.asarray(b, self.dtype)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self._unseeded = self.fingerprint() if rng is None else None

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A_prev = A_prev
        self.Z = A_prev @ self.W.T + self.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        self.A = self.g(self.Z)  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        """``dA = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾`` from the layer above; returns ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` for the one below."""
        self.check_differentiable()
        delta = dA * self.g.g_prime(self.Z)  # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)
        return self.backward_delta(delta, need_dA_prev)

    def backward_delta(self, delta: Array, need_dA_prev: bool = True) -> Array | None:
        """The gradients from this layer's ``δ⁽ˡ⁾`` (the output layer gets it from the loss)."""
        m = delta.shape[0]
        self.delta = delta
        self.dW = delta.T @ self.A_prev / m  # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, mean over the batch
        self.db = namespace(delta).sum(delta, axis=0) / m  # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, mean over the batch
        return delta @ self.W if need_dA_prev else None  # (W⁽ˡ⁾)ᵀδ⁽ˡ⁾, as rows

    def check_differentiable(self) -> None:
        if not self.g.differentiable:
            raise ConfigError(
                f"cannot backpropagate through a {self.g.name!r} activation: its derivative is 0 "
                "everywhere, so gradient descent would learn nothing; use 'sigmoid' (or train a "
                "single layer with mlplab.Perceptron and its learning rule)")

    def __repr__(self) -> str:
        return f"Dense({self.n_in if self.n_in is not None else '?'} → {self.n_units}, {self.g.name})"
