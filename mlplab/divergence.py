"""The divergence guard: stop at the first NaN/inf, keep the last finite weights.

After every update the training loop asks :meth:`DivergenceGuard.check` whether the batch
cost and every parameter are finite. A NaN/inf gradient always reaches the parameters through
the update, so this one test covers the cost, the gradients and overflowing updates. It is one
``sum`` per array (NaN and inf propagate through a sum; a sum that overflows to inf means the
numbers are near the float limit, which is divergence too) plus one copy: about the cost of an
update. When all is finite the guard keeps that copy (the last finite state); when not, it puts
the copy back, names the epoch, the batch and the layer (slow path: only then does it look at
each gradient), and either stops training or raises :class:`~mlplab.errors.DivergenceError`.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError, DivergenceError

ON_DIVERGENCE = ("stop", "raise")
REMEDY = ("lower the learning rate (e.g. divide it by 10), scale the inputs, use a smaller "
          "init, or clip the gradients (callbacks=[mlplab.clipping.ClipByGlobalNorm(1.0)])")


def _first_nonfinite(arrays) -> int | None:
    """Index of the first array holding NaN/inf, or None when all are finite."""
    for i, a in enumerate(arrays):
        if not np.isfinite(a).all():
            return i
    return None


class DivergenceGuard:
    """Watches one training run; see the module docstring.

    Parameters
    ----------
    net : Network
    on_divergence : "stop" | "raise"
        "stop" ends training and records why in ``History.stop_reason`` and
        ``History.diverged``; "raise" raises :class:`DivergenceError` (the weights are restored
        first either way).
    """

    def __init__(self, net, on_divergence: str = "stop"):
        if on_divergence not in ON_DIVERGENCE:
            raise ConfigError(f"on_divergence must be one of {', '.join(ON_DIVERGENCE)}, "
                              f"got {on_divergence!r}")
        self.on_divergence = on_divergence
        self.params, self.grads, self.layers = net.params, net.grads, net.layers
        self.names = [f"{name}⁽{l}⁾ (layer {l})" for l, layer in enumerate(net.layers)
                      for name in getattr(layer, "param_names", ("W", "b"))[:len(layer.params)]]
        self.last = [p.copy() for p in self.params]  # the last finite state

    def all_finite(self, losses) -> bool:
        """After a loop that ran unguarded: True when the last loss and every weight are finite.

        NaN/inf weights never become finite again under gradient descent, and a NaN/inf cost
        or gradient reaches the weights, so the end state tells whether anything diverged.
        """
        return (not losses or math.isfinite(losses[-1])) and _first_nonfinite(self.params) is None

    def restore(self) -> None:
        """Put the last finite weights back."""
        for last, p in zip(self.last, self.params):
            np.copyto(p, last)

    def check(self, trainer, loss: float) -> bool:
        """After an update: True (or raise) when the batch cost or a weight is NaN/inf.

        A NaN/inf gradient always reaches the weights through the update (``p − α·NaN``,
        Adam's ``inf/inf``), so checking the weights after the step catches bad gradients too.
        """
        total = 0.0
        for p in self.params:
            total += np.add.reduce(p, None)
        if math.isfinite(loss) and math.isfinite(total):
            for last, p in zip(self.last, self.params):
                np.copyto(last, p)
            return False
        bad_param = _first_nonfinite(self.params)
        self.restore()  # undo the update
        bad_grad = _first_nonfinite(self.grads)
        what = [f"the cost became {loss}"] if not math.isfinite(loss) else []
        if bad_grad is not None:
            what.append(f"the gradient ∂C/∂{self.names[bad_grad]} became NaN/inf")
        elif bad_param is not None:
            what.append(f"the update overflowed {self.names[bad_param]}")
        else:
            z = [l for l, layer in enumerate(self.layers)
                 if getattr(layer, "Z", None) is not None and not np.isfinite(layer.Z).all()]
            what.append(f"z⁽{z[0]}⁾ (layer {z[0]}) overflowed" if z else "")
        what = " and ".join(w for w in what if w)
        where = f"epoch {trainer.epoch}, batch {trainer.batch}"
        message = (f"training diverged at {where}: {what}; the weights were restored to the "
                   f"last finite state. Remedy: {REMEDY}")
        trainer.history.diverged = {"epoch": trainer.epoch, "batch": trainer.batch,
                                    "what": what}
        if self.on_divergence == "raise":
            raise DivergenceError(message)
        # a callback (e.g. GradientMonitor) may already have said why; keep its words first
        trainer.stop(f"{trainer.stop_reason}; {message}" if trainer.stop_reason else message)
        return True
