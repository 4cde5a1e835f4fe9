"""The training loop: the lecture's 7 steps, with minibatches and callbacks.

1. initialize W, b (done by :class:`~mlplab.core.network.Network`);
2. forward: ``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)``;
3. output gradient ``δ⁽ᴸ⁾``;  4. backward: the δ recursion and ``∂C/∂W⁽ˡ⁾``, ``∂C/∂b⁽ˡ⁾``;
5. update ``W ← W − α ∂C/∂W`` (or momentum, Adam), α ∈ (0, 1];
6. stop when every change of every W and b over an epoch is below ε, or at ``max_epochs``;
7. output W and b (``net.summary()``).

Steps 2–5 for one batch are :class:`mlplab.core.step.Step` — the core's plain code, or an
accelerator's subclass with the same numbers (``History.backend`` names the one that ran). With
``optimizer="gd"`` and no ``batch_size`` this is the lecture's algorithm verbatim: one
full-batch step per epoch. A ``batch_size`` gives minibatches in an order shuffled by a seeded
generator.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..core import plugins
from .history import History, Trainer
from .setup import prepare

__all__ = ["fit", "History", "Trainer"]


# NaN/inf is the divergence guard's to report, in one clear message, not NumPy's warnings
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def fit(net, X, Y, **options) -> History:
    """Train ``net`` on ``(X, Y)``; returns the :class:`History` (also ``net.history``).

    Parameters
    ----------
    X : (m, n_inputs) array (or (m, *sample_shape)), any array library
    Y : (m, n_outputs) array, or (m,) for one output or for class labels 0…k−1
    optimizer : "gd" | "sgd" | "momentum" | "nesterov" | "adam", or an Optimizer
    learning_rate : float in (0, 1], the lecture's α (default 0.5)
    max_epochs : int (default 10,000)
    batch_size : int, optional; None means the full batch
    epsilon : float or None
        Step 6's ε (default 1e-4): stop when every |ΔW|, |Δb| over an epoch is below it;
        None never stops early on it.
    shuffle : bool; seed : int, optional (default: the network's own generator)
    callbacks : list of Callback; validation_data : (X_val, Y_val), optional
    on_divergence : "stop" | "raise"
        At the first NaN/inf cost or weight, training stops with the last finite weights and
        records where in ``History.diverged`` ("stop"), or raises ``DivergenceError``.
    checkpoint : path, optional; checkpoint_every : int; resume : bool
        A crash-safe checkpoint every N epochs (:mod:`mlplab.io.checkpoint`); ``resume=True``
        continues from it, bit for bit.
    accelerate : bool, optional
        False runs the core's own step even where an accelerator applies (also
        ``MLPLAB_ACCEL=off``).
    **optimizer_options
        ``momentum``, ``nesterov``; ``beta_1``, ``beta_2`` (Adam's ε: construct
        ``mlplab.optimizers.Adam``).
    """
    run = prepare(net, X, Y, **options)  # every option checked; the data on net's device
    history, trainer, callbacks = run.history, run.trainer, run.callbacks
    for accelerator in plugins.accelerators(run.accelerate):  # tiny networks nobody watches:
        if accelerator.fit_unwatched(run):  # every epoch in one compiled call
            return history
    first_epoch = run.begin()  # resumed from a checkpoint, if asked; callbacks started
    with run.step() as step:  # steps 2–5 for one batch: the core's, or an accelerator's
        history.backend = step.name
        started = time.perf_counter()
        for epoch in range(first_epoch, run.max_epochs + 1):
            trainer.epoch = epoch
            callbacks.on_epoch_begin(trainer, epoch)
            before = run.guard.epoch_start = step.snapshot()  # W, b at the start of the epoch
            for trainer.batch, (Xb, Yb) in enumerate(step.batches(run.order())):  # step 1
                Xb, Yb = callbacks.on_batch_begin(trainer, Xb, Yb)
                cost = step(Xb, Yb)  # steps 2–5
                if cost is None:  # the divergence guard stopped training
                    break
                callbacks.on_batch_end(trainer, {"loss": cost})
            change = step.largest_change(before)  # step 6: the largest |ΔW|, |Δb|
            cost = step.epoch_cost()
            if not history.diverged and run.guard.check_epoch(trainer, change, before, cost):
                change = math.nan  # the guard put the epoch's start back: record the NaN
            logs = run.epoch_logs(cost, change)
            history.epochs = epoch
            callbacks.on_epoch_end(trainer, epoch, logs)
            run.converged(epoch, change)  # step 6: every change below ε
            if run.checkpointer is not None:
                run.checkpointer.epoch_end(trainer, run.rng, epoch, last=epoch == run.max_epochs)
            if trainer.stop_reason:
                break
        return run.end(step, started)  # step 7: the weights are in net.layers (net.summary())


plugins.TRAINER = fit
