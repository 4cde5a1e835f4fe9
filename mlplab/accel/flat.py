"""One buffer for all of a dense network's parameters, and one for its gradients.

A network of dense layers holds ``W⁽¹⁾, b⁽¹⁾, …, W⁽ᴸ⁾, b⁽ᴸ⁾`` and their gradients as *views*
into two flat arrays, laid out layer by layer (each piece starting a multiple of 16 elements
into the buffer; the few elements between pieces stay 0). Every layer keeps its own ``W`` (Fortran order, see
:mod:`mlplab.layers.dense`), ``b``, ``dW``, ``db``; nothing reads differently. What changes is
that an elementwise update rule (gradient descent, momentum, Adam) can run once over the whole
buffer instead of once per array: on the lecture's small networks each NumPy call costs a
microsecond or more whatever its size, and an Adam step on 6 arrays is ~80 calls. The results
are bit for bit those of the per-array updates (the same operations on the same numbers).

:class:`FlatParameters` is built by :class:`~mlplab.network.Network` when it is made, cast
or unpickled, and is used only while every layer still holds the views it made
(:meth:`FlatParameters.valid`): a ``W`` assigned by hand, or any layer other than Dense, and
training takes the per-array path as before.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray
ALIGN = 16  # pieces start a multiple of 16 elements apart (64 bytes in float32)


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class FlatParameters:
    """The views of a dense stack's ``W, b, dW, db`` into the flat arrays ``p`` and ``g``."""

    def __init__(self, dense: list) -> None:
        dtype = dense[0].W.dtype
        sizes = [n for layer in dense for n in (layer.W.size, layer.b.size)]
        starts = np.cumsum([0] + [_aligned(n) for n in sizes])
        self.p, self.g = np.zeros(int(starts[-1]), dtype), np.zeros(int(starts[-1]), dtype)
        self.layers, self.views = dense, []
        for i, layer in enumerate(dense):
            (n_out, n_in), (w, b) = layer.W.shape, starts[2 * i:2 * i + 2]
            W, dW = (a[w:w + n_out * n_in].reshape(n_in, n_out).T for a in (self.p, self.g))
            bias, db = (a[b:b + n_out] for a in (self.p, self.g))
            W[...], bias[...], dW[...], db[...] = layer.W, layer.b, layer.dW, layer.db
            layer.W, layer.b, layer.dW, layer.db = W, bias, dW, db
            self.views.append((W, bias, dW, db))

    @classmethod
    def of(cls, layers: list) -> "FlatParameters | None":
        """Flat storage for ``layers`` (after the Input) when all are exactly Dense (a subclass
        may hold arrays of its own) of one dtype."""
        from ..core.layers import Dense

        if not layers or not all(type(layer) is Dense for layer in layers):
            return None
        dtypes = {a.dtype for layer in layers for a in (layer.W, layer.b, layer.dW, layer.db)}
        return cls(layers) if len(dtypes) == 1 else None

    def valid(self, layers: list) -> bool:
        """True while ``layers`` are this storage's layers, each holding its views."""
        return (len(layers) == len(self.layers)
                and all(layer is mine and layer.W is v[0] and layer.b is v[1]
                        and layer.dW is v[2] and layer.db is v[3]
                        for layer, mine, v in zip(layers, self.layers, self.views)))

    def like(self, buffer: Array, params: list[Array]) -> list[Array]:
        """Views of ``buffer`` (shaped like ``p``) laid out as ``params`` lie in ``p``: the
        per-array state of an optimizer, or an epoch's saved start."""
        base = self.p.ctypes.data
        return [np.ndarray(q.shape, buffer.dtype, buffer=buffer, strides=q.strides,
                           offset=q.ctypes.data - base) for q in params]
