"""Every parameter of a network at once, without moving it: tables for the compiled kernels, and
the epoch's snapshot and largest change in one call.

A network's parameters stay the users' own arrays (``layer.W`` is the live array that training
updates in place, and ``layer.W = new`` is the array trained from then on). On the lecture's
small networks, though, a NumPy call costs more than the arithmetic it does, and an update,
snapshot or largest change made array by array costs a dozen calls per array. So:

- :class:`Table` lists the memory of every parameter, its gradient and its optimizer state (the
  arrays as they are, read as flat 1-D vectors) for a kernel of
  :mod:`mlplab.accel.numba_kernels` that updates them all in one call. It is rebuilt whenever
  one of those arrays is no longer the same object (:meth:`Table.current`); a parameter whose
  arrays are not contiguous in the same order is left out, for NumPy to update.
- :class:`Snapshots` copies every parameter into one kept flat buffer at the start of an epoch
  and finds the largest change against it at its end, a few NumPy calls in all.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray
CHUNK = 1 << 14  # elements of a parameter per unit of work that a kernel's threads share


def flat(a: Array) -> Array | None:
    """``a`` as a 1-D view of its memory (None when it is not contiguous)."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None


def _same_order(arrays) -> bool:
    """True when every array is contiguous and element i lies at the same place in each."""
    first = arrays[0]
    return all(isinstance(a, np.ndarray) and a.shape == first.shape and a.dtype == first.dtype
               and flat(a) is not None
               and (a.size <= 1 or a.ndim < 2 or a.flags.c_contiguous == first.flags.c_contiguous)
               for a in arrays)


class Table:
    """Addresses of rows of arrays (parameters, gradients, state…), one column per parameter.

    Parameters
    ----------
    rows : list of lists of arrays, all aligned with the first (the parameters)
    chunk : int, elements per unit of work that the kernel's threads share

    Attributes
    ----------
    columns : indices (into the rows) of the parameters in the table
    left_out : indices of those that are not (not contiguous in the same order)
    at : (len(rows), len(columns)) intp array of addresses
    chunks : (n, 3) int64 array of ``(column, start, end)``
    size : total elements of the parameters in the table
    """

    def __init__(self, rows: list[list[Array]], chunk: int = CHUNK):
        self.rows = [list(r) for r in rows]
        self.ids = [list(map(id, r)) for r in self.rows]
        n = len(self.rows[0])
        self.columns = [k for k in range(n) if _same_order([r[k] for r in self.rows])]
        self.left_out = [k for k in range(n) if k not in self.columns]
        self.at = np.array([[r[k].ctypes.data for k in self.columns] for r in self.rows],
                           dtype=np.intp).reshape(len(self.rows), len(self.columns))
        sizes = [self.rows[0][k].size for k in self.columns]
        self.chunks = np.array([(c, lo, min(lo + chunk, size))
                                for c, size in enumerate(sizes) for lo in range(0, size, chunk)],
                               dtype=np.int64).reshape(-1, 3)
        self.offsets = np.cumsum([0] + sizes[:-1]).astype(np.int64)
        self.size = int(sum(sizes))
        self.dtype = self.rows[0][0].dtype if n else np.dtype(np.float64)
        self.like = np.zeros(0, self.dtype)  # tells a kernel the dtype behind the addresses

    def current(self, rows: list[list[Array]]) -> bool:
        """True while ``rows`` are the very arrays this table was built from (compared by
        ``id``: the table holds them, so no other object can take their ids meanwhile)."""
        return [list(map(id, r)) for r in rows] == self.ids


class Snapshots:
    """The weights at the start of an epoch in one kept buffer, and the epoch's largest change:
    one ``np.concatenate`` each, and three NumPy calls for the change (on the lecture's small
    networks a call costs more than its arithmetic; on large ones this is once an epoch)."""

    def __init__(self):
        self.table: Table | None = None
        self.buffer = self.now = self.views = None

    def snapshot(self, params: list[Array]) -> list[Array] | None:
        """Views of the kept buffer shaped as ``params``, holding their values now (None when
        the parameters cannot share one buffer: the caller copies them one by one). The next
        snapshot overwrites them."""
        if self.table is None or not self.table.current([params]):
            self.table = None
            if not params or len({p.dtype for p in params}) > 1:
                return None
            table = Table([params])
            if table.left_out:
                return None
            self.table, self.buffer = table, np.empty(table.size, params[0].dtype)
            self.now, self.views = np.empty_like(self.buffer), []
            for p, o in zip(params, table.offsets):
                piece = self.buffer[o:o + p.size]
                self.views.append(piece.reshape(p.shape) if p.flags.c_contiguous
                                  else piece.reshape(p.shape[::-1]).T)
        np.concatenate([flat(p) for p in params], out=self.buffer)
        return self.views

    def largest_change(self, params: list[Array], start: list[Array]) -> float | None:
        """``max |p − start|`` over every parameter, NaN when any is NaN; None when ``start`` is
        not the last :meth:`snapshot` of these parameters."""
        if self.table is None or start is not self.views or not self.table.current([params]):
            return None
        now = np.concatenate([flat(p) for p in params], out=self.now)
        np.subtract(now, self.buffer, out=now)
        change = float(np.maximum.reduce(np.abs(now, out=now))) if now.size else 0.0
        return math.nan if math.isnan(change) else change
