"""``MLPRegressor``: scikit-learn's regressor interface over an :class:`mlplab.Network`."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import column_or_1d

from ..errors import ConfigError, DataError
from ._base import BaseMLP, validate_Xy
from ._losses import EXP, SklearnLoss


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multilayer perceptron regressor, a drop-in for scikit-learn's ``MLPRegressor``.

    Identity output units, one per target, and scikit-learn's squared error: its value
    (``loss_``) is ``½·mean((y − a)²)`` over the samples and the targets, its gradient that of
    the lecture's ``½‖a − y‖²`` averaged over the samples (see :mod:`mlplab.sklearn._losses`).
    ``loss='poisson'`` puts an ``exp`` output under half the Poisson deviance, as scikit-learn.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
    epsilon, n_iter_no_change, max_fun, init, change_tol, l1, dropout, device
        As in :class:`mlplab.MLPClassifier`; ``early_stopping`` scores the held-out part
        with R². ``device`` ('cpu', 'torch', 'cuda', 'cuda:N') is where the network trains.

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_,
    n_features_in_, feature_names_in_ : as in scikit-learn (``coefs_``/``intercepts_``
        assignable).
    net_ : mlplab.Network
    stop_reason_ : str

    Notes
    -----
    As in scikit-learn 1.9, ``partial_fit`` exists for ``solver='lbfgs'`` too: it runs
    L-BFGS from the current weights (up to ``max_iter`` iterations), not one epoch.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="auto", change_tol=None, l1=0.0, dropout=0.0, device="cpu"):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun, init=init,
            change_tol=change_tol, l1=l1, dropout=dropout, device=device)
        self.loss = loss

    def _check_loss(self) -> None:
        if self.loss not in ("squared_error", "poisson"):
            raise ConfigError(f"MLPRegressor: loss must be 'squared_error' or 'poisson', "
                              f"got {self.loss!r}")

    def _output_and_loss(self):
        """Output g, the network's own loss, scikit-learn's loss (see :mod:`._losses`)."""
        if self.loss == "poisson":  # no lecture cost to rest on: the network keeps this one
            self.out_activation_ = "exp"
            return EXP, SklearnLoss("poisson", None).as_loss(), "poisson"
        self.out_activation_ = "identity"
        return "identity", "mse", "squared_error"

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_Xy(self, X, y, y_numeric=True, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():  # log(y/a): training could only diverge
            raise DataError(f"MLPRegressor(loss='poisson'): y holds negative values (the least "
                            f"{y.min():g}), and the Poisson deviance needs y ≥ 0; use "
                            "loss='squared_error', or shift y")
        return X, y

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_targets), each sample weighted by ``sample_weight`` if given.
        Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, keeping the weights and the optimizer's state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """``a⁽ᴸ⁾``: (n_samples,) for one target, else (n_samples, n_targets)."""
        return self._predictions(self._forward(X))

    @staticmethod
    def _predictions(A: np.ndarray) -> np.ndarray:
        return A[:, 0] if A.shape[1] == 1 else A

    @staticmethod
    def _targets_of(Y: np.ndarray) -> np.ndarray:
        return Y[:, 0] if Y.shape[1] == 1 else Y

    @staticmethod
    def _score_predictions(y, pred, sample_weight) -> float:
        from sklearn.metrics import r2_score

        return r2_score(y, pred, sample_weight=sample_weight)
