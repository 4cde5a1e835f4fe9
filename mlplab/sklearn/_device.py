"""The estimators on another device: ``device="torch"`` (PyTorch on the CPU), ``"cuda"``,
``"cuda:N"`` (PyTorch on a GPU); see :mod:`mlplab.core.xp` for the names.

The network's parameters live on the device and every batch is computed there, with the
array library of the data; scikit-learn's random draws (initial weights, early-stopping split,
each epoch's order) stay NumPy's on the host, so the same ``random_state`` gives the numbers of
``device="cpu"`` to the last bits of float64 rounding. What moves, and when:

- the network and what training keeps (the optimizer's state, the best validation weights):
  to the device at the start of every ``fit``/``partial_fit`` (a no-op when already there);
- the training data: once per fit; each epoch's order of the rows: once an epoch; each batch
  is gathered on the device from it;
- back to the host: each batch's cost (the divergence guard of the core's training step
  tests it for NaN/inf), the epoch's loss, penalty and largest change and, for
  ``early_stopping``, the validation predictions (once an epoch), ``predict``'s output,
  copies for ``coefs_`` and ``intercepts_``;
- a pickle (``pickle``, ``joblib.dump``, ``copy.deepcopy``) holds the network on the CPU, so
  that it loads on a machine without the device; the loaded estimator predicts with NumPy
  and its next ``fit``/``partial_fit`` moves the network back to ``device``.

On ``device="cpu"`` every helper here is the plain NumPy operation the estimators used before
(the numbers stay scikit-learn's, bit for bit).
"""

from __future__ import annotations

import copy as _copy

import numpy as np

from ..core.xp import namespace, place, to_numpy


def resolve(device):
    """The :class:`~mlplab.core.xp.Place` for an estimator's ``device`` (a ConfigError naming
    the fix without PyTorch or a GPU). It is the place of an array put there: 'cuda' names the
    current GPU, whose arrays say 'cuda:0', and only equal places let the training loop take
    the data as already on the network's device instead of copying it through the host."""
    where = place(device)
    return where if where.is_numpy else place(where.asarray(np.zeros(1)))


def array_module(a):
    """The functions for ``a``: NumPy itself for a NumPy array (the CPU path stays the NumPy
    code whose numbers match scikit-learn's), else the array-API namespace of its library."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def to_device(a, where, dtype=None):
    """``a`` as an array on ``where`` (a :class:`~mlplab.core.xp.Place`), cast to ``dtype``
    if given; None stays None (absent sample weights). PyTorch on the CPU shares a NumPy
    array's memory: a read-only one (a memmap, pandas' copy-on-write arrays) is copied first,
    which PyTorch would otherwise warn about."""
    if a is None:
        return None
    if isinstance(a, np.ndarray):
        if where.is_numpy:  # the CPU's path: no array-API namespace on the way
            return a if dtype is None else a.astype(dtype, copy=False)
        if not a.flags.writeable:
            a = a.copy()
    return where.asarray(a, dtype)


def copy(a):
    """A copy of ``a``, in its own library and on its own device."""
    return a.copy() if isinstance(a, np.ndarray) else namespace(a).asarray(a, copy=True)


def put(target, values) -> None:
    """Write ``values`` (a NumPy array, or an array on ``target``'s device) into ``target``."""
    target[...] = values if isinstance(target, np.ndarray) else place(target).asarray(values)


def host_copy(a) -> np.ndarray:
    """A NumPy array with the values of ``a``, never sharing its memory."""
    return np.array(to_numpy(a))


def move_to(est, where) -> None:
    """Put ``est.net_``, its optimizer's state and its best validation weights on ``where``
    (a :class:`~mlplab.core.xp.Place`)."""
    net = est.net_
    if net.place == where:
        return
    net.to(where)
    optimizer = getattr(est, "_optimizer", None)
    if optimizer is not None and optimizer.state:
        optimizer.load_state_dict(optimizer.state_dict(), net.params)
    best = getattr(est, "_best_params", None)
    if best is not None:
        est._best_params = [where.asarray(to_numpy(p)) for p in best]


def on_cpu(state: dict) -> dict:
    """An estimator's ``__dict__`` for pickling, with the network and what training keeps on
    the CPU (the estimator itself is not changed)."""
    net = state.get("net_")
    if net is None or net.place.is_numpy:
        return state
    state = dict(state)
    state["net_"] = _copy.deepcopy(net).to("cpu")
    optimizer = state.get("_optimizer")
    if optimizer is not None:
        state["_optimizer"] = _copy.copy(optimizer)
        state["_optimizer"].load_state_dict(optimizer.state_dict())  # NumPy copies
    if state.get("_best_params") is not None:
        state["_best_params"] = [host_copy(p) for p in state["_best_params"]]
    return state
