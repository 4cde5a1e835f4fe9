"""Inverted dropout: while training, each unit's activation is zeroed with probability ``p``.

Forward, for a batch ``A`` of shape ``(m, n)`` (or feature maps ``(m, C, H, W)``: every number
of every map is a unit, dropped on its own)::

    mask = (u ≥ p) / (1 − p),   u ~ U[0, 1) per entry       (training)
    a_out = a ⊙ mask
    a_out = a                                               (eval / predict)

The division by ``1 − p`` ("inverted" dropout) keeps the expected activation unchanged, so
prediction needs no rescaling: dropout is simply off. Backward: ``∂C/∂a = ∂C/∂a_out ⊙ mask``.

Why it regularizes: no unit can rely on one particular other unit being present, so the
network cannot build the fragile co-adapted features that memorize noise; training is like
averaging an ensemble of 2ⁿ thinned networks (Srivastava et al., 2014).

For a gradient check the mask must stay fixed while the parameters are perturbed:
:meth:`Dropout.freeze` keeps the current mask (:func:`frozen_masks` does it for a network).
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from ...errors import ConfigError
from ..validation import check_positive_int, check_X
from ..xp import place
from .base import Layer

Array = np.ndarray


class Dropout(Layer):
    """Inverted dropout over ``n`` units.

    Parameters
    ----------
    n : int, tuple or None
        Width of the activation it passes through (the layer below's ``n_out``), or the shape of
        one sample (``(C, H, W)`` for feature maps); ``None`` takes it from the layer below when
        the network is built.
    p : float in [0, 1)
        Probability of dropping a unit while training.
    seed : int or numpy.random.Generator, optional
        Seeds the masks: the same seed gives the same masks, batch by batch.

    Attributes
    ----------
    mask : array shaped like the batch, or None
        The last training mask, already scaled by ``1 / (1 − p)``.
    frozen : bool
        When True, training forwards reuse ``mask`` instead of drawing a new one.
    """

    trainable = False

    def __init__(self, n: int | tuple | None, p: float = 0.5,
                 seed: int | np.random.Generator | None = None):
        if n is not None:
            shape = tuple(n) if isinstance(n, (tuple, list)) else (n,)
            self.in_shape = self.out_shape = tuple(check_positive_int(k, "Dropout width n")
                                                   for k in shape)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ConfigError(f"dropout probability p must be in [0, 1), got {p!r} "
                              "(p = 0.5 drops half of the units while training)")
        self.p = float(p)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.mask: Array | None = None
        self.frozen = False

    def build(self, in_shape: tuple) -> tuple:
        if self.in_shape is None:
            self.out_shape = None  # inferred: the shape it receives
        return super().build(in_shape)

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        if not training or self.p == 0.0:
            if not self.frozen:
                self.mask = None  # so that a backward after it is the identity too
            return A_prev  # eval / predict: dropout is off (inverted dropout needs no rescale)
        if not (self.frozen and self.mask is not None and self.mask.shape == A_prev.shape):
            # drawn by NumPy's seeded generator on every library: the same seed, the same masks
            keep = self.rng.random(tuple(A_prev.shape)) >= self.p
            dtype = np.dtype(_dtype_name(A_prev))
            self.mask = place(A_prev).asarray(keep.astype(dtype) / dtype.type(1 - self.p))
        return A_prev * self.mask  # a ⊙ mask

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        if self.mask is None:  # the forward pass was in eval mode: identity
            return dA
        return dA * self.mask  # ∂C/∂a = ∂C/∂a_out ⊙ mask

    def freeze(self) -> None:
        """Keep the current mask for every training forward (for gradient checks)."""
        self.frozen = True

    def unfreeze(self) -> None:
        self.frozen = False

    state_names = ("mask",)

    def __repr__(self) -> str:
        shape = "?" if self.out_shape is None else (
            self.out_shape[0] if len(self.out_shape) == 1 else self.out_shape)
        return f"Dropout({shape}, p={self.p:g})"


@contextlib.contextmanager
def frozen_masks(net, X: Array | None = None):
    """Freeze every :class:`Dropout` mask of ``net`` inside the ``with`` block.

    With ``X`` given, one training forward on it first draws the masks to keep, so that
    ``mlplab.gradcheck(net, X, Y)`` inside the block sees one fixed, differentiable network.
    """
    layers = dropout_layers(net.layers)
    if X is not None:
        for layer in layers:
            layer.mask = None
        net.forward(check_X(X, net.input_shape, dtype=net.dtype), training=True)
    for layer in layers:
        layer.freeze()
    try:
        yield net
    finally:
        for layer in layers:
            layer.unfreeze()


def dropout_layers(layers) -> list[Dropout]:
    """The Dropout layers among ``layers``, those inside residual blocks included."""
    found = []
    for layer in layers:
        if isinstance(layer, Dropout):
            found.append(layer)
        elif isinstance(getattr(layer, "layers", None), list):  # a block: Residual
            found += dropout_layers(layer.layers)
    return found


def with_dropout(net, p: float = 0.5, seed: int | np.random.Generator | None = None,
                 input_p: float = 0.0):
    """A network with a :class:`Dropout` layer after every hidden layer of ``net``.

    The dense layers are shared with ``net`` (not copied): train the returned network.
    Note that the dropout layers shift the layer indices (``net.layers[l]`` is no longer
    ``W⁽ˡ⁾``); the dense layers keep their order.

    Parameters
    ----------
    net : Network
        Built as usual, e.g. ``Network([2, 64, 64, 1], activation="relu", loss="cross_entropy")``.
    p : float in [0, 1)
        Drop probability of the hidden units.
    seed : int or Generator, optional
        Seeds the masks (one generator shared by the dropout layers).
    input_p : float in [0, 1)
        Drop probability of the inputs (0: no input dropout).

    Examples
    --------
    >>> from mlplab import Network
    >>> net = with_dropout(Network([2, 8, 1], activation="relu", loss="cross_entropy"), p=0.3)
    >>> net.layers
    [Input(2), Dense(2 → 8, relu), Dropout(8, p=0.3), Dense(8 → 1, sigmoid)]
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    dense = [layer for layer in net.layers[1:] if not isinstance(layer, Dropout)]
    layers = [net.layers[0]]
    if input_p:
        layers.append(Dropout(net.n_inputs, input_p, rng))
    for layer in dense[:-1]:
        layers += [layer, Dropout(layer.n_out, p, rng)]
    layers.append(dense[-1])
    return type(net).from_layers(layers, loss=net.loss.name, seed=net.rng)


def _dtype_name(a) -> str:
    return "float32" if "float32" in str(a.dtype) else "float64"
