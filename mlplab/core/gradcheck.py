"""Finite differences against backpropagation.

For every parameter θ, the five-point central difference
``(−C(θ + 2h) + 8C(θ + h) − 8C(θ − h) + C(θ − 2h)) / 12h`` (float64; truncation error O(h⁴),
so a large h keeps rounding noise small) against the backprop gradient. For each array (W⁽ˡ⁾, b⁽ˡ⁾) the relative error is
``‖g_bp − g_fd‖ / (‖g_bp‖ + ‖g_fd‖)`` (0 when both vanish), reported per layer as the larger of
the two. Norms rather than entries: a gradient entry that is exactly 0 in backprop (a dead ReLU)
is ~1e-13 of rounding noise in finite differences, which no entrywise ratio survives; and the
denominator has a floor of ``1e-5 · max(1, C)``: gradients smaller than that (a saturated
sigmoid layer has norms of 1e-8, a dead ReLU layer exactly 0) are compared in absolute terms,
since the finite differences' rounding noise (~1e-13 · C at h = 1e-3) would dominate any
ratio. With the default tolerance this means an absolute error below 1e-11 · max(1, C) passes.

A step can cross a kink: a ReLU's z within 2h of 0 (or a max-pool's tie) makes that
difference the slope of a chord across the kink, not a derivative. So an array that fails is
checked again with h/10, then h/100, and passes if the smaller steps agree with backprop; the
step used is reported. A wrong gradient fails at every step. (Smaller steps carry more rounding
noise, ~3e-11·C per entry at h/100: enough for gradients of ordinary size, not for one at the
floor above, whose kinks stay a FAIL.)

Dropout draws a new mask at every forward pass, which no finite difference can follow: the
check freezes one draw of the masks on its copy (:func:`~mlplab.layers.frozen_masks`).

A z *exactly* at a kink (a zero-padded patch of zeros with b = 0, as a fresh convolution sees
on digits) is crossed by every step, so no step can check it: there the check moves that
layer's b by a small random amount (at most ``KINK_SHIFT``, on its own copy of the network),
so that z leaves the kink, and says so. A wrong gradient stays wrong at the moved point.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .layers.dropout import dropout_layers, frozen_masks

Array = np.ndarray
KINKED = ("relu", "leaky_relu")  # activations whose g' jumps at z = 0
KINK_SHIFT = 1e-2  # the most a b is moved where some z sits exactly at a kink


@dataclass
class GradcheckResult:
    """Max relative error per layer index (``{l: error}``), and the overall verdict."""

    errors: dict[int, float]
    tolerance: float
    steps: dict[int, float] = field(default_factory=dict)  # h used per layer, where smaller
    moved: dict[int, int] = field(default_factory=dict)  # layer: its z exactly at the kink
    shifts: dict[int, float] = field(default_factory=dict)  # layer: the most its b moved

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __str__(self) -> str:
        lines = [f"layer {l}: max relative error {e:.2e}"
                 + (f" (h = {self.steps[l]:g}: a larger step crossed a kink)"
                    if l in self.steps and e < self.tolerance else "")
                 + (f" ({self.moved[l]} z exactly at the kink z = 0: checked with b moved by "
                    f"up to {self.shifts.get(l, KINK_SHIFT):.3g})" if l in self.moved else "")
                 for l, e in self.errors.items()]
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict}: max {self.max_error:.2e} (tolerance {self.tolerance:g})")
        return "\n".join(lines)


def gradcheck(net, X, Y, h: float = 1e-3, tolerance: float = 1e-6) -> GradcheckResult:
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
    for name, value in (("h", h), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ConfigError(f"gradcheck's {name} must be a number > 0, got {value!r}; "
                              "the defaults are h=1e-3, tolerance=1e-6")
    net = copy.deepcopy(net).to("cpu").astype(np.float64)
    X, Y = net.check_XY(X, Y)
    dropout = [layer for layer in dropout_layers(net.layers) if layer.p > 0]
    if any(not layer.frozen for layer in dropout):  # a new mask each forward: no derivative
        with frozen_masks(net, X):  # one draw of the masks, kept for the whole check
            return _check(net, X, Y, h, tolerance)
    return _check(net, X, Y, h, tolerance)


def _check(net, X: Array, Y: Array, h: float, tolerance: float) -> GradcheckResult:
    moved, shifts = _leave_the_kinks(net, X)
    floor = 1e-5 * max(1.0, abs(_cost(net, X, Y)))
    net.forward(X, training=True)
    net.backward(Y)
    errors: dict[int, float] = {}
    steps: dict[int, float] = {}
    for l, layer in enumerate(net.layers):
        worst = 0.0
        for p, g in zip(layer.params, layer.grads):
            g, step = np.array(g), h
            error = _error(g, _differences(net, X, Y, p, step), floor)
            while error >= tolerance and step > h / 100:  # a kink within ±2h? smaller steps
                step /= 10
                error = _error(g, _differences(net, X, Y, p, step), floor)
            worst = max(worst, error)
            if step < h and error < tolerance:
                steps[l] = min(steps.get(l, h), step)
        if layer.params:
            errors[l] = worst
    return GradcheckResult(errors, tolerance, steps, moved, shifts)


def _leave_the_kinks(net, X: Array) -> tuple[dict[int, int], dict[int, float]]:
    """Move b of each layer with a z exactly at its activation's kink (a Residual's layers
    too, counted under the block's index), by a random amount in [KINK_SHIFT / 2,
    KINK_SHIFT]; returns {layer: how many z were there} and {layer: the most b moved}."""
    moved: dict[int, int] = {}
    shifts: dict[int, float] = {}
    rng = np.random.default_rng(0)
    for _ in range(3):  # a move below may put a z of a later layer at its kink
        net.forward(X, training=True)
        found = False
        for l, top in enumerate(net.layers):
            for layer in getattr(top, "layers", [top]):
                g, Z = getattr(layer, "g", None), getattr(layer, "Z", None)
                if g is None or g.name not in KINKED or Z is None or "b" not in layer.param_names:
                    continue
                at_kink = int(np.count_nonzero(np.asarray(Z) == 0))
                if at_kink:
                    step = rng.uniform(KINK_SHIFT / 2, KINK_SHIFT, np.shape(layer.b))
                    layer.b += step
                    moved[l] = moved.get(l, 0) + at_kink
                    shifts[l] = shifts.get(l, 0.0) + float(np.max(step))
                    found = True
        if not found:
            break
    return moved, shifts


def _differences(net, X: Array, Y: Array, p: Array, h: float) -> Array:
    """∂C/∂p by the five-point central difference with step h, entry by entry."""
    numeric = np.empty_like(p)
    for i in np.ndindex(p.shape):
        old = p[i]
        c = []
        for step in (2 * h, h, -h, -2 * h):
            p[i] = old + step
            c.append(_cost(net, X, Y))
        p[i] = old
        numeric[i] = (-c[0] + 8 * c[1] - 8 * c[2] + c[3]) / (12 * h)
    return numeric


def _error(g: Array, numeric: Array, floor: float) -> float:
    denom = max(np.linalg.norm(g) + np.linalg.norm(numeric), floor)
    return float(np.linalg.norm(g - numeric) / denom)


def _cost(net, X: Array, Y: Array) -> float:
    A = net.forward(X, training=True)
    return float(net.loss.value(A, Y, net.layers[-1].Z))
