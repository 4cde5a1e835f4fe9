"""Watching the gradients flow: per hidden layer, the norms of ∂C/∂b⁽ˡ⁾ and ∂C/∂W⁽ˡ⁾.

Backpropagation multiplies δ by ``(W⁽ˡ⁺¹⁾)ᵀ`` and ``g'(z⁽ˡ⁾)`` once per layer going back; with
σ' ≤ 0.25 the product shrinks (vanishing gradients) or, with large weights, grows (exploding).
Since ``∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾``, the norm ``‖∂C/∂b⁽ˡ⁾‖`` is the size of the error signal reaching layer
l: Nielsen's measure of each layer's "speed of learning".

:class:`GradientMonitor` is a callback: a network trained without it pays nothing. It records,
for every *stage* (a layer that applies a hidden activation, see :func:`stages`):

- ``grad_b``: ‖∂C/∂b⁽ˡ⁾‖ (for a Dense followed by a BatchNorm, ‖∂C/∂β‖, the bias that reaches g);
- ``grad_W``: ‖∂C/∂W⁽ˡ⁾‖ (Frobenius);
- ``mean_abs_a``: mean |a⁽ˡ⁾| over the batch;
- ``saturated``: fraction of entries where g'(z) is below 10 % of its maximum (sigmoid:
  a < 0.026 or a > 0.974; tanh: |a| > 0.949); 0 for other activations;
- ``dead``: fraction of ReLU units that output 0 for every sample of the batch; 0 otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .callbacks import Callback
from ..errors import ConfigError
from ..core.layers import BatchNorm, Dense, Layer, Residual

Array = np.ndarray
QUANTITIES = ("grad_b", "grad_W", "mean_abs_a", "saturated", "dead")
_G_MAX = {"sigmoid": 0.25, "tanh": 1.0}  # max g'(z), at z = 0


@dataclass
class Stage:
    """A hidden layer as the monitor sees it: a Dense, optionally with the BatchNorm above it."""

    dense: Dense
    norm: BatchNorm | None = None

    @property
    def out(self) -> Layer:
        """The layer whose activation g produces a⁽ˡ⁾."""
        return self.norm if self.norm is not None else self.dense

    @property
    def db(self) -> Array:
        return self.norm.dbeta if self.norm is not None else self.dense.db


def _leaves(layers) -> list[Layer]:
    out = []
    for layer in layers:
        out.extend(_leaves(layer.layers) if isinstance(layer, Residual) else [layer])
    return out


def stages(net) -> list[Stage]:
    """The hidden layers of ``net`` in order, first to last (the output layer excluded).

    Residual blocks are entered; a Dense followed by a BatchNorm is one stage.
    """
    leaves = _leaves(net.layers[1:-1])
    found: list[Stage] = []
    for i, layer in enumerate(leaves):
        if isinstance(layer, Dense):
            nxt = leaves[i + 1] if i + 1 < len(leaves) else None
            found.append(Stage(layer, nxt if isinstance(nxt, BatchNorm) else None))
    return found


def measure(net) -> dict[str, list[float]]:
    """The five quantities per stage from the network's last forward and backward pass."""
    row: dict[str, list[float]] = {q: [] for q in QUANTITIES}
    for s in stages(net):
        out = s.out
        row["grad_b"].append(float(np.linalg.norm(s.db)))
        row["grad_W"].append(float(np.linalg.norm(s.dense.dW)))
        row["mean_abs_a"].append(float(np.mean(np.abs(out.A))))
        name = out.g.name
        if name in _G_MAX:
            g_prime = out.g.g_prime(out.Z)
            row["saturated"].append(float(np.mean(g_prime < 0.1 * _G_MAX[name])))
        else:
            row["saturated"].append(0.0)
        row["dead"].append(float(np.mean(np.all(out.A <= 0, axis=0))) if name == "relu" else 0.0)
    return row


@dataclass
class GradientRecord:
    """One measurement: when (epoch, batch; epoch 0 is before training) and the values."""

    epoch: int
    batch: int
    values: dict[str, list[float]] = field(default_factory=dict)


