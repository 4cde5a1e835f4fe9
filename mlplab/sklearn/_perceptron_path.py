"""The perceptron's update-by-update record: which visits moved a line, and the lines' path.

Every visit that moved a line (a mistake) is one entry. Units trained together share their
visits; units trained apart (scikit-learn's one-vs-rest with its own order per unit) merge
where they visit the same sample at the same place in the same epoch. Without a penalty the
weights change only at these entries, so ``W`` after entry j is
``W₀ + Σ_{i≤j} (η·c·t)_i·x_i``: the training's own additions, in its order, bit for bit.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

Array = np.ndarray


def updates(groups, k: int) -> tuple[Array, Array, Array]:
    """``(epochs, rows, S)`` of every entry in training order; ``S[j, i]`` is unit i's step
    ``η·c·t`` at entry j (0 for the units it did not move)."""
    dtype = groups[0].W.dtype
    keys, steps = [np.zeros((0, 3), np.int64)], [np.zeros((0, k), dtype)]
    for g in groups:
        if g.events:
            epoch, pos, row, moved, step = zip(*g.events)
            local = np.zeros((len(epoch), len(g.units)), dtype)
            local[np.array(moved)] = np.concatenate(step)
            S = np.zeros((len(epoch), k), dtype)
            S[:, g.units] = local
            keys.append(np.column_stack([epoch, pos, row]))
            steps.append(S)
    keys, S = np.concatenate(keys), np.concatenate(steps)
    order = np.lexsort(keys.T[::-1])
    keys, S = keys[order], S[order]
    new = np.ones(len(keys), bool)
    new[1:] = (keys[1:] != keys[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    S = np.add.reduceat(S, starts, axis=0) if len(starts) else S
    return keys[starts, 0], keys[starts, 2], S


def lines_path(X, rows: Array, S: Array, W0: Array, b0: Array, bias_step: float):
    """``(coef_path, intercept_path)``: W and b before the first entry and after each one
    (``bias_step``: the factor of the bias's step, 0 without an intercept)."""
    Xr = X[rows].toarray() if sp.issparse(X) else X[rows]
    dW = np.concatenate([W0[None], S[:, :, None] * Xr[:, None, :]])
    db = np.concatenate([b0[None], S * bias_step])
    return np.cumsum(dW, axis=0), np.cumsum(db, axis=0)
