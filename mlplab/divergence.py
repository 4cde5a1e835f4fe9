"""The divergence guard: stop at the first NaN/inf, keep the last finite weights.

Before every update the training loop asks :meth:`DivergenceGuard.check` whether the batch
cost, every gradient ``∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾`` and every parameter are finite. The test is one
``sum`` per array (NaN and inf propagate through a sum; a sum that overflows to inf means the
numbers are near the float limit, which is divergence too), so it costs about as much as one
update. When all is finite the guard copies the parameters (the last finite state); when not,
it restores that copy if the parameters themselves went bad, names the epoch, the batch and the
layer, and either stops training or raises :class:`~mlplab.errors.DivergenceError`.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError, DivergenceError

ON_DIVERGENCE = ("stop", "raise")
REMEDY = ("lower the learning rate (e.g. divide it by 10), scale the inputs, use a smaller "
          "init, or clip the gradients in an on_gradients callback")


def _finite(arrays) -> int | None:
    """Index of the first array holding NaN/inf, or None when all are finite."""
    for i, a in enumerate(arrays):
        if not math.isfinite(float(np.sum(a))):
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
        self.params, self.grads = net.params, net.grads
        self.names = [f"{name}⁽{l}⁾ (layer {l})" for l, layer in enumerate(net.layers)
                      for name in getattr(layer, "param_names", ("W", "b"))[:len(layer.params)]]
        self.last = [p.copy() for p in self.params]  # the last finite state

    def check(self, trainer, loss: float) -> bool:
        """True (or raise) when training diverged at this batch; False when all is finite."""
        bad_param = _finite(self.params)
        bad_grad = _finite(self.grads) if bad_param is None else None
        if bad_param is None and bad_grad is None and math.isfinite(loss):
            for last, p in zip(self.last, self.params):
                np.copyto(last, p)
            return False
        if bad_param is not None:
            what = f"the update turned {self.names[bad_param]} into NaN/inf"
            for last, p in zip(self.last, self.params):
                np.copyto(p, last)
        elif bad_grad is not None:
            what = f"the gradient ∂C/∂{self.names[bad_grad]} became NaN/inf"
        else:
            what = f"the cost became {loss}"
        where = f"epoch {trainer.epoch}, batch {trainer.batch}"
        message = (f"training diverged at {where}: {what}; the weights were restored to the "
                   f"last finite state. Remedy: {REMEDY}")
        trainer.history.diverged = {"epoch": trainer.epoch, "batch": trainer.batch,
                                    "what": what}
        if self.on_divergence == "raise":
            raise DivergenceError(message)
        trainer.stop(message)
        return True
