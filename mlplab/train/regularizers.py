"""Weight penalties as callbacks that add their gradient after backpropagation.

The regularized cost is ``C + λ·Ω(W)``; only the weights ``W⁽ˡ⁾`` of every layer that has
them (dense and convolutional) are penalized, not the biases, unless ``include_bias=True``.
The loss recorded in the History stays the data cost ``C``; :meth:`penalty` gives ``λ·Ω`` for
reports.

- ``L2(λ)``: ``Ω = ½ Σ‖W⁽ˡ⁾‖²``, gradient ``λ W`` (weight decay);
- ``L1(λ)``: ``Ω = Σ|W⁽ˡ⁾|``, gradient ``λ sign(W)``.

Two more regularizers live here because they too act through the callback hooks:

- ``InputNoise(σ)``: data augmentation, ``x̃ = x + ε``, ``ε ~ N(0, σ²)`` per batch
  (``on_batch_begin`` hands the loop a noisy copy; the stored data never changes);
- ``MaxNorm(c)``: after every update, each neuron's incoming weight vector (a row
  ``W⁽ˡ⁾[i, :]``; a convolution's filter ``W⁽ˡ⁾[i]``) is rescaled onto the ball ``‖w_i‖ ≤ c``
  (``on_batch_end``).

Dropout is a layer (:mod:`mlplab.layers.dropout`); early stopping a callback
(:class:`mlplab.callbacks.EarlyStopping`) with a validation split
(:func:`mlplab.datasets.validation_split`).
"""

from __future__ import annotations

import numbers

import numpy as np

from .callbacks import Callback
from ..errors import ConfigError
from ..core.validation import as_float_dtype
from ..core.xp import namespace


def weighted_layers(net) -> list:
    """The layers with a weight array ``W`` (dense and convolutional), input first."""
    return [layer for layer in net.layers if "W" in layer.param_names]


class _Penalty(Callback):
    def __init__(self, lam: float, include_bias: bool = False):
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
            raise ConfigError(f"{type(self).__name__} strength λ must be ≥ 0, got {lam!r}")
        self.lam, self.include_bias = float(lam), bool(include_bias)

    def _pairs(self, net):
        for layer in weighted_layers(net):
            yield layer.W, layer.dW
            if self.include_bias:
                yield layer.b, layer.db

    def on_gradients(self, trainer) -> None:
        if self.lam:
            for p, g in self._pairs(trainer.net):
                self.add_gradient(p, g)

    def gradient_term(self) -> tuple[str, float, bool] | None:
        """What :meth:`on_gradients` adds, for an accelerator that adds it inside its update
        rule instead: ``(rule, λ, include_bias)`` with rule "l2" or "l1"; None when a subclass
        changed what is added or to which arrays (the accelerator then calls the callback)."""
        cls = type(self)
        for base in (L2, L1):
            if isinstance(self, base):
                same = (cls.add_gradient is base.add_gradient
                        and cls.on_gradients is _Penalty.on_gradients
                        and cls._pairs is _Penalty._pairs)
                return (base.rule, self.lam, self.include_bias) if same else None
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.lam:g})"


class L2(_Penalty):
    """Weight decay: adds ``λ W`` to ``∂C/∂W`` (cost term ``½ λ ‖W‖²``)."""

    rule = "l2"

    def add_gradient(self, p, g) -> None:
        g += self.lam * p

    def penalty(self, net) -> float:
        return 0.5 * self.lam * sum(float(np.sum(p * p)) for p, _ in self._pairs(net))


class L1(_Penalty):
    """Sparsity: adds ``λ sign(W)`` to ``∂C/∂W`` (cost term ``λ Σ|W|``)."""

    rule = "l1"

    def add_gradient(self, p, g) -> None:
        g += self.lam * namespace(p).sign(p)  # p's own library: NumPy, PyTorch on a GPU, ...

    def penalty(self, net) -> float:
        return self.lam * sum(float(np.sum(np.abs(p))) for p, _ in self._pairs(net))


def _check_positive(value, what: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{what} must be a number > 0, got {value!r} ({example})")
    return float(value)


class InputNoise(Callback):
    """Data augmentation: every training batch gets fresh Gaussian noise, ``x̃ = x + ε``.

    Why it regularizes: the network sees a cloud around each training point instead of the
    point itself, so it cannot carve a boundary that passes right next to one sample; for
    small σ this is equivalent to a penalty on the slope ``‖∂a/∂x‖²`` (Bishop, 1995).

    Parameters
    ----------
    std : float > 0
        σ, in the units of the inputs (standardize the inputs first when they differ).
    seed : int or numpy.random.Generator, optional
        The same seed gives the same noise, batch by batch.
    """

    def __init__(self, std: float, seed: int | np.random.Generator | None = None):
        self.std = _check_positive(std, "InputNoise std σ", "e.g. 0.1 for inputs of unit scale")
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def on_batch_begin(self, trainer, Xb, Yb):
        dtype = as_float_dtype(Xb.dtype)
        noise = self.rng.standard_normal(Xb.shape).astype(dtype, copy=False)
        return Xb + dtype.type(self.std) * noise, Yb  # a new array: X itself is never touched

    def __repr__(self) -> str:
        return f"InputNoise({self.std:g})"


class MaxNorm(Callback):
    """Max-norm constraint: after each update, ``w_i ← w_i · min(1, c / ‖w_i‖)``.

    ``w_i = W⁽ˡ⁾[i, :]`` are the weights into neuron i. A projection, not a penalty: the
    gradient is untouched, the weights are just never allowed outside the ball, which bounds
    how steep any neuron's response can get (used with dropout by Srivastava et al., 2014).

    Parameters
    ----------
    c : float > 0
        The largest allowed norm of a neuron's incoming weights.
    include_output : bool
        Also constrain the output layer (default: hidden layers only).
    """

    def __init__(self, c: float = 3.0, include_output: bool = False):
        self.c = _check_positive(c, "MaxNorm c", "typical values are 2 to 4")
        self.include_output = bool(include_output)

    def apply(self, net) -> None:
        """Project every constrained ``W⁽ˡ⁾`` onto the max-norm ball, in place."""
        weighted = weighted_layers(net)
        for layer in weighted if self.include_output else weighted[:-1]:
            W = layer.W
            # ‖w_i‖ per neuron i (a filter's every weight, for a convolution)
            norms = np.linalg.norm(W.reshape(len(W), -1), axis=1).reshape(-1, *[1] * (W.ndim - 1))
            W *= np.minimum(1.0, self.c / np.maximum(norms, 1e-12)).astype(W.dtype)

    def on_train_begin(self, trainer) -> None:
        self.apply(trainer.net)

    def on_batch_end(self, trainer, logs) -> None:
        self.apply(trainer.net)

    def __repr__(self) -> str:
        return f"MaxNorm({self.c:g})"
