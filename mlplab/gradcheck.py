"""Finite differences against backpropagation.

For every parameter θ: ``(C(θ + h) − C(θ − h)) / 2h`` (central differences, float64) against
the backprop gradient; the relative error ``|g_bp − g_fd| / max(|g_bp| + |g_fd|, tiny)`` is
reported per layer, as its maximum over that layer's W and b.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass
class GradcheckResult:
    """Max relative error per layer index (``{l: error}``), and the overall verdict."""

    errors: dict[int, float]
    tolerance: float

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __str__(self) -> str:
        lines = [f"layer {l}: max relative error {e:.2e}" for l, e in self.errors.items()]
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict}: max {self.max_error:.2e} (tolerance {self.tolerance:g})")
        return "\n".join(lines)


def gradcheck(net, X, Y, h: float = 1e-6, tolerance: float = 1e-6) -> GradcheckResult:
    """Compare ``net``'s backprop gradients with central finite differences, in float64.

    The network is copied and cast to float64; the original is not touched.

    Parameters
    ----------
    net : Network
    X : (m, n_inputs) array
    Y : (m, n_outputs) array or (m,) labels
    h : float
        Finite-difference step.
    tolerance : float
        ``passed`` is True when every relative error is below it.
    """
    net = copy.deepcopy(net).astype(np.float64)
    X, Y = net._check_XY(X, Y)
    net.forward(X, training=True)
    net.backward(Y)
    errors: dict[int, float] = {}
    for l, layer in enumerate(net.layers):
        worst = 0.0
        for p, g in zip(layer.params, layer.grads):
            g = g.copy()
            numeric = np.empty_like(p)
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                c_plus = _cost(net, X, Y)
                p[i] = old - h
                c_minus = _cost(net, X, Y)
                p[i] = old
                numeric[i] = (c_plus - c_minus) / (2 * h)
            denom = np.maximum(np.abs(g) + np.abs(numeric), 1e-8)
            worst = max(worst, float(np.max(np.abs(g - numeric) / denom)))
        if layer.params:
            errors[l] = worst
    return GradcheckResult(errors, tolerance)


def _cost(net, X: Array, Y: Array) -> float:
    A = net.forward(X, training=True)
    return net.loss.value(A, Y, net.layers[-1].Z)
