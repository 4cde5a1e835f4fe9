"""Dense networks on NumPy: inference without temporaries.

:func:`predict` runs inference in blocks of 1,024 rows that stay in cache, into one array per
layer reused by every block, and finds NaN/inf in the input from each block's first products
instead of reading the input twice (the training step: :mod:`mlplab.accel.dense`).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import check_finite
from .dense import dense_stack
from .kernels import G_INTO

Array = np.ndarray
BLOCK_ROWS = 1024  # inference runs in blocks of rows whose layer outputs stay in cache


def _g_into(layer, Z: Array, out: Array) -> Array:
    g_into = G_INTO.get(layer.g.name)
    if g_into is not None:
        return g_into(Z, out)
    np.copyto(out, layer.g(Z))
    return out


def predict(net, X: Array) -> Array | None:
    """``a⁽ᴸ⁾`` for the rows of ``X`` (checked, on NumPy, not yet for NaN/inf), or None when
    ``net`` is not a dense stack on NumPy."""
    dense = dense_stack(net, inference=True)
    if dense is None:
        return None
    m = len(X)
    # NaN/inf in X: each block's z⁽¹⁾ shows them (a NaN or ±inf times any weight is NaN or ±inf,
    # and stays so in a sum), where every input feeds some neuron (no all-zero column of W⁽¹⁾)
    screen = m > BLOCK_ROWS and bool(np.any(dense[0].W != 0, axis=0).all())
    if not screen:
        check_finite(X)
    A = np.empty((m, net.n_outputs), net.dtype)
    hidden = [np.empty((min(m, BLOCK_ROWS), layer.n_out), net.dtype) for layer in dense[:-1]]

    def check_z(z: Array) -> None:
        nonlocal screen
        if not np.isfinite(z.sum()):
            check_finite(X)  # raises for NaN/inf in X; else large values overflowed z
            screen = False

    for i in range(0, m, BLOCK_ROWS):  # each block's a⁽ˡ⁾ into one array per layer, reused
        a = X[i:i + BLOCK_ROWS]
        for l, layer in enumerate(dense):
            out = A[i:i + len(a)] if l == len(dense) - 1 else hidden[l][:len(a)]
            np.matmul(a, layer.W.T, out=out)
            out += layer.b  # z⁽ˡ⁾, then a⁽ˡ⁾ = g(z⁽ˡ⁾) in place
            if l == 0 and screen:
                check_z(out)
            a = _g_into(layer, out, out)
    return A
