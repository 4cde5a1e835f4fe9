"""Layers: the lecture's ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)`` for a batch.

Shapes (one convention, everywhere in mlplab):

- ``W`` is ``(n_out, n_in)`` exactly as in the lecture (``w_ij``: from input j to neuron i);
  ``b`` is ``(n_out,)``.
- A batch holds samples as rows: ``A_prev`` is ``(m, n_in)``, so the batched forward is
  ``Z = A_prev @ W.T + b`` and the gradients are ``dW = Δᵀ @ A_prev / m``, ``db = Δ.sum(0) / m``
  (the division by ``m`` because the cost is the mean over the batch).
- Layers that see more than a vector per sample keep the sample first: images are
  ``(m, channels, height, width)`` (PyTorch's layout, NCHW), sequences ``(m, time, features)``.
  A convolution's ``W`` is ``(out_channels, in_channels, kh, kw)``, as in PyTorch and ONNX.
  A layer's ``in_shape`` and ``out_shape`` are the shapes of one sample.

The contract every layer keeps:

- ``forward(A_prev, training)`` returns ``A`` and caches what ``backward`` needs;
- ``backward(dA, need_dA_prev)`` receives ``dA = ∂C/∂a`` for its output (for a dense layer above
  it that is ``(W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾``), stores the gradient of each trainable array under its name
  with a ``d`` in front (``dW``, ``db``), and returns ``∂C/∂a_prev`` (None when not needed);
- ``param_names`` names the trainable arrays; ``params`` and ``grads`` list them in that order;
- ``build(in_shape)`` checks (or, for a layer made without its input size, infers) the input
  shape and returns ``out_shape``: a network calls it on every layer when it is built;
- ``to(place)`` and ``astype(dtype)`` move and cast the arrays (``mlplab.core.xp``).

Layers compute with the array library of their inputs, plainly: one operation, one new array.
"""

from __future__ import annotations

import zlib

import numpy as np

from ...errors import ConfigError
from ..xp import namespace, place

Array = object


class Layer:
    """Base class: a stage of the network with a forward and a backward pass."""

    param_names: tuple[str, ...] = ()
    trainable = True
    in_shape: tuple | None = None
    out_shape: tuple | None = None

    @property
    def n_out(self) -> int:
        """Width of one sample's output (the product of ``out_shape``)."""
        size = 1
        for n in self.out_shape:
            size *= n
        return size

    @property
    def params(self) -> list[Array]:
        return [getattr(self, name) for name in self.param_names]

    @property
    def grads(self) -> list[Array]:
        return [getattr(self, "d" + name) for name in self.param_names]

    def build(self, in_shape: tuple) -> tuple:
        """Check that this layer takes samples of shape ``in_shape``; return ``out_shape``."""
        if self.in_shape is not None and tuple(in_shape) != tuple(self.in_shape):
            raise ConfigError(f"{self!r} takes samples of shape {tuple(self.in_shape)} but "
                              f"receives {tuple(in_shape)} from the layer below; change one of "
                              "the two")
        self.in_shape = tuple(in_shape)
        if self.out_shape is None:
            self.out_shape = self.in_shape
        return self.out_shape

    def seed_from(self, rng, redraw: bool = True) -> None:
        """Draw the weights that ``build`` will draw from ``rng``, unless this layer was given
        a generator of its own (``Network.from_layers`` passes the network's this way). A layer
        given its input width drew its weights when made; drawn without a generator and not
        changed since, they are drawn again from ``rng`` where ``redraw`` (the network was
        given a seed): the network's seed decides them."""
        mine = vars(self)
        if mine.get("_init_rng", False) is not None or not self.param_names:
            return
        if getattr(self, self.param_names[0], None) is None:
            self._init_rng = rng
        elif redraw and mine.get("_unseeded") is not None \
                and mine["_unseeded"] == self.fingerprint():
            self._init_rng = rng
            self.redraw()

    def redraw(self) -> None:
        """Draw the weights again, from ``_init_rng`` (layers that draw at construction)."""

    def fingerprint(self) -> tuple | None:
        """The parameters' shapes, types and checksums: whether anyone changed them since (a
        copy of an untouched layer is untouched too)."""
        try:
            return tuple((p.shape, p.dtype.str, zlib.crc32(np.ascontiguousarray(p)))
                         for p in self.params)
        except (AttributeError, TypeError, ValueError, BufferError):  # not NumPy's: kept
            return None

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        raise NotImplementedError

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        raise NotImplementedError

    def to(self, where) -> None:
        """Move every array this layer keeps to ``where`` (a :class:`~mlplab.core.xp.Place`)."""
        for name in self._arrays():
            setattr(self, name, where.asarray(getattr(self, name)))
        self.clear()

    def astype(self, dtype) -> None:
        """Cast every array this layer keeps to ``dtype`` (float32 or float64)."""
        for name in self._arrays():
            a = getattr(self, name)
            setattr(self, name, namespace(a).astype(a, place(a).dtype(dtype)))
        self.clear()

    def _arrays(self) -> list[str]:
        """Names of the arrays to move or cast: parameters, their gradients, and ``state``."""
        names = [*self.param_names, *("d" + n for n in self.param_names),
                 *getattr(self, "state_names", ())]
        return [n for n in names if getattr(self, n, None) is not None]

    def clear(self) -> None:
        """Forget what the last forward and backward cached (before saving or pickling)."""
        for name in ("A_prev", "Z", "A", "delta"):
            if hasattr(self, name):
                setattr(self, name, None)


class Input(Layer):
    """Layer 0: the input ``a⁽⁰⁾ = x`` (the lecture numbers it layer 1; we start at 0 so that
    ``W⁽ˡ⁾`` maps ``a⁽ˡ⁻¹⁾`` to ``a⁽ˡ⁾`` with l = 1 … L and ``net.layers[l].W`` is ``W⁽ˡ⁾``).

    ``Input(n)`` for vectors of n features; ``Input((channels, height, width))`` for images,
    ``Input((time, features))`` for sequences.
    """

    trainable = False

    def __init__(self, shape):
        from ..validation import check_positive_int

        shape = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
        if not shape:
            raise ConfigError("Input needs the shape of one sample, e.g. Input(2) or "
                              "Input((1, 8, 8))")
        self.in_shape = self.out_shape = tuple(check_positive_int(n, "Input size") for n in shape)
        self.A = None

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A = A_prev
        return A_prev

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        return dA

    def __repr__(self) -> str:
        shape = self.out_shape[0] if len(self.out_shape) == 1 else self.out_shape
        return f"Input({shape})"
