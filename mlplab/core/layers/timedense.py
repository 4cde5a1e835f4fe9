"""A dense layer applied at every time step: the head of a many-to-many recurrent network.

For a sequence of states ``hₜ`` (``(m, T, n_in)``, a recurrent layer with
``return_sequences=True``), the same ``W`` and ``b`` at every step::

    zₜ = W hₜ + b,   aₜ = g(zₜ)                  (Keras: TimeDistributed(Dense(...)))
    ∂C/∂W = Σₜ δₜ hₜᵀ,   ∂C/∂b = Σₜ δₜ           (summed over steps, mean over samples)

The output is ``(m, T, n_out)`` and the loss sums the per-sample cost over every step and unit
(a sample is a whole sequence: ``C = ½ Σₜ ‖aₜ − yₜ‖²`` for MSE), then takes the mean over the
batch, as for every other layer. Softmax acts along the last axis, so a character-level
language model is ``TimeDense(n_hidden, vocabulary, "softmax")`` with cross-entropy.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_positive_int
from ..xp import namespace
from .dense import Dense
from .recurrent import check_sequence_input

Array = object


class TimeDense(Dense):
    """``aₜ = g(W hₜ + b)`` at every time step t, with one shared ``W`` and ``b``.

    Parameters are those of :class:`~mlplab.core.layers.Dense`; it takes ``(T, n_in)``
    samples and gives ``(T, n_out)``. Being a Dense layer, it can be a network's output layer.
    """

    def __init__(self, n_in: int | None, n_out: int, activation="sigmoid", init="normal",
                 rng=None, dtype=np.float64):
        super().__init__(None, n_out, activation, init, rng, dtype)
        if n_in is not None:  # W and b drawn now; the length T is known at the network's build
            Dense.build(self, (check_positive_int(n_in, "TimeDense n_in"),))
            self.in_shape, self.out_shape = None, (self.n_units,)

    def build(self, in_shape: tuple) -> tuple:
        check_sequence_input(self, in_shape, "put it after a recurrent layer with "
                                             "return_sequences=True")
        if self.W is None:
            Dense.build(self, (in_shape[1],))  # draws W and b as a Dense layer of n_in inputs
        self.in_shape, self.out_shape = tuple(in_shape), (in_shape[0], self.n_units)
        return self.out_shape

    @property
    def n_in(self) -> int | None:
        return None if self.W is None else self.W.shape[1]

    def backward_delta(self, delta: Array, need_dA_prev: bool = True) -> Array | None:
        """The gradients from ``δₜ`` at every step (``(m, T, n_out)``)."""
        xp = namespace(delta)
        m, k = delta.shape[0], delta.shape[-1]
        self.delta = delta
        D = xp.reshape(delta, (-1, k))  # every (sample, step) a row
        H = xp.reshape(self.A_prev, (-1, self.A_prev.shape[-1]))
        self.dW = D.T @ H / m  # Σₜ δₜ hₜᵀ, mean over the samples
        self.db = xp.sum(D, axis=0) / m  # Σₜ δₜ, mean over the samples
        return delta @ self.W if need_dA_prev else None

    def __repr__(self) -> str:
        return "Time" + super().__repr__()
