"""One browser tab's run: its data, its network and its training, all on the real engine.

Training goes through :func:`mlplab.fit`, a chunk of epochs at a time with a persistent
optimizer (so momentum and Adam keep their state between chunks); L1/L2 are the regularizer
callbacks, dropout the Dropout layer. The one rule not in ``fit`` is the perceptron's, for a
single step layer, whose derivative is 0 so backpropagation cannot train it.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from ...train.callbacks import Callback
from ...errors import ConfigError, DataError
from ...io.model import save
from ...core.layers import Dense, Dropout, Input
from ...core.network import Network
from ...core.optimizers import get_optimizer
from ...train.regularizers import L1, L2
from ...core.trace import trace
from ...train.loop import History, fit
from ...core.validation import check_learning_rate
from . import views
from .config import PlaygroundConfig, PointEdit, WeightEdit
from .data import Data, features, generate, split

FRAME_BUDGET_S = 0.03  # training time between two frames: ≈ 20 frames per second

# the status line is a key and its parameters (frames carry both; the page shows i18n.json's
# "status_<key>"), worded in English here, the one place: the frames' "status", Session.status
STATUS_TEXT = {
    "ready": "ready",
    "ready_note": "ready · {note}",
    "training": "training",
    "paused": "paused at epoch {epoch}",
    "stopped": "stopped after {epoch} epochs",
    "diverged": "diverged (NaN/inf weights; restored to epoch {epoch}): lower the learning rate",
}


def _go_on() -> None:
    """The default ``hold``: never wait."""


class _Watch(Callback):
    """Stops a chunk at its time budget; calls ``hold()`` between batches (where the server
    parks a play loop while another tab's request runs); averages ‖∂C/∂W⁽ˡ⁾‖ over the
    chunk's batches."""

    def __init__(self, deadline: float, dense: list[Dense], hold: Callable[[], None]):
        self.deadline, self.dense, self.hold = deadline, dense, hold
        self.norms, self.batches = np.zeros(len(dense)), 0

    def on_gradients(self, trainer):
        self.norms += [np.linalg.norm(layer.dW) for layer in self.dense]
        self.batches += 1

    def on_batch_end(self, trainer, logs):
        self.hold()

    def on_epoch_end(self, trainer, epoch, logs):
        if time.perf_counter() > self.deadline:
            trainer.stop("frame budget")


class Session:
    """A playground run. Every public method holds ``lock``: one tab, one thing at a time."""

    def __init__(self, cfg: PlaygroundConfig):
        self.lock = threading.RLock()
        self.frames = 0  # frames made so far: each frame's "seq", so a page drops a late one
        self.last_seen = time.monotonic()
        self.playing = False
        self.view = {"warp_layer": 1}
        self.configure(cfg, regenerate=True)

    @contextmanager
    def _transaction(self):
        """A change that fails leaves the session exactly as it was (every public edit: no
        half-applied configuration or data breaks the calls that follow)."""
        with self.lock:
            before = dict(self.__dict__)
            try:
                yield
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(before)
                raise

    # ----------------------------------------------------------------- set up
    def configure(self, cfg: PlaygroundConfig, regenerate: bool | None = None) -> None:
        """Apply a configuration: new data and network when they changed, else keep training."""
        with self._transaction():
            old = getattr(self, "cfg", None)
            net_keys = ("dataset", "n_points", "noise", "train_ratio", "seed", "features",
                        "hidden", "activations", "output", "loss", "regularization")
            data, note = self._data_for(old, cfg, regenerate)
            self._check_task(cfg, data)  # refuse before changing anything
            self.data = data
            rebuild = (old is None or regenerate or any(getattr(old, k) != getattr(cfg, k)
                                                        for k in net_keys)
                       or (cfg.regularization == "dropout" and old.reg_rate != cfg.reg_rate))
            self.cfg = cfg
            if rebuild:
                self.reset()
                if note:
                    self._set_status("ready_note", note=note)
            else:
                self.optimizer = self._optimizer() if old.optimizer != cfg.optimizer else self.optimizer
                self.optimizer.learning_rate = check_learning_rate(cfg.learning_rate)

    def _data_for(self, old, cfg: PlaygroundConfig, regenerate) -> tuple[Data, str]:
        """The data for ``cfg``, and a note for the user when their own points were kept.

        Another data set replaces everything; the user's own points (uploaded or edited) are
        kept when only the generator's settings change (number of points, noise, seed: they
        apply to generated data only), and re-split when the training share changes.
        """
        if regenerate or old is None or old.dataset != cfg.dataset:
            return generate(cfg), ""
        changed = [k for k in ("n_points", "noise", "seed", "train_ratio")
                   if getattr(old, k) != getattr(cfg, k)]
        if not changed:
            return self.data, ""
        d = self.data
        if d.source not in ("csv", "edited"):
            return generate(cfg), ""
        if "train_ratio" in changed:
            P, y = np.vstack([d.P_train, d.P_test]), np.concatenate([d.y_train, d.y_test])
            d = dataclasses.replace(split(P, y, d.classes, cfg, d.source), sigma=d.sigma)
        names = {"n_points": "the number of points", "noise": "the noise", "seed": "the seed"}
        ignored = [names[k] for k in changed if k in names]
        note = (f"your points are kept: {' and '.join(ignored)} only change{'s' * (len(ignored) == 1)}"
                " generated data (choose a data set to replace your points)" if ignored else "")
        return d, note

    def _check_task(self, cfg: PlaygroundConfig, data: Data) -> None:
        if data.kind == "regression" and cfg.loss == "cross_entropy":
            raise ConfigError("these points have real-valued targets (regression): use loss 'mse'")
        if cfg.output == "step" and (cfg.hidden or data.classes != 2):
            raise ConfigError("the step output (perceptron rule) needs no hidden layer and two classes")

    def reset(self) -> None:
        """Fresh weights from the seed; epoch 0."""
        with self._transaction():
            cfg, data = self.cfg, self.data
            rng = np.random.default_rng(cfg.seed)
            n_out = data.classes if data.classes > 2 else 1
            if cfg.output == "step":
                out = "step"
            elif data.kind == "regression":
                out = "identity"
            else:
                out = "softmax" if n_out > 1 and cfg.loss == "cross_entropy" else "sigmoid"
            layers, n_in = [Input(len(cfg.features))], len(cfg.features)
            for n, act in zip(cfg.hidden, cfg.activations):
                layers.append(Dense(n_in, n, act, "xavier_normal", rng))
                if cfg.regularization == "dropout" and cfg.reg_rate > 0:
                    layers.append(Dropout(n, cfg.reg_rate, seed=rng))
                n_in = n
            layers.append(Dense(n_in, n_out, out, "xavier_normal", rng))
            # the perceptron's step output pairs with MSE (½ per misclassified point)
            self.loss_name = "mse" if cfg.output == "step" else cfg.loss
            self.net = Network.from_layers(layers, loss=self.loss_name, seed=rng)
            self.dense = [layer for layer in layers if isinstance(layer, Dense)]
            self.optimizer = self._optimizer()
            self.epoch, self.train_loss, self.test_loss = 0, [], []
            self.grad_norms = [0.0] * len(self.dense)
            self._set_status("ready")
            self.playing = False
            self._refresh_inputs()
            self._record_losses()

    def _optimizer(self):
        return get_optimizer(self.cfg.optimizer, self.cfg.learning_rate)

    def _refresh_inputs(self) -> None:
        """The network's inputs a⁽⁰⁾ (chosen features) and targets for both subsets."""
        d, names = self.data, self.cfg.features
        self.X_train, self.X_test = features(d.P_train, names), features(d.P_test, names)
        self.Y_train, self.Y_test = self._targets(d.y_train), self._targets(d.y_test)

    def _targets(self, y) -> np.ndarray:
        if self.data.classes > 2:
            return np.eye(self.data.classes)[np.asarray(y, dtype=np.int64)]
        return np.asarray(y, dtype=np.float64).reshape(-1, 1)

    def _record_losses(self, replace: bool = False) -> None:
        """Both costs of the current weights on the current data: appended for a new epoch,
        or (``replace``) in place of this epoch's, after a weight or a point was edited."""
        if replace:
            del self.train_loss[-1:], self.test_loss[-1:]
        self.train_loss.append(self._cost(self.X_train, self.Y_train))
        self.test_loss.append(self._cost(self.X_test, self.Y_test) if len(self.X_test) else math.nan)

    def _cost(self, X, Y) -> float:
        out = self.dense[-1]
        return float(self.net.loss.value(self.net.forward(X), Y, out.Z))

    # ----------------------------------------------------------------- training
    def advance(self, epochs: int | None = None, budget_s: float = FRAME_BUDGET_S,
                hold: Callable[[], None] = _go_on) -> None:
        """Train ``epochs`` epochs, or as many as fit in ``budget_s``; stop at ``stop_epochs``.

        ``hold()`` is called between batches (or perceptron samples); it may block.
        """
        with self.lock:
            left = (self.cfg.stop_epochs - self.epoch) if self.cfg.stop_epochs else 10**9
            n = min(epochs or 10**9, left)
            if n <= 0:
                self.playing = False
                self._set_status("stopped", epoch=self.epoch)
                return
            before, recorded = [p.copy() for p in self.net.params], len(self.train_loss)
            deadline = time.perf_counter() + (math.inf if epochs else budget_s)
            if self.cfg.output == "step":
                done = self._perceptron_epochs(n, deadline, hold)
            else:
                done = self._fit(n, deadline, hold)
            if done is None or not all(np.isfinite(p).all() for p in self.net.params):
                self._restore(before, recorded)
                return
            self.epoch += done
            if self.playing:
                self._set_status("training")
            else:
                self._set_status("paused", epoch=self.epoch)
            if self.cfg.stop_epochs and self.epoch >= self.cfg.stop_epochs:
                self.playing = False
                self._set_status("stopped", epoch=self.epoch)

    def _restore(self, before: list[np.ndarray], recorded: int) -> None:
        """A diverged chunk: its weights, losses and epochs are dropped, the weights from
        before it come back, and the optimizer starts afresh (its momentum or Adam moments
        hold the blow-up), so a lower learning rate trains again from there."""
        for p, b in zip(self.net.params, before):
            np.copyto(p, b)
        del self.train_loss[recorded:], self.test_loss[recorded:]
        self.optimizer = self._optimizer()
        self.playing = False
        self._set_status("diverged", epoch=self.epoch)

    def pause(self) -> None:
        with self.lock:
            self.playing = False
            self._set_status("paused", epoch=self.epoch)

    def _set_status(self, key: str, **params) -> None:
        """The status line: its key, its parameters, and its English wording (``status``)."""
        self.status_key, self.status_params = key, params
        self.status = STATUS_TEXT[key].format(**params)

    def _fit(self, n: int, deadline: float, hold: Callable[[], None]) -> int | None:
        """Epochs done by :func:`mlplab.fit`, or None when it diverged."""
        cfg = self.cfg
        watch = _Watch(deadline, self.dense, hold)
        callbacks = [watch]
        if cfg.regularization in ("l1", "l2") and cfg.reg_rate > 0:
            callbacks.append((L1 if cfg.regularization == "l1" else L2)(cfg.reg_rate))
        val = (self.X_test, self.Y_test) if len(self.X_test) else None
        history = fit(self.net, self.X_train, self.Y_train, optimizer=self.optimizer,
                      max_epochs=n, batch_size=cfg.batch_size, epsilon=None,
                      callbacks=callbacks, validation_data=val)
        if history.diverged:  # fit restored the last finite weights: no good either
            return None
        # History.loss is the mean batch cost during each epoch (with dropout active)
        self.train_loss.extend(history.loss)
        self.test_loss.extend(history.val_loss or [math.nan] * history.epochs)
        self.grad_norms = (watch.norms / max(watch.batches, 1)).tolist()
        return history.epochs

    def _perceptron_epochs(self, n: int, deadline: float, hold: Callable[[], None]) -> int:
        """The lecture's perceptron rule, sample by sample: ``w ← w + η t x`` when t·z ≤ 0."""
        layer, eta = self.dense[-1], self.cfg.learning_rate
        T = 2 * self.Y_train - 1  # targets as ±1
        done = 0
        while done < n and (done == 0 or time.perf_counter() < deadline):
            for k in self.net.rng.permutation(len(self.X_train)):
                hold()
                x, t = self.X_train[k], T[k]
                wrong = t * (layer.W @ x + layer.b) <= 0
                layer.W[wrong] += eta * t[wrong, None] * x
                layer.b[wrong] += eta * t[wrong]
            done += 1
            self._record_losses()
        return done

    # ----------------------------------------------------------------- edits
    def edit_weight(self, edit: WeightEdit) -> None:
        with self.lock:
            if edit.layer > len(self.dense):
                raise ConfigError(f"layer {edit.layer} does not exist: this network has layers "
                                  f"1 to {len(self.dense)}")
            layer = self.dense[edit.layer - 1]
            if edit.i >= layer.n_out or (edit.j is not None and edit.j >= layer.n_in):
                raise ConfigError(f"W⁽{edit.layer}⁾ has shape {layer.W.shape}: no entry "
                                  f"({edit.i}, {edit.j})")
            if edit.j is None:
                layer.b[edit.i] = edit.value
            else:
                layer.W[edit.i, edit.j] = edit.value
            self._record_losses(replace=True)

    def edit_points(self, edit: PointEdit) -> None:
        with self._transaction():
            d = self.data = dataclasses.replace(self.data)  # a copy: the old data stays whole
            if edit.action == "add":
                if d.classes and (edit.label not in range(d.classes)):
                    raise DataError(f"class label must be one of 0..{d.classes - 1}, got {edit.label:g}")
                label = int(edit.label) if d.classes else edit.label
                P, y = (d.P_train, d.y_train) if edit.subset == "train" else (d.P_test, d.y_test)
                P, y = np.vstack([P, [[edit.x1, edit.x2]]]), np.append(y, label)
                if edit.subset == "train":
                    d.P_train, d.y_train = P, y
                else:
                    d.P_test, d.y_test = P, y
            else:
                dist = [np.hypot(*(Pk - [edit.x1, edit.x2]).T) for Pk in (d.P_train, d.P_test)]
                which = int(np.argmin([dk.min() if len(dk) else np.inf for dk in dist]))
                k = int(np.argmin(dist[which]))
                if which == 0 and len(d.P_train) <= 2:
                    raise DataError("the training set needs at least 2 points")
                if which == 0:
                    d.P_train, d.y_train = np.delete(d.P_train, k, 0), np.delete(d.y_train, k)
                else:
                    d.P_test, d.y_test = np.delete(d.P_test, k, 0), np.delete(d.y_test, k)
            d.source = "edited"
            self._refresh_inputs()
            self._record_losses(replace=True)

    def set_data(self, data: Data) -> None:
        with self._transaction():
            self._check_task(self.cfg, data)
            self.data = data
            self.reset()

    # ----------------------------------------------------------------- views
    def frame(self) -> dict:
        with self.lock:
            self.frames += 1
            return {**views.frame(self), "seq": self.frames}

    def trace_point(self, subset: str, index: int) -> dict:
        with self.lock:
            X, Y = (self.X_train, self.Y_train) if subset == "train" else (self.X_test, self.Y_test)
            if index >= len(X):
                raise DataError(f"the {subset} set has {len(X)} points; index {index} is out of range")
            net = self.plain_network()
            if self.cfg.output == "step":
                z = self.dense[-1].W @ X[index] + self.dense[-1].b
                return {"cost": None, "note": "a step neuron has no gradient: the perceptron "
                        "rule updates w ← w + η t x when it misclassifies x",
                        "steps": [{"symbol": "a⁽⁰⁾", "formula": "x", "value": X[index].tolist()},
                                  {"symbol": "z⁽¹⁾", "formula": "W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾", "value": z.tolist()},
                                  {"symbol": "a⁽¹⁾", "formula": "step(z⁽¹⁾)", "value": (z > 0).astype(float).tolist()}]}
            return trace(net, X[index], Y[index], learning_rate=self.cfg.learning_rate).as_dict()

    def plain_network(self) -> Network:
        """The network without dropout (off at inference): what the trace and the file show."""
        net = Network.from_layers([self.net.layers[0], *self.dense], loss=self.loss_name,
                                  seed=self.cfg.seed)
        net.init = "xavier_normal"  # how reset() drew the weights (mlplab.load needs a known name)
        return net

    def export(self) -> bytes:
        """The trained network as an mlplab model file (safetensors), for :func:`mlplab.load`."""
        with self.lock:
            net = self.plain_network()
            net.history = History(loss=self.train_loss[-1:], epochs=self.epoch,
                                  stop_reason="trained in the mlplab playground")
            extra = {"playground": {"features": list(self.cfg.features),
                                    "config": self.cfg.model_dump(), "data": self.data.source}}
            with tempfile.TemporaryDirectory() as folder:
                return save(net, Path(folder) / "model.safetensors", extra=extra).read_bytes()
