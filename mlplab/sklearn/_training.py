"""The pieces that make mlplab's training loop behave like scikit-learn's stochastic solvers.

Everything here is a :class:`~mlplab.train.callbacks.Callback` or a small helper; the loop is
:func:`mlplab.train.loop.fit`, unchanged (run with ``shuffle=False``: the order of the samples
is scikit-learn's, chosen here). With the same ``random_state`` the estimators draw the same
numbers as scikit-learn, in the same order: the initial weights, the early-stopping split, and
each epoch's order.

- :class:`SklearnGlorot`: scikit-learn's initialization, ``U(−r, r)`` for ``coefs_[l−1]``
  (shape ``(n_in, n_out)``, so ``W⁽ˡ⁾ = coefs_[l−1]ᵀ``) then for ``b⁽ˡ⁾``, layer by layer, with
  ``r = √(factor / (n_in + n_out))``, factor 2 for the logistic activation and 6 otherwise.
- :class:`SklearnBatches`: scikit-learn's batches and what its backpropagation adds to the
  lecture's cost. Each epoch the order is ``sample_idx = shuffle(sample_idx, random_state)``
  (each epoch shuffles the previous order); each batch is gathered in that order; its sample
  weights go to the loss (:mod:`._losses`); and ``alpha``: the batch loss gains
  ``½·alpha·Σ‖W⁽ˡ⁾‖² / Σs`` and ``∂C/∂W⁽ˡ⁾`` gains ``(alpha / Σs)·W⁽ˡ⁾``, where ``Σs`` is the
  sum of the batch's sample weights (its size without them): the last, shorter batch gets a
  larger penalty, exactly as in scikit-learn.
- :class:`SklearnStopping`: scikit-learn's stopping rule (``tol``, ``n_iter_no_change``,
  ``early_stopping`` on a held-out ``validation_fraction``), its learning-rate schedules
  (``invscaling``, ``adaptive``) and the bookkeeping behind ``loss_curve_``, ``best_loss_``,
  ``validation_scores_``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.layers import Dense
from ..train.callbacks import Callback
from ..train.regularizers import L2
from ._device import array_module, copy, to_device

Array = np.ndarray


class SklearnGlorot:
    """scikit-learn's initializer, drawing from its ``RandomState`` in scikit-learn's order."""

    def __init__(self, factor: float, random_state: np.random.RandomState):
        self.factor, self.random_state = factor, random_state

    def __call__(self, n_in: int, n_out: int, rng=None) -> tuple[Array, Array]:
        r = np.sqrt(self.factor / (n_in + n_out))
        coef = self.random_state.uniform(-r, r, (n_in, n_out))  # scikit-learn's coefs_[l − 1]
        return coef.T, self.random_state.uniform(-r, r, n_out)


def squared_weights(net):
    """``Σ_l ‖W⁽ˡ⁾‖²`` (biases excluded, as in scikit-learn's penalty): a float on NumPy, a
    0-d array on another device (read once an epoch, with the epoch's loss)."""
    total = 0.0
    for layer in net.layers:
        if isinstance(layer, Dense):
            W = layer.W
            if isinstance(W, np.ndarray):
                w = W.reshape(-1, order="A")  # a view in W's own layout: one BLAS dot
                total += float(w @ w)
            else:
                total = total + array_module(W).sum(W * W)
    return total


class SklearnBatches(L2):
    """scikit-learn's batches: their order, their sample weights, and ``alpha``.

    Parameters
    ----------
    X, Y : (m, n_in) and (m, n_out) arrays
        The training data, as the loop gets it. With ``shuffle`` the loop takes its batches in
        the order scikit-learn would (:meth:`epoch_order`; on a device this callback hands
        it each batch instead).
    sample_weight : (m,) array or None
    batch_size : int
    shuffle : bool
    random_state : numpy.random.RandomState
        The estimator's, shared with the initialization and the early-stopping split.
    loss : SklearnLoss
        Receives each batch's sample weights.
    alpha : float
    adam_epsilon : float or None
        For solver='adam': scikit-learn's ``epsilon``. Its step ``lr_t·m/(√v + ε)`` with
        ``lr_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)`` is mlplab's textbook Adam step with
        ``ε/√(1 − β₂ᵗ)`` in place of ``ε``, set here before each step.
    where : mlplab.core.xp.Place, optional
        The network's device when it is not NumPy's: ``X``, ``Y`` and the sample weights are
        moved there once (train on ``self.X``, ``self.Y``), each epoch's order once an epoch,
        and every batch is gathered there. The order and ``Σs`` stay on the host.
    """

    def __init__(self, X, Y, sample_weight, batch_size: int, shuffle: bool, random_state,
                 loss, alpha: float, adam_epsilon: float | None = None, where=None):
        super().__init__(alpha)
        self.alpha, self.adam_epsilon = float(alpha), adam_epsilon
        self.where = None if where is None or where.is_numpy else where
        # batches are gathered by rows: from a column-major array (pandas' to_numpy()) each
        # gather reads across columns, 30× slower; one copy per fit instead
        if shuffle or self.where is not None:
            X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
        self.X, self.Y, self._weights = X, Y, sample_weight
        if self.where is not None:  # the one move of the data to the device in a fit
            self.X, self.Y, self._weights = (to_device(a, self.where)
                                             for a in (X, Y, sample_weight))
        self.sample_weight = sample_weight
        self.batch_size, self.shuffle, self.random_state = batch_size, shuffle, random_state
        self.loss = loss
        self.order = np.arange(len(X))
        self.penalty_sum = 0.0
        self._rows = None
        # Σ‖W‖² as the last update left it, where the accelerated step summed it on the way
        # (mlplab.accel.dense); the next batch takes it (with alpha > 0), else computes it
        self.squares_after_step = None

    def on_epoch_begin(self, trainer, epoch):
        if self.shuffle:  # scikit-learn shuffles the previous epoch's order, full batch or not:
            # sklearn.utils.shuffle's draw, without its parameter checks (60 µs an epoch)
            self.order = self.order[self.random_state.permutation(len(self.order))]
        if self.where is not None:  # one copy of the order to the device an epoch
            self._rows = self.where.asarray(self.order)
        self.penalty_sum = 0.0
        self.squares_after_step = None  # whatever ran between epochs: computed anew

    def epoch_order(self, trainer):
        """The epoch's order on NumPy, where the loop's step gathers each batch (the dense
        accelerator into arrays it reuses, on every thread of a shared pool:
        ``mlplab.accel.fused.for_run``)."""
        return self.order if self.shuffle and self.where is None else None

    def on_batch_begin(self, trainer, Xb, Yb):
        start, m = trainer.batch * self.batch_size, Xb.shape[0]
        rows = self.order[start:start + m]
        weights = None if self.sample_weight is None else self.sample_weight[rows]
        Xb, Yb, on_data = self._gathered(rows, start, Xb, Yb, weights)
        self.loss.use_weights(on_data)
        opt = trainer.optimizer
        if self.adam_epsilon is not None:
            eps = self.adam_epsilon / np.sqrt(1 - opt.beta_2 ** (opt.t + 1))
            # NumPy's float64 scalar, as ever, on the CPU (float32 Adam's numbers depend on
            # it); a Python float elsewhere (the array API takes no NumPy scalars)
            opt.eps = eps if self.where is None else float(eps)
        total = m if weights is None else float(weights.sum())  # Σs, from the host's weights
        self.lam = self.alpha / total
        if self.alpha:  # the batch's ½·alpha·Σ‖W‖²/Σs, weighted by its size as its loss is
            squares, self.squares_after_step = self.squares_after_step, None
            if squares is None:
                squares = squared_weights(trainer.net)
            self.penalty_sum += 0.5 * self.alpha * squares * m / total
        return (Xb, Yb) if self.shuffle and self.where is not None else None

    def _gathered(self, rows, start: int, Xb, Yb, weights):
        """The batch and its sample weights where the data lives: on NumPy the loop gathered
        the batch; a device gathers the same rows from the epoch's order copied there."""
        if self.where is None:
            return Xb, Yb, weights
        xp, idx = self.where.xp, self._rows[start:start + len(rows)]
        if self.shuffle:
            Xb, Yb = xp.take(self.X, idx, axis=0), xp.take(self.Y, idx, axis=0)
        return Xb, Yb, None if weights is None else xp.take(self._weights, idx, axis=0)


class SklearnStopping(Callback):
    """scikit-learn's end-of-epoch logic for the estimator ``est`` (which receives the results).

    Parameters
    ----------
    est : the estimator being fitted; its ``loss_``, ``loss_curve_``, ``best_loss_``,
        ``validation_scores_``, ``best_validation_score_``, ``t_`` and
        ``_no_improvement_count`` are updated in place, as scikit-learn does.
    n_samples : int
    batches : SklearnBatches
        Its per-epoch penalty sum turns the mean data cost into scikit-learn's loss.
    validation : (X_val, y_val, sample_weight_val) or None
        Held-out data for ``early_stopping``.
    stop : bool
        False for ``partial_fit``: record, never stop.
    """

    def __init__(self, est, n_samples: int, batches: SklearnBatches, validation=None,
                 stop: bool = True):
        self.est, self.validation, self.allow_stop = est, validation, stop
        self.n_samples, self.batches = n_samples, batches
        self.stopped = False  # by scikit-learn's rule (then no ConvergenceWarning)

    def on_epoch_end(self, trainer, epoch, logs):
        est = self.est
        diverged = trainer.history.diverged is not None  # scikit-learn would record NaN
        loss = float("nan") if diverged else float(logs["loss"] + self.batches.penalty_sum
                                                    / self.n_samples)
        est.loss_ = loss
        est.loss_curve_.append(loss)
        est.t_ += self.n_samples
        if est.verbose:  # scikit-learn's progress lines
            print(f"Iteration {epoch}, loss = {loss:.8f}")
        if self.validation is not None:
            self._record_validation(trainer, float("nan") if diverged else
                                    est._validation_score(*self.validation))
        else:
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        opt = trainer.optimizer
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            opt.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if diverged or not self.allow_stop or est._no_improvement_count <= est.n_iter_no_change:
            return
        what = "Validation score" if self.validation is not None else "Training loss"
        message = (f"{what} did not improve more than tol={est.tol:f} for "
                   f"{est.n_iter_no_change} consecutive epochs.")
        if est.solver == "sgd" and est.learning_rate == "adaptive" and opt.learning_rate > 1e-6:
            opt.learning_rate /= 5.0
            est._no_improvement_count = 0
            if est.verbose:
                print(f"{message} Setting learning rate to {opt.learning_rate:f}")
            return
        trainer.stop(message)
        self.stopped = True
        if est.verbose:
            print(f"{message} Stopping.")

    def _record_validation(self, trainer, score: float) -> None:
        # NaN compares false both ways, as in scikit-learn: it resets the count, never wins
        est = self.est
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_params = [copy(p) for p in trainer.net.params]


def batch_size(est, m: int) -> int:
    """The batch size scikit-learn uses for ``m`` samples ('gd': mlplab's full batch)."""
    if est.solver == "gd":
        return m
    if est.batch_size == "auto":
        return min(200, m)
    if est.batch_size > m:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                      "going to be clipped")
    return min(est.batch_size, m)


def validation_split(est, X, Y, sample_weight, rs):
    """scikit-learn's held-out part for early stopping (stratified for one output)."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import train_test_split

    stratify = Y if is_classifier(est) and Y.shape[1] == 1 else None
    arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
    parts = train_test_split(*arrays, random_state=rs, test_size=est.validation_fraction,
                             stratify=stratify)
    X, Xv, Y, Yv = parts[:4]
    sw, swv = parts[4:] if sample_weight is not None else (None, None)
    if len(Xv) < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return X, Y, sw, (Xv, est._targets_of(Yv), swv)
