"""The divergence guard: stop at the first NaN/inf, keep the last finite weights.

It costs nothing per step beyond what training computes anyway, so the fast path keeps it:

- **every step**, the batch cost is checked *before* the update (a float test). NaN/inf
  weights always show in the next cost: a NaN, or an infinity times 0 or against another
  infinity, spreads to every output of a dense network. So a non-finite cost stops training
  before a bad step is applied. If the weights the cost came from are finite (the forward pass
  overflowed) they stay, as the last finite state; if they are not (the previous update
  overflowed), the weights from the start of the epoch go back;
- **every epoch**, the largest change ``max |p − p_before|`` that the ε test computes anyway
  is NaN/inf exactly when a weight is. This catches the one case the cost can hide (a weight
  of −inf feeding a ReLU or a sigmoid gives 0, a finite output); the weights from the start of
  the epoch go back. In full-batch training (one step per epoch) that is the previous step's.

Either way the guard names the epoch, the batch and the layer (only then does it look at each
array), and stops training or raises :class:`~mlplab.errors.DivergenceError`.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.xp import namespace, to_numpy
from ..errors import ConfigError, DivergenceError

ON_DIVERGENCE = ("stop", "raise")
REMEDY = ("lower the learning rate (e.g. divide it by 10), scale the inputs, use a smaller "
          "init, or clip the gradients (callbacks=[mlplab.clipping.ClipByGlobalNorm(1.0)])")


def _finite(a) -> bool:
    xp = namespace(a)
    return bool(xp.all(xp.isfinite(a)))


def _first_nonfinite(arrays) -> int | None:
    """Index of the first array holding NaN/inf, or None when all are finite."""
    for i, a in enumerate(arrays):
        if a is not None and not _finite(a):
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

    Attributes
    ----------
    step : the training step (its ``restore`` puts saved weights back); set by the loop
    epoch_start : the weights at the start of the current epoch (the loop's snapshot)
    """

    def __init__(self, net, on_divergence: str = "stop"):
        if on_divergence not in ON_DIVERGENCE:
            raise ConfigError(f"on_divergence must be one of {', '.join(ON_DIVERGENCE)}, "
                              f"got {on_divergence!r}")
        self.on_divergence, self.net = on_divergence, net
        self.names = [f"{name}⁽{l}⁾ (layer {l})" for l, layer in enumerate(net.layers)
                      for name in getattr(layer, "param_names", ("W", "b"))[:len(layer.params)]]
        self.step = self.epoch_start = None

    def cost_checker(self, trainer):
        """``diverged(cost)`` for a step: True (or raise) when the batch cost is NaN/inf."""
        return lambda cost: self.check_cost(trainer, cost)

    def check_cost(self, trainer, loss) -> bool:
        """Before a step: True (or raise) when its batch cost is NaN/inf; the step is not taken.

        The weights at the start of the epoch go back when the current ones are not finite.
        """
        loss = float(loss)
        if math.isfinite(loss):
            return False
        bad_param = _first_nonfinite(self.net.params)
        if bad_param is None:  # the forward pass overflowed from finite weights: keep them
            what = f"the cost became {loss}"
            z = [l for l, layer in enumerate(self.net.layers)
                 if getattr(layer, "Z", None) is not None and not _finite(layer.Z)]
            if z:
                what += f" (z⁽{z[0]}⁾, layer {z[0]}, overflowed)"
            return self._stop(trainer, what, "the weights are the last finite ones, from "
                                             "before that step")
        # a weight was NaN/inf before this step: name it (this step's gradients, computed from
        # it, would only repeat the NaN)
        return self._weights_went_bad(trainer, bad_param, f"the cost became {loss} and ",
                                      gradients=False)

    def check_epoch(self, trainer, change: float, epoch_start, cost: float | None = None) -> bool:
        """After an epoch: True (or raise) when its largest change, hence a weight, is NaN/inf,
        or when its cost is (a step that reads the cost once an epoch, on a GPU, is checked
        here only: the epoch's start comes back)."""
        self.epoch_start = epoch_start
        if math.isfinite(change) and (cost is None or not math.isnan(cost) and math.isfinite(cost)
                                      or self.step is None or self.step.checks_every_step):
            return False
        if math.isfinite(change):  # finite weights, a NaN/inf cost: the forward pass overflowed
            self.step.restore(epoch_start)
            return self._stop(trainer, f"the cost became {cost} during the epoch (checked once an "
                                       "epoch on this device)", "the weights were restored to "
                                       f"those at the start of epoch {trainer.epoch}")
        params = self.net.params
        bad_param = _first_nonfinite(params)
        if bad_param is None:  # |p − p_before| overflowed between finite numbers: divergence too
            bad_param = int(np.argmax([float(np.max(np.abs(to_numpy(p) - to_numpy(s))))
                                       for p, s in zip(params, epoch_start)]))
        return self._weights_went_bad(trainer, bad_param, "")

    def _weights_went_bad(self, trainer, bad_param: int, prefix: str,
                          gradients: bool = True) -> bool:
        self.step.restore(self.epoch_start)
        # the last step's gradients, when they were stored: the cause of its bad update
        bad_grad = _first_nonfinite(self.net.grads) if gradients else None
        if bad_grad is not None:
            what = f"{prefix}the gradient ∂C/∂{self.names[bad_grad]} became NaN/inf"
        else:
            what = f"{prefix}an update overflowed {self.names[bad_param]}"
        return self._stop(trainer, what, f"the weights were restored to those at the start "
                                         f"of epoch {trainer.epoch}, the last finite state")

    def _stop(self, trainer, what: str, kept: str) -> bool:
        where = f"epoch {trainer.epoch}, batch {trainer.batch}"
        message = f"training diverged at {where}: {what}; {kept}. Remedy: {REMEDY}"
        trainer.history.diverged = {"epoch": trainer.epoch, "batch": trainer.batch,
                                    "what": what}
        if self.on_divergence == "raise":
            raise DivergenceError(message)
        # a callback (e.g. GradientMonitor) may already have said why; keep its words first
        trainer.stop(f"{trainer.stop_reason}; {message}" if trainer.stop_reason else message)
        return True