class GradientMonitor(Callback):
    """Record per-layer gradient norms and activation statistics during ``fit``.

    Parameters
    ----------
    every : int
        Record the minibatch gradient every ``every`` batches (counted across epochs);
        0 records no minibatches.
    data : (X, Y), optional
        Probe data: also record the gradient over all of it before training (epoch 0) and after
        every epoch, as Nielsen does (his plots use 1,000 training images). BatchNorm running
        statistics are left as training made them.
    stop_on_nonfinite : bool
        Stop training (``trainer.stop``) once a gradient is NaN or infinite; the reason names
        the epoch and batch. ``nonfinite_at`` records it either way.

    Attributes
    ----------
    batch_records, probe_records : list of GradientRecord
    nonfinite_at : (epoch, batch) or None
    """

    def __init__(self, every: int = 1, data: tuple[Array, Array] | None = None,
                 stop_on_nonfinite: bool = True):
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ConfigError(f"GradientMonitor every must be an integer ≥ 0, got {every!r}")
        if every == 0 and data is None:
            raise ConfigError("GradientMonitor(every=0) records nothing: give data=(X, Y) "
                              "or every ≥ 1")
        self.every, self.data, self.stop_on_nonfinite = every, data, stop_on_nonfinite
        self.batch_records: list[GradientRecord] = []
        self.probe_records: list[GradientRecord] = []
        self.nonfinite_at: tuple[int, int] | None = None

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, trainer) -> None:
        self.batch_records, self.probe_records, self.nonfinite_at = [], [], None
        self._count = 0
        if self.data is not None:
            self._X, self._Y = trainer.net.check_XY(*self.data)
            self._probe(trainer, 0)

    def on_gradients(self, trainer) -> None:
        self._count += 1
        if self.every and (self._count - 1) % self.every == 0:
            values = measure(trainer.net)
            self.batch_records.append(GradientRecord(trainer.epoch, trainer.batch, values))
            self._check_finite(trainer, values)
        elif self.nonfinite_at is None and not all(np.isfinite(g).all() for g in trainer.net.grads):
            self._check_finite(trainer, {"grad_b": [math.nan]})

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.data is not None:
            self._probe(trainer, epoch)

    # ------------------------------------------------------------------ helpers
    def _probe(self, trainer, epoch: int) -> None:
        net = trainer.net
        norms = [layer for layer in _leaves(net.layers) if isinstance(layer, BatchNorm)]
        saved = [(bn.running_mean.copy(), bn.running_var.copy()) for bn in norms]
        with np.errstate(all="ignore"):
            net.forward(self._X, training=True)
            net.backward(self._Y)
            values = measure(net)
        for bn, (mean, var) in zip(norms, saved):
            bn.running_mean[...], bn.running_var[...] = mean, var
        self.probe_records.append(GradientRecord(epoch, -1, values))
        self._check_finite(trainer, values)

    def _check_finite(self, trainer, values) -> None:
        if self.nonfinite_at is None and not all(map(math.isfinite, values["grad_b"])):
            self.nonfinite_at = (trainer.epoch, trainer.batch)
            if self.stop_on_nonfinite:
                trainer.stop(f"gradients became NaN or infinite at epoch {trainer.epoch}, "
                             f"batch {trainer.batch}: they exploded; lower the learning rate, "
                             "shrink the initial weights or clip the gradients")

    # ------------------------------------------------------------------ results
    def table(self, quantity: str = "grad_b", source: str = "epoch") -> tuple[Array, Array]:
        """``(epochs, values)``: values has one row per epoch (or record) and one column per stage.

        ``source="epoch"``: the mean over each epoch's batch records; ``"probe"``: the probe
        records (epoch 0 first); ``"batch"``: every batch record (epochs repeat).
        """
        if quantity not in QUANTITIES:
            raise ConfigError(f"unknown quantity {quantity!r}; choose one of {QUANTITIES}")
        if source == "probe":
            recs = self.probe_records
        elif source in ("batch", "epoch"):
            recs = self.batch_records
        else:
            raise ConfigError(f"source must be 'epoch', 'batch' or 'probe', got {source!r}")
        if not recs:
            return np.zeros(0, int), np.zeros((0, 0))
        epochs = np.array([r.epoch for r in recs])
        values = np.array([r.values[quantity] for r in recs], dtype=float)
        if source == "epoch":
            keep = np.unique(epochs)
            values = np.array([values[epochs == e].mean(axis=0) for e in keep])
            epochs = keep
        return epochs, values

    def __repr__(self) -> str:
        probe = "" if self.data is None else ", data=…"
        return f"GradientMonitor(every={self.every}{probe})"
