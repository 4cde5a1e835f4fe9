"""Everything :func:`mlplab.train.loop.fit` settles before its first epoch: the options checked,
the data on the network's device, the optimizer, the generator of the batch order, the step that
computes (the core's, or an accelerator's), the callbacks, the divergence guard and the
checkpoint; and the per-epoch pieces the loop calls (the batch order, the epoch's record)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core import plugins
from ..core.losses import check_targets
from ..core.optimizers import get_optimizer
from ..core.step import Step
from ..core.validation import check_epsilon, check_positive_int, check_X, check_Y, make_rng
from ..core.xp import float_dtype, to_numpy
from ..errors import ConfigError
from .callbacks import Callback, CallbackList
from .divergence import DivergenceGuard
from .history import History, Trainer


@dataclass
class Run:
    """One call of ``fit``: its settings and the objects it trains with."""

    net: object
    X: object
    Y: object
    optimizer: object
    rng: object
    batch_size: int
    shuffle: bool
    max_epochs: int
    epsilon: float | None
    callbacks: CallbackList
    validation: tuple | None
    guard: DivergenceGuard
    checkpointer: object | None
    accelerate: bool | None
    resume: bool = False
    history: History = field(default_factory=History)
    trainer: Trainer | None = None

    @property
    def m(self) -> int:
        return self.X.shape[0]

    def step(self) -> Step:
        """The step that computes: an accelerator's when one applies, else the core's."""
        step = None
        for accelerator in plugins.accelerators(self.accelerate):
            step = accelerator.step(self)
            if step is not None:
                break
        else:
            step = Step(self.net, self.optimizer, self.X, self.Y, self.batch_size,
                        on_gradients=self.callbacks.on_gradients_caller(self.trainer),
                        diverged=self.guard.cost_checker(self.trainer))
        self.guard.step = step  # it restores weights through the step
        return step

    def order(self):
        """Step 1: this epoch's order of the rows: a callback's (``epoch_order``), else a
        seeded permutation (None: as they are)."""
        order = self.callbacks.epoch_order(self.trainer)
        if order is not None:
            return _checked_order(order, self.m)
        return self.rng.permutation(self.m) if self.batch_size < self.m and self.shuffle else None

    def begin(self) -> int:
        """Resume from the checkpoint if asked, start the callbacks; the first epoch to run."""
        first = 1
        if self.checkpointer is not None:
            first = self.checkpointer.start(self.trainer, self.rng, self.resume)
        self.callbacks.on_train_begin(self.trainer)
        if self.checkpointer is not None:
            self.checkpointer.restore_callbacks(self.trainer)
        if self.history.stop_reason:  # resumed from a run that had already stopped
            return self.max_epochs + 1
        return first

    def epoch_logs(self, loss: float, change: float) -> dict:
        """The epoch's record: its mean cost, its largest change, the validation scores."""
        net, history = self.net, self.history
        logs = {"loss": loss, "max_change": change}
        if self.validation is not None:
            Xv, Yv = self.validation
            logs["val_loss"] = float(net.loss.value(net.forward(Xv), Yv, net.layers[-1].Z))
            history.val_loss.append(logs["val_loss"])
            if net.output in ("sigmoid", "softmax"):
                logs["val_accuracy"] = net.score(to_numpy(Xv), to_numpy(Yv))
                history.val_accuracy.append(logs["val_accuracy"])
        history.loss.append(logs["loss"])
        history.max_change.append(change)
        return logs

    def converged(self, epoch: int, change: float) -> None:
        """Step 6: stop once every |ΔW|, |Δb| of the epoch is below ε."""
        if not self.trainer.stop_reason and self.epsilon is not None and change < self.epsilon:
            self.history.converged = True
            self.trainer.stop(f"converged: every |ΔW|, |Δb| < ε = {self.epsilon:g} "
                              f"after {epoch} epochs")

    def end(self, step: Step, started: float) -> History:
        history = self.history
        history.stop_reason = (self.trainer.stop_reason or history.stop_reason
                               or f"reached max_epochs = {self.max_epochs}")
        history.time_s = time.perf_counter() - started
        self.callbacks.on_train_end(self.trainer)
        self.net.history = history
        return history


