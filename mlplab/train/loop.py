"""The training loop: the lecture's 7 steps, with minibatches and callbacks.

1. initialize W, b (done by :class:`~mlplab.network.Network`);
2. forward: ``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)``;
3. output gradient ``δ⁽ᴸ⁾``;  4. backward: the δ recursion and ``∂C/∂W⁽ˡ⁾``, ``∂C/∂b⁽ˡ⁾``;
5. update ``W ← W − α ∂C/∂W`` (or momentum, Adam), α ∈ (0, 1];
6. stop when every change of every W and b over an epoch is below ε, or at ``max_epochs``;
7. output W and b (``net.summary()``).

With ``optimizer="gd"`` and no ``batch_size`` this is the lecture's algorithm verbatim: one
full-batch step per epoch. A ``batch_size`` gives minibatches in an order shuffled by a seeded
generator (indices only: the data is never copied whole); each batch is gathered into an array
reused from batch to batch, so a callback that keeps ``Xb`` must copy it. Tiny full-batch
problems run the same loop compiled (:mod:`mlplab.fastpath`) when no callback or validation
data watches them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..accel import tiny as fastpath
from .callbacks import Callback
from ..io.checkpoint import Checkpointer  # TODO(redesign): a loop hook
from .divergence import DivergenceGuard
from ..errors import ConfigError
from ..core.optimizers import GradientDescent, Optimizer, get_optimizer
from ..core.validation import (as_float_dtype, check_epsilon, check_positive_int, check_X, check_Y,
                         make_rng)

Array = np.ndarray


@dataclass
class History:
    """What training did.

    Attributes
    ----------
    loss : list of float
        Mean training cost per epoch (full batch: the cost before that epoch's update;
        minibatches: the mean of the batch costs).
    val_loss, val_accuracy : list of float
        Per epoch, when validation data was given.
    max_change : list of float
        Per epoch, the largest |ΔW| or |Δb| (the quantity compared with ε).
    epochs : int
        Epochs run.
    stop_reason : str
        Why training stopped.
    converged : bool
        True when it stopped because every change fell below ε.
    diverged : dict or None
        ``{"epoch", "batch", "what"}`` when the divergence guard stopped training.
    time_s : float
        Wall time of the loop.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    max_change: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = ""
    converged: bool = False
    time_s: float = 0.0
    best_epoch: int | None = None
    diverged: dict | None = None

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.6g}" if self.loss else "—"
        return (f"History(epochs={self.epochs}, loss={last}, "
                f"stop_reason={self.stop_reason!r}, time_s={self.time_s:.3f})")


class Trainer:
    """The state a callback sees: the network, the history, the optimizer, and a way to stop."""

    def __init__(self, net, history: History, optimizer):
        self.net, self.history, self.optimizer = net, history, optimizer
        self.epoch, self.batch = 0, 0
        self.stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        self.stop_reason = reason


def _overriding(callbacks, hook: str) -> list:
    """The callbacks that override ``hook``: the per-batch loop calls only those."""
    return [cb for cb in callbacks if getattr(type(cb), hook) is not getattr(Callback, hook)]


