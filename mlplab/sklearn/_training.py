"""The pieces that make mlplab's training loop behave like scikit-learn's MLP solvers.

Everything here is a :class:`~mlplab.callbacks.Callback` or a small helper: the loop itself is
:func:`mlplab.training.fit`, unchanged.

- :class:`BatchL2`: scikit-learn's ``alpha``. Its batch loss is
  ``C + ½·alpha·Σ‖W⁽ˡ⁾‖² / m_batch``, so the gradient gains ``(alpha / m_batch)·W⁽ˡ⁾``: an
  :class:`~mlplab.regularizers.L2` whose λ is re-set to ``alpha / m_batch`` before every batch
  (the last, shorter batch gets a larger λ, exactly as in scikit-learn).
- :class:`SklearnStopping`: scikit-learn's stopping rule (``tol``, ``n_iter_no_change``,
  ``early_stopping`` on a held-out ``validation_fraction``), its learning-rate schedules
  (``invscaling``, ``adaptive``) and the bookkeeping behind ``loss_curve_``, ``best_loss_``,
  ``validation_scores_``.
- :class:`GlorotUniform`: scikit-learn's initialization, ``U(−r, r)`` for W and b with
  ``r = √(factor / (n_in + n_out))``, factor 2 for the logistic activation and 6 otherwise.
"""

from __future__ import annotations

import numpy as np

from ..train.callbacks import Callback
from ..core.layers import Dense
from ..train.regularizers import L2


class GlorotUniform:
    """scikit-learn's initializer (picklable, unlike a closure): W (n_out, n_in), b (n_out,)."""

    def __init__(self, factor: float = 6.0):
        self.factor = factor

    def __call__(self, n_in: int, n_out: int, rng: np.random.Generator):
        r = np.sqrt(self.factor / (n_in + n_out))
        return rng.uniform(-r, r, (n_out, n_in)), rng.uniform(-r, r, n_out)


class BatchL2(L2):
    """scikit-learn's ``alpha``: adds ``(alpha / m_batch)·W`` to ``∂C/∂W`` of each batch."""

    def __init__(self, alpha: float):
        super().__init__(alpha)
        self.alpha = float(alpha)

    def on_epoch_begin(self, trainer, epoch):
        self.penalty_sum = 0.0

    def on_batch_begin(self, trainer, Xb, Yb):
        self.lam = self.alpha / len(Xb)
        # the batch's penalty ½·alpha·Σ‖W‖²/m_batch, weighted by m_batch as the batch loss is
        self.penalty_sum += 0.5 * self.alpha * squared_weights(trainer.net)
        return None


def squared_weights(net) -> float:
    """``Σ_l ‖W⁽ˡ⁾‖²`` (biases excluded, as in scikit-learn's penalty)."""
    return sum(float(np.sum(layer.W * layer.W)) for layer in net.layers if isinstance(layer, Dense))


class SklearnStopping(Callback):
    """scikit-learn's end-of-epoch logic for the estimator ``est`` (which receives the results).

    Parameters
    ----------
    est : the estimator being fitted; its ``loss_curve_``, ``best_loss_``,
        ``validation_scores_``, ``best_validation_score_`` and ``_no_improvement_count`` are
        updated in place, as scikit-learn does.
    n_samples : int
    penalty : BatchL2 or None
        Its per-epoch penalty sum turns the mean data cost into scikit-learn's loss.
    validation : (X_val, y_val) or None
        Held-out data for ``early_stopping`` (scored with ``est.score``).
    stop : bool
        False for ``partial_fit``: record, never stop.
    """

    def __init__(self, est, n_samples: int, penalty: BatchL2 | None = None, validation=None,
                 stop: bool = True):
        self.est, self.validation, self.allow_stop = est, validation, stop
        self.n_samples, self.penalty = n_samples, penalty

    def on_epoch_end(self, trainer, epoch, logs):
        est = self.est
        # scikit-learn's epoch loss: the batch-size-weighted mean of C + ½·alpha·Σ‖W‖²/m_batch
        loss = logs["loss"]
        if self.penalty is not None:
            loss += self.penalty.penalty_sum / self.n_samples
        est.loss_ = loss
        est.loss_curve_.append(loss)
        est.t_ += self.n_samples
        if self.validation is not None:
            score = est.score(*self.validation)
            est.validation_scores_.append(score)
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_params = [p.copy() for p in trainer.net.params]
        else:
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        if est.verbose:  # scikit-learn's progress lines
            print(f"Iteration {epoch}, loss = {loss:.8f}")
            if self.validation is not None:
                print(f"Validation score: {est.validation_scores_[-1]:f}")
        opt = trainer.optimizer
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            opt.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if not self.allow_stop or est._no_improvement_count <= est.n_iter_no_change:
            return
        what = ("validation score" if self.validation is not None else "training loss")
        if est.solver == "sgd" and est.learning_rate == "adaptive" and opt.learning_rate > 1e-6:
            opt.learning_rate /= 5.0
            est._no_improvement_count = 0
            return
        trainer.stop(f"{what} did not improve by more than tol={est.tol} for "
                     f"{est.n_iter_no_change} consecutive epochs")
        if est.verbose:
            print(f"{trainer.stop_reason[0].upper()}{trainer.stop_reason[1:]}. Stopping.")
