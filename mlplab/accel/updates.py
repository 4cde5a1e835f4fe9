"""The core's update rules (:mod:`mlplab.core.optimizers`) for NumPy arrays, in place.

The same operations in the same order as the core's formulas, so the same numbers bit for bit
(tests/test_accel.py), but their intermediate products go into work arrays kept per parameter
shape instead of fresh temporaries (an Adam step on a 256 × 784 float32 W allocated 8 arrays
of its size). The optimizer's own ``t`` and ``state`` are used and kept up to date, so that
checkpoints and a later core step see exactly what the core would have left.
"""

from __future__ import annotations

import numpy as np

from ..core.optimizers import Adam, GradientDescent, Momentum

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

    def __call__(self, params: list[Array], grads: list[Array]) -> None:
        opt = self.opt
        if len(opt.state) != len(params):
            opt.state = [opt.init_state(p) for p in params]
        opt.t += 1
        for p, g, s in zip(params, grads, opt.state):
            for k, v in s.items():  # a loaded state may come as another array type
                if not isinstance(v, np.ndarray) or v.dtype != p.dtype:
                    s[k] = np.array(v, dtype=p.dtype)
            self.rule(self, p, g, s)


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
