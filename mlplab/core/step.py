"""One step of gradient descent on one batch (the lecture's steps 2 to 5), and what an epoch
needs around it: its minibatches (step 1), and the weights at its start and its largest
change (step 6's ε test).

:class:`Step` is the core's own, plain code. An accelerator (:mod:`mlplab.accel`) offers a
subclass that computes the same numbers faster; the training loop (:mod:`mlplab.train.loop`)
runs whichever it is given, and records its ``name`` in ``History.backend``.
"""

from __future__ import annotations

import math
from typing import Callable

Array = object


class Step:
    """``step(Xb, Yb)``: forward, backpropagate and update once; returns the batch's mean cost.

    Parameters
    ----------
    net : Network
    optimizer : Optimizer
    X, Y : the training data, already on the network's device (rows are samples)
    on_gradients : callable, optional
        Called after backpropagation, before the update (the callbacks that read or change
        ``net.grads``: clipping, weight decay, monitors).
    diverged : callable, optional
        ``diverged(cost)`` → True stops the step before the update (the divergence guard).
    """

    name = "core"
    checks_every_step = True  # calls diverged(cost) before every update

    def __init__(self, net, optimizer, X, Y, batch_size: int | None = None,
                 on_gradients: Callable[[], None] | None = None,
                 diverged: Callable[[Array], bool] | None = None):
        self.net, self.optimizer, self.X, self.Y = net, optimizer, X, Y
        self.batch_size = X.shape[0] if batch_size is None else batch_size
        self.on_gradients = on_gradients or (lambda: None)
        self.diverged = diverged or (lambda cost: False)
        self.cost_sum, self.seen = 0.0, 0  # the epoch's costs so far, weighted by batch size

    def batches(self, order=None):
        """Step 1: the epoch's minibatches ``(Xb, Yb)``, in the rows' order or in ``order`` (a
        shuffled permutation of the row indices, a NumPy array)."""
        m, bs, where = self.X.shape[0], self.batch_size, self.net.place
        for i in range(0, m, bs):
            if order is None:  # the standard leaves slices past the end unspecified: stop at m
                end = min(i + bs, m)
                yield self.X[i:end, ...], self.Y[i:end, ...]
            else:
                idx = where.asarray(order[i:i + bs])
                yield where.xp.take(self.X, idx, axis=0), where.xp.take(self.Y, idx, axis=0)

    def __call__(self, Xb: Array, Yb: Array) -> Array | None:
        net = self.net
        A = net.forward(Xb, training=True)  # step 2: a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾), l = 1 … L
        cost = net.loss.value(A, Yb, net.layers[-1].Z)  # C, the mean over the batch
        net.backward(Yb)  # steps 3–4: δ⁽ᴸ⁾, the δ recursion, ∂C/∂W⁽ˡ⁾ and ∂C/∂b⁽ˡ⁾
        self.on_gradients()
        if self.diverged(cost):  # NaN/inf: no step is taken
            return None
        self.optimizer.step(net.params, net.grads)  # step 5: W ← W − α ∂C/∂W (or its variants)
        self.count(cost, Xb.shape[0])
        return cost

    def count(self, cost, m: int) -> None:
        """Add a batch's mean cost to the epoch's total."""
        self.cost_sum, self.seen = self.cost_sum + cost * m, self.seen + m

    def epoch_cost(self) -> float:
        """The epoch's mean cost over the batches stepped (NaN for none); starts a new epoch."""
        mean = float(self.cost_sum) / self.seen if self.seen else math.nan
        self.cost_sum, self.seen = 0.0, 0
        return mean

    def snapshot(self) -> list[Array]:
        """A copy of every parameter (the weights at the start of an epoch)."""
        xp = self.net.place.xp
        return [xp.asarray(p, copy=True) for p in self.net.params]

    def largest_change(self, start: list[Array]) -> float:
        """Step 6: ``max |ΔW|, |Δb|`` since ``start``; NaN when any parameter is NaN."""
        xp = self.net.place.xp
        changes = [float(xp.max(xp.abs(p - s))) for p, s in zip(self.net.params, start)]
        return math.nan if any(math.isnan(c) for c in changes) else max(changes, default=0.0)

    def restore(self, saved: list[Array]) -> None:
        """Put ``saved`` (a :meth:`snapshot`) back into the parameters, in place."""
        for p, s in zip(self.net.params, saved):
            p[...] = s

    def __enter__(self) -> "Step":
        return self

    def __exit__(self, *exc) -> None:  # the fit ended, or raised: release what the step kept
        self.close()

    def close(self) -> None:
        """Training is over: release what the step kept."""
