"""Callbacks: everything that watches training without living in the loop.

A callback overrides any of these hooks (all do nothing by default):

- ``on_train_begin(trainer)`` / ``on_train_end(trainer)``;
- ``on_epoch_begin(trainer, epoch)`` / ``on_epoch_end(trainer, epoch, logs)``;
- ``epoch_order(trainer)``: after ``on_epoch_begin``, the epoch's order of the rows (a NumPy
  permutation of the row indices, batches taken from it in turn) in place of the loop's own;
  None (the default) leaves it to the loop. The first callback giving one decides;
- ``on_batch_begin(trainer, Xb, Yb)``: may return a replacement ``(Xb, Yb)`` (data
  augmentation); return None to keep the batch;
- ``on_gradients(trainer)``: after backpropagation, before the update; may change the
  gradients in place (``trainer.net.grads``): clipping, L1/L2 penalties, monitoring;
- ``on_batch_end(trainer, logs)``: after the update (constraints such as max-norm).

``trainer`` exposes ``net``, ``history``, ``optimizer``, ``epoch``, ``batch`` (index within the
epoch) and ``stop(reason)``; epoch ``logs`` hold ``loss``, ``max_change``, and
``val_loss``/``val_accuracy`` when there is validation data. Per-batch hooks cost a Python call
per batch only for callbacks that override them.

A callback whose decisions depend on earlier epochs (EarlyStopping's patience counter and best
weights) also defines ``state_dict()`` and ``load_state_dict(trainer, state)``, so that a
checkpoint keeps it and a resumed run decides as the uninterrupted one would
(:mod:`mlplab.checkpoint`).
The state holds numbers, strings, None and lists of NumPy arrays: nothing is pickled.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from ..core.xp import place, to_numpy
from ..errors import ConfigError


class Callback:
    """Base class; every hook does nothing."""

    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None: ...

    def epoch_order(self, trainer):
        return None

    def on_batch_begin(self, trainer, Xb, Yb):
        return None

    def on_gradients(self, trainer) -> None: ...

    def on_batch_end(self, trainer, logs: dict) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, trainer) -> None: ...

    def state_dict(self) -> dict | None:
        """What a checkpoint keeps of this callback; None (the default): nothing."""
        return None

    def load_state_dict(self, trainer, state: dict) -> None:
        """Take back what :meth:`state_dict` returned (called after ``on_train_begin``); raise
        on a state that does not fit ``trainer.net``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook) is not getattr(Callback, hook)


class CallbackList:
    """The callbacks of one ``fit``, called hook by hook. The per-batch hooks call only the
    callbacks that override them (a Python call per batch costs microseconds)."""

    def __init__(self, callbacks=()):
        self.all = list(callbacks)
        self.batch_begin = [cb for cb in self.all if _overrides(cb, "on_batch_begin")]
        self.gradients = [cb for cb in self.all if _overrides(cb, "on_gradients")]
        self.batch_end = [cb for cb in self.all if _overrides(cb, "on_batch_end")]

    def on_train_begin(self, trainer) -> None:
        for cb in self.all:
            cb.on_train_begin(trainer)

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        for cb in self.all:
            cb.on_epoch_begin(trainer, epoch)

    def epoch_order(self, trainer):
        """The first order a callback gives for this epoch, else None."""
        for cb in self.all:
            order = cb.epoch_order(trainer)
            if order is not None:
                return order
        return None

    def on_batch_begin(self, trainer, Xb, Yb):
        for cb in self.batch_begin:
            Xb, Yb = cb.on_batch_begin(trainer, Xb, Yb) or (Xb, Yb)
        return Xb, Yb

    def on_gradients_caller(self, trainer):
        """A function of no arguments that runs every ``on_gradients`` (None when none does)."""
        if not self.gradients:
            return None
        return lambda: [cb.on_gradients(trainer) for cb in self.gradients] and None

    def on_batch_end(self, trainer, logs: dict) -> None:
        for cb in self.batch_end:
            cb.on_batch_end(trainer, logs)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        for cb in self.all:
            cb.on_epoch_end(trainer, epoch, logs)

    def on_train_end(self, trainer) -> None:
        for cb in self.all:
            cb.on_train_end(trainer)