# NaN/inf is the divergence guard's to report, in one clear message, not NumPy's warnings
@np.errstate(over="ignore", invalid="ignore")
def fit(net, X, Y, *, optimizer: str = "gd", learning_rate: float = 0.5,
        max_epochs: int = 10_000, batch_size: int | None = None,
        epsilon: float | None = 1e-4, shuffle: bool = True,
        seed: int | None = None, callbacks: list[Callback] | tuple = (),
        validation_data: tuple[Array, Array] | None = None, on_divergence: str = "stop",
        checkpoint=None, checkpoint_every: int = 1, resume: bool = False,
        **optimizer_options) -> History:
    """Train ``net`` on ``(X, Y)``; returns the :class:`History` (also ``net.history``).

    Parameters
    ----------
    X : (m, n_inputs) array
        Used as it is (no copy) when it is row-major (C-contiguous) and of the network's float
        type; minibatch training of another layout (e.g. pandas' ``to_numpy()``, which is
        column-major) copies it once to rows, for the batch gathers.
    Y : (m, n_outputs) array, or (m,) for one output or for class labels 0…k−1
    optimizer : "gd" | "sgd" | "momentum" | "nesterov" | "adam"
    learning_rate : float in (0, 1]
        The lecture's α.
    max_epochs : int
    batch_size : int, optional
        Rows per step; None means the full batch.
    epsilon : float or None
        Stop when every |ΔW|, |Δb| over an epoch is below ε; None never stops early on it.
    shuffle : bool
        Shuffle the minibatch order each epoch.
    seed : int, optional
        Seeds the shuffling; by default the network's own generator is used.
    callbacks : list of Callback
    validation_data : (X_val, Y_val), optional
    on_divergence : "stop" | "raise"
        When a batch cost or (checked once an epoch) a weight becomes NaN/inf, training stops
        with the last finite weights (:mod:`mlplab.divergence`: the weights of the failing
        step when they are finite, else those from the start of the epoch) and records where
        in ``History.diverged`` and ``stop_reason`` ("stop"), or raises
        :class:`~mlplab.errors.DivergenceError` ("raise").
    checkpoint : path, optional
        Write a crash-safe checkpoint (:mod:`mlplab.checkpoint`) there every
        ``checkpoint_every`` epochs and at the end.
    resume : bool
        Continue from ``checkpoint``: same seed and settings give bit-identical weights.
    **optimizer_options
        ``momentum``, ``nesterov`` (momentum); ``beta_1``, ``beta_2``, ``epsilon`` is ε, so
        Adam's is not exposed here (construct ``mlplab.optimizers.Adam`` for it).
    """
    net._require_trainable()
    X = check_X(X, net.n_inputs)
    net.astype(as_float_dtype(X.dtype))
    Y = check_Y(Y, len(X), net.n_outputs, net.dtype)
    if not all(isinstance(cb, Callback) for cb in callbacks):
        raise ConfigError("callbacks must be mlplab.Callback instances (subclass Callback or "
                          "wrap a function in EpochHook)")
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ConfigError("validation_data must be a pair (X_val, Y_val)")
        Xv = check_X(validation_data[0], net.n_inputs, "validation X", dtype=net.dtype)
        val = (Xv, check_Y(validation_data[1], len(Xv), net.n_outputs, net.dtype))
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    epsilon = check_epsilon(epsilon)
    m = len(X)
    bs = m if batch_size is None else min(check_positive_int(batch_size, "batch_size"), m)
    if bs < m:  # minibatches are gathered (or sliced) by rows: rows must be contiguous. A
        # pandas frame's to_numpy() is column-major: its 200-row gathers took 260 µs, not 8
        X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)  # one copy, if any, per fit
    opt = get_optimizer(optimizer, learning_rate, **optimizer_options)
    rng = make_rng(seed) if seed is not None else net.rng

    if resume and checkpoint is None:
        raise ConfigError("resume=True needs checkpoint=PATH: the file to resume from")
    guard = DivergenceGuard(net, on_divergence)  # keeps the initial weights for the fast path
    if checkpoint is None and fastpath.applies(net, opt, m, bs, callbacks, val):
        history = fastpath.fit(net, X, Y, opt.learning_rate, max_epochs, epsilon, History())
        if guard.all_finite(history.loss):  # tiny networks: one compiled loop
            return history
        guard.restore()  # NaN/inf: rerun on the reference loop, which stops at that step
    history = History()
    trainer = Trainer(net, history, opt)
    saver, first_epoch = None, 1
    if checkpoint is not None:
        settings = {"optimizer": getattr(opt, "name", type(opt).__name__),
                    "learning_rate": opt.learning_rate, "batch_size": bs, "shuffle": shuffle,
                    "seed": seed, "options": {k: v for k, v in optimizer_options.items()}}
        saver = Checkpointer(checkpoint, checkpoint_every, settings, callbacks)
        first_epoch = saver.start(trainer, rng, resume)
    params, grads = net.params, net.grads
    # dense stacks keep W, b, dW, db in one buffer each: the update rule and the epoch's
    # bookkeeping run once over it instead of once per array (mlplab.parameters)
    flat = net.flat_parameters()
    if flat is not None:
        start_of_epoch = np.empty_like(flat.p)
        epoch_start = flat.like(start_of_epoch, params)
    step_kw = {"flat": flat} if flat is not None and type(opt).step is Optimizer.step else {}
    batch_begin = _overriding(callbacks, "on_batch_begin")
    on_gradients = _overriding(callbacks, "on_gradients")
    batch_end = _overriding(callbacks, "on_batch_end")
    # plain gradient descent with nobody reading the gradients: each layer's backward applies
    # W ← W − α ∂C/∂W itself, inside its weight-gradient product (mlplab._blas)
    fused = _fusable(net, opt, on_gradients)
    if fused:
        guard.grads = []  # the layers do not store ∂C/∂W then
    batch_X, batch_Y = {}, {}  # reused batch arrays, by batch size
    for cb in callbacks:
        cb.on_train_begin(trainer)
    if saver is not None:
        saver.restore_callbacks(trainer)  # EarlyStopping's counter and best weights
    start = time.perf_counter()
    for epoch in range(first_epoch, max_epochs + 1) if not history.stop_reason else ():
        trainer.epoch = epoch
        for cb in callbacks:
            cb.on_epoch_begin(trainer, epoch)
        if flat is not None:
            np.copyto(start_of_epoch, flat.p)
            before = epoch_start
        else:
            before = [p.copy() for p in params]
        order = rng.permutation(m) if shuffle and bs < m else None
        loss_sum, seen = 0.0, 0
        for trainer.batch, i in enumerate(range(0, m, bs)):
            if order is None:
                Xb, Yb = (X, Y) if bs == m else (X[i:i + bs], Y[i:i + bs])
            else:
                idx = order[i:i + bs]
                Xb, Yb = _rows(X, idx, batch_X), _rows(Y, idx, batch_Y)
            for cb in batch_begin:
                Xb, Yb = cb.on_batch_begin(trainer, Xb, Yb) or (Xb, Yb)
            batch_loss = net.forward_cost(Xb, Yb)                     # step 2
            if fused:  # steps 3–5 in one pass down the layers
                if guard.check_cost(trainer, batch_loss, before):  # NaN/inf: no step taken
                    break
                net._backprop(Yb, opt.learning_rate)  # α read each step: callbacks schedule it
                opt.t += 1
            else:
                net.backward(Yb)                                      # steps 3–4
                for cb in on_gradients:  # they see the gradients even of a NaN/inf cost
                    cb.on_gradients(trainer)
                if guard.check_cost(trainer, batch_loss, before):
                    break
                opt.step(params, grads, **step_kw)                    # step 5
            loss_sum, seen = loss_sum + batch_loss * len(Xb), seen + len(Xb)
            for cb in batch_end:
                cb.on_batch_end(trainer, {"loss": batch_loss})
        if flat is not None:
            change = float(np.max(np.abs(flat.p - start_of_epoch)))
        else:
            change = float(np.max([np.max(np.abs(p - b)) for p, b in zip(params, before)]))
        if not history.diverged and guard.check_epoch(trainer, change, before):
            change = float("nan")  # the guard restored the epoch's start: record the NaN
        logs = {"loss": loss_sum / seen if seen else float("nan"), "max_change": change}
        if val is not None:
            logs["val_loss"] = net.loss.value(net.forward(val[0]), val[1], net.layers[-1].Z)
            history.val_loss.append(logs["val_loss"])
            if net.output in ("sigmoid", "softmax"):
                logs["val_accuracy"] = net.score(*val)
                history.val_accuracy.append(logs["val_accuracy"])
        history.loss.append(logs["loss"])
        history.max_change.append(change)
        history.epochs = epoch
        for cb in callbacks:
            cb.on_epoch_end(trainer, epoch, logs)
        if not trainer.stop_reason and epsilon is not None and change < epsilon:   # step 6
            history.converged = True
            trainer.stop(f"converged: every |ΔW|, |Δb| < ε = {epsilon:g} "
                         f"after {epoch} epochs")
        if saver is not None:
            saver.epoch_end(trainer, rng, epoch, last=epoch == max_epochs)
        if trainer.stop_reason:
            break
    history.stop_reason = (trainer.stop_reason or history.stop_reason
                           or f"reached max_epochs = {max_epochs}")
    history.time_s = time.perf_counter() - start
    for cb in callbacks:
        cb.on_train_end(trainer)
    net.history = history
    return history


def _fusable(net, opt, on_gradients) -> bool:
    """Plain gradient descent on dense layers, with no callback reading or changing ∂C/∂W."""
    return (not on_gradients and isinstance(opt, GradientDescent)
            and type(opt).update is GradientDescent.update and type(opt).step is Optimizer.step
            and net.dense_only)


def _rows(A: Array, idx: Array, reused: dict[int, Array]) -> Array:
    """``A[idx]`` gathered into an array reused from batch to batch (overwritten by the next)."""
    out = reused.get(len(idx))
    if out is None:
        out = reused[len(idx)] = np.empty((len(idx), A.shape[1]), A.dtype)
    return np.take(A, idx, axis=0, out=out, mode="clip")  # idx comes from a permutation
