"""The core's update rules (:mod:`mlplab.core.optimizers`) for NumPy arrays, in place.

The same operations in the same order as the core's formulas, so the same numbers bit for bit
(tests/test_accel.py):

- :class:`CompiledUpdates` updates every parameter in one call of a numba kernel
  (:mod:`mlplab.accel.numba_kernels`), on every core for a large network with
  ``MLPLAB_PARALLEL=on``, and adds a weight
  penalty (L2 or L1, :meth:`mlplab.train.regularizers.L2.gradient_term`) to the gradients on
  the way, as the penalty's callback would have: one pass over the parameters a step;
- :class:`InPlaceUpdates` runs each rule array by array with NumPy, its intermediate products
  in work arrays kept per parameter shape instead of fresh temporaries (an Adam step on a
  256 × 784 float32 W allocated 8 arrays of its size): the rule where numba is not installed,
  and for the parameters the kernels cannot take (not contiguous).

The optimizer's own ``t`` and ``state`` are used and kept up to date, so that checkpoints and a
later core step see exactly what the core would have left.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.optimizers import Adam, GradientDescent, Momentum
from .kernels import ADAM, GD, MOMENTUM, NESTEROV
from .params import Table

PARALLEL_SIZE = 1 << 17  # parameters from which an update is shared among the threads

Array = np.ndarray


class InPlaceUpdates:
    """``updates(params, grads)``: one step of ``optimizer``'s rule on NumPy arrays."""

    def __init__(self, optimizer):
        self.opt = optimizer
        self._scratch: dict[tuple, list[Array]] = {}
        self.rule = _RULES[type(optimizer)]

    @staticmethod
    def applies(optimizer) -> bool:
        """True for the built-in rules (a subclass may change ``update``: it runs as written)."""
        return type(optimizer) in _RULES

    def scratch(self, p: Array, k: int) -> list[Array]:
        """``k`` work arrays shaped like ``p`` (overwritten by every update; not state)."""
        key = (p.shape, p.dtype.str, p.flags.f_contiguous)
        arrays = self._scratch.get(key)
        if arrays is None or len(arrays) < k:
            if len(self._scratch) > 32:
                self._scratch.clear()
            arrays = self._scratch[key] = [np.empty_like(p) for _ in range(k)]
        return arrays

    def __call__(self, params: list[Array], grads: list[Array], decay=None) -> None:
        """One step; ``decay`` (a list of λ per parameter, and True for L1) first adds a
        penalty's gradient, as its callback would."""
        _start(self.opt, params)
        self.apply(params, grads, range(len(params)), decay)

    def apply(self, params, grads, which, decay=None) -> None:
        """The rule on the parameters numbered ``which`` (the step already counted)."""
        for k in which:
            p, g = params[k], grads[k]
            if decay is not None and decay[0][k]:
                g += decay[0][k] * (np.sign(p) if decay[1] else p)  # the penalty's formula
            self.rule(self, p, g, self.opt.state[k])


def _start(opt, params: list[Array]) -> None:
    """Count the step; give every parameter its state, as NumPy arrays of its dtype."""
    ready(opt, params)
    opt.t += 1


def ready(opt, params: list[Array], layouts: bool = False) -> None:
    """Give every parameter its state, as NumPy arrays of its dtype (the step not counted);
    with ``layouts`` (where the arrays are new to a compiled rule, which reads a parameter and
    its state element by element alike), also in the parameter's layout: column-major for
    scikit-learn's weights, row-major otherwise."""
    if len(opt.state) != len(params):
        opt.state = [opt.init_state(p) for p in params]
    for p, s in zip(params, opt.state):
        order = ("F" if p.flags.f_contiguous and not p.flags.c_contiguous else "C") \
            if layouts else "K"
        for k, v in s.items():  # a loaded state may come as another array type or layout
            if not isinstance(v, np.ndarray) or v.dtype != p.dtype or (
                    layouts and v.shape == p.shape and not v.flags[order + "_CONTIGUOUS"]):
                s[k] = np.array(v, dtype=p.dtype, order=order)