class EpochHook(Callback):
    """Calls ``fn(epoch, logs)`` after every epoch (Keras's LambdaCallback)."""

    def __init__(self, fn: Callable[[int, dict], None]):
        self.fn = fn

    def on_epoch_end(self, trainer, epoch, logs):
        self.fn(epoch, logs)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite."""

    def on_epoch_end(self, trainer, epoch, logs):
        if not math.isfinite(logs["loss"]):
            trainer.stop(f"loss became {logs['loss']} at epoch {epoch}; "
                         "lower the learning rate")


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` the network ends with the weights of its best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"patience must be an integer ≥ 1, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best_weights = restore_best_weights
        self.mode = "max" if "accuracy" in monitor else "min"

    def on_train_begin(self, trainer):
        self.best, self.best_epoch, self.wait, self.best_params = None, 0, 0, None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r} but training logs only "
                              f"{sorted(logs)}; pass validation_data or monitor='loss'")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_params = [to_numpy(p).copy() for p in trainer.net.params]
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop(f"early stopping: {self.monitor} did not improve for {self.patience} "
                         f"epochs (best {self.best:.6g} at epoch {self.best_epoch})")

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_params": self.best_params}

    def load_state_dict(self, trainer, state: dict) -> None:
        best, best_params = state["best"], state["best_params"]
        params = [to_numpy(p) for p in trainer.net.params]
        if not (best is None or isinstance(best, float)):
            raise TypeError(f"best must be a number, got {best!r}")
        if type(state["best_epoch"]) is not int or type(state["wait"]) is not int:
            raise TypeError("best_epoch and wait must be integers")
        if best_params is not None and not (
                isinstance(best_params, list) and len(best_params) == len(params)
                and all(isinstance(a, np.ndarray) and a.shape == p.shape and a.dtype == p.dtype
                        and np.isfinite(a).all() for a, p in zip(best_params, params))):
            raise ValueError("best_params do not fit the network's parameters")
        self.best, self.best_epoch, self.wait = best, state["best_epoch"], state["wait"]
        self.best_params = best_params

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_params is not None:
            for p, best in zip(trainer.net.params, self.best_params):
                p[...] = place(p).asarray(best)
            trainer.history.best_epoch = self.best_epoch


class ProgressBar(Callback):
    """Training progress as Keras prints it: ``epoch 12/200``, the loss, the validation loss
    and accuracy when ``fit`` has validation data, and the time left (used by the CLI).

    On a terminal a rich progress bar redrawn in place; elsewhere (a log file, a pipe) about
    ten plain lines, as Keras does when it cannot redraw.
    """

    def __init__(self, max_epochs: int, console=None):
        self.max_epochs, self.console = max_epochs, console

    def on_train_begin(self, trainer):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.console = self.console or Console(stderr=True)
        self.start, self.done = time.perf_counter(), 0
        self.every = max(1, self.max_epochs // 10)
        self.progress = None
        if self.console.is_terminal:
            self.progress = Progress(TextColumn("epoch"), MofNCompleteColumn(),
                                     BarColumn(bar_width=20), TextColumn("{task.fields[logs]}"),
                                     console=self.console, transient=False)
            self.task = self.progress.add_task("train", total=self.max_epochs, logs="")
            self.progress.start()

    def _text(self, logs: dict, epoch: int, finished: bool) -> str:
        shown = [f"loss {logs['loss']:.4g}"]
        shown += [f"val_loss {logs['val_loss']:.4g}"] if "val_loss" in logs else []
        shown += [f"val_accuracy {logs['val_accuracy']:.4f}"] if "val_accuracy" in logs else []
        elapsed = time.perf_counter() - self.start
        if finished:
            shown.append(f"{elapsed:.1f} s")
        else:  # the mean epoch so far times the epochs left
            shown.append(f"ETA {elapsed / self.done * (self.max_epochs - epoch):.0f} s")
        return " · ".join(shown)

    def on_epoch_end(self, trainer, epoch, logs):
        self.done, self.logs = self.done + 1, logs
        if self.progress is not None:
            self.progress.update(self.task, completed=epoch,
                                 logs=self._text(logs, epoch, finished=False))
        elif epoch % self.every == 0 and epoch < self.max_epochs:
            self.console.print(f"epoch {epoch}/{self.max_epochs}  "
                               f"{self._text(logs, epoch, finished=False)}", highlight=False)

    def on_train_end(self, trainer):
        epochs = trainer.history.epochs
        text = self._text(self.logs, epochs, finished=True) if self.done else ""
        if self.progress is not None:
            self.progress.update(self.task, total=epochs, completed=epochs, logs=text)
            self.progress.stop()
        else:
            self.console.print(f"epoch {epochs}/{self.max_epochs}  {text}", highlight=False)