def prepare(net, X, Y, *, optimizer="gd", learning_rate: float = 0.5, max_epochs: int = 10_000,
            batch_size: int | None = None, epsilon: float | None = 1e-4, shuffle: bool = True,
            seed: int | None = None, callbacks=(), validation_data=None,
            on_divergence: str = "stop", checkpoint=None, checkpoint_every: int = 1,
            resume: bool = False, accelerate: bool | None = None,
            **optimizer_options) -> Run:
    """Check every option of ``fit`` and build the :class:`Run`."""
    net.require_trainable()
    X = check_X(X, net.input_shape, where=net.place)
    net.astype(float_dtype(X))
    Y = check_Y(Y, X.shape[0], net.layers[-1].out_shape, net.dtype, net.place)
    check_targets(net.loss, Y)
    if not isinstance(callbacks, (list, tuple)) or \
            not all(isinstance(cb, Callback) for cb in callbacks):
        raise ConfigError("callbacks must be a list of mlplab.Callback instances (subclass "
                          "Callback or wrap a function in EpochHook)")
    m = X.shape[0]
    bs = m if batch_size is None else min(check_positive_int(batch_size, "batch_size"), m)
    if resume and checkpoint is None:
        raise ConfigError("resume=True needs checkpoint=PATH: the file to resume from")
    run = Run(net, X, Y, get_optimizer(optimizer, learning_rate, **optimizer_options),
              make_rng(seed) if seed is not None else net.rng, bs, bool(shuffle),
              check_positive_int(max_epochs, "max_epochs"), check_epsilon(epsilon),
              CallbackList(callbacks), _validation(net, validation_data),
              DivergenceGuard(net, on_divergence), None, accelerate, resume)
    run.trainer = Trainer(net, run.history, run.optimizer)
    if checkpoint is not None:
        settings = {"optimizer": getattr(run.optimizer, "name", type(run.optimizer).__name__),
                    "learning_rate": run.optimizer.learning_rate, "batch_size": bs,
                    "shuffle": shuffle, "seed": seed, "options": dict(optimizer_options)}
        run.checkpointer = _checkpointer(checkpoint, checkpoint_every, settings, callbacks)
    return run


def _validation(net, validation_data):
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ConfigError("validation_data must be a pair (X_val, Y_val)")
    Xv = check_X(validation_data[0], net.input_shape, "validation X", dtype=net.dtype,
                 where=net.place)
    Yv = check_Y(validation_data[1], Xv.shape[0], net.layers[-1].out_shape, net.dtype, net.place)
    check_targets(net.loss, Yv, "validation Y")
    return Xv, Yv


def _checkpointer(checkpoint, every: int, settings: dict, callbacks):
    """A checkpoint hook: the one given, or :mod:`mlplab.io.checkpoint`'s for a path."""
    if hasattr(checkpoint, "epoch_end"):
        return checkpoint
    if plugins.CHECKPOINTER is None:  # pragma: no cover - mlplab/__init__ imports mlplab.io
        raise ConfigError("checkpoints need mlplab.io; import mlplab first")
    return plugins.CHECKPOINTER(checkpoint, every, settings, callbacks)


def _checked_order(order, m: int):
    """A callback's ``epoch_order``: a permutation of the m row indices, else a clear error."""
    order = np.asarray(order)
    ok = order.shape == (m,) and order.dtype.kind in "iu" and (m == 0 or order.min() >= 0)
    if not (ok and np.all(np.bincount(order, minlength=m) == 1)):  # each row once, none past m
        raise ConfigError(f"a callback's epoch_order must be a permutation of the {m} row "
                          f"indices (0 … {m - 1}, each once), got shape {order.shape} of "
                          f"{order.dtype}: return np.random.permutation({m}) or the like")
    return order