class CompiledUpdates:
    """``updates(params, grads, decay=None)``: one step of ``optimizer``'s rule on every
    parameter in one numba call (:mod:`mlplab.accel.numba_kernels`).

    The kernel reads the parameters, gradients and state where they are, through a
    :class:`~mlplab.accel.params.Table` of their addresses that is rebuilt when any of those
    arrays is replaced; parameters it cannot take are updated by :class:`InPlaceUpdates`.
    """

    def __init__(self, optimizer, kernels, threads: int = 1):
        self.opt, self.kernels, self.threads = optimizer, kernels, threads
        self.numpy = InPlaceUpdates(optimizer)
        self.table: Table | None = None
        self.keys = list(optimizer.init_state(np.zeros(1)))  # the state's arrays, in order

    applies = staticmethod(InPlaceUpdates.applies)

    def __call__(self, params: list[Array], grads: list[Array], decay=None) -> None:
        opt = self.opt
        _start(opt, params)
        rows = [params, grads] + [[s[key] for s in opt.state] for key in self.keys]
        table = self.table
        if table is None or not table.current(rows):  # new arrays: states in their layouts
            ready(opt, params, layouts=True)
            rows = [params, grads] + [[s[key] for s in opt.state] for key in self.keys]
            table = self.table = Table(rows)
            if len({p.dtype for p in params}) > 1:  # one dtype per call: NumPy for all
                table.columns, table.left_out = [], list(range(len(params)))
        if table.columns:
            self._kernel(table, decay)
        if table.left_out:
            self.numpy.apply(params, grads, table.left_out, decay)

    def _kernel(self, table: Table, decay) -> None:
        lams = np.zeros(len(table.columns), table.dtype)
        if decay is not None:
            lams[:] = [decay[0][k] for k in table.columns]
        l1 = bool(decay is not None and decay[1])
        parallel = self.threads > 1 and table.size >= PARALLEL_SIZE
        self.kernels.update[parallel](table.chunks, table.at, table.like, lams, l1,
                                      *rule_of(self.opt, table.dtype))


def rule_of(opt, dtype) -> tuple[int, Array]:
    """The compiled rules' code for ``opt`` (:mod:`mlplab.accel.numba_kernels`) and its scalars
    as the core computes them, cast to the parameters' ``dtype`` as NumPy casts them (for Adam,
    after :func:`_start` counted the step)."""
    kind = type(opt)
    if kind is GradientDescent:
        return GD, np.array([opt.learning_rate], dtype)
    if kind is Momentum:
        code = NESTEROV if opt.nesterov else MOMENTUM
        return code, np.array([opt.learning_rate, opt.momentum], dtype)
    return ADAM, np.array([opt.beta_1, 1 - opt.beta_1, opt.beta_2, 1 - opt.beta_2,
                           opt.learning_rate / (1 - opt.beta_1 ** opt.t),
                           math.sqrt(1 - opt.beta_2 ** opt.t), opt.eps], dtype)


def _gd(self, p, g, state):
    (step,) = self.scratch(p, 1)
    p -= np.multiply(g, self.opt.learning_rate, out=step)  # α·g


def _momentum(self, p, g, state):
    opt, v = self.opt, state["v"]
    ag, look = self.scratch(p, 2)
    np.multiply(g, opt.learning_rate, out=ag)  # α·g
    v *= opt.momentum
    v -= ag  # v ← β v − α g
    if opt.nesterov:
        np.multiply(v, opt.momentum, out=look)  # β·v − α·g
        look -= ag
        p += look
    else:
        p += v


def _adam(self, p, g, state):
    opt, m, v = self.opt, state["m"], state["v"]
    a, b = self.scratch(p, 2)
    m *= opt.beta_1
    m += np.multiply(g, 1 - opt.beta_1, out=a)
    v *= opt.beta_2
    np.multiply(g, g, out=a)
    v += np.multiply(a, 1 - opt.beta_2, out=a)  # (1 − β₂)·g²
    step = opt.learning_rate / (1 - opt.beta_1 ** opt.t)
    root_c2 = float(np.sqrt(1 - opt.beta_2 ** opt.t))
    np.sqrt(v, out=a)
    a /= root_c2
    a += opt.eps  # √v̂ + ε
    np.multiply(m, step, out=b)
    b /= a
    p -= b


_RULES = {GradientDescent: _gd, Momentum: _momentum, Adam: _adam}
