"""``MLPRegressor``: scikit-learn's regressor interface over an :class:`mlplab.Network`."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.model_selection import train_test_split

from ..errors import ConfigError
from ._base import BaseMLP, validate_Xy


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multilayer perceptron regressor, a drop-in for scikit-learn's ``MLPRegressor``.

    Identity output units, one per target; the cost is the lecture's ``½‖a − y‖²`` averaged
    over the samples of a batch, whose gradient is scikit-learn's (scikit-learn's reported
    ``loss_`` also divides by the number of outputs; mlplab's does not).

    Parameters
    ----------
    loss : {'squared_error'}, default='squared_error'
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start,
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
    epsilon, n_iter_no_change, init, change_tol, l1, dropout
        As in :class:`mlplab.MLPClassifier`; ``early_stopping`` scores the held-out part
        with R².

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_,
    n_features_in_, feature_names_in_ : as in scikit-learn.
    net_ : mlplab.Network
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, init="auto",
                 change_tol=None, l1=0.0, dropout=0.0):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, init=init,
            change_tol=change_tol, l1=l1, dropout=dropout)
        self.loss = loss

    def _output_and_loss(self) -> tuple[str, str]:
        self.out_activation_ = "identity"
        return "identity", "mse"

    def _check_XY(self, X, y, reset: bool):
        if self.loss != "squared_error":
            raise ConfigError(f"MLPRegressor: loss must be 'squared_error' (mlplab has no "
                              f"{self.loss!r} loss), got {self.loss!r}")
        X, y = validate_Xy(self, X, y, y_numeric=True, reset=reset)
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y)

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_targets). Returns self."""
        self._check_params()
        X, Y = self._check_XY(X, y, reset=True)
        validation = None
        if self.early_stopping:
            X, Xv, Y, Yv = train_test_split(X, Y, test_size=self.validation_fraction,
                                            random_state=self.random_state)
            if len(Xv) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            validation = (Xv, Yv[:, 0] if Yv.shape[1] == 1 else Yv)
        self._fit(X, Y, incremental=False, validation=validation)
        return self

    def partial_fit(self, X, y):
        """One epoch over ``(X, y)``, keeping the weights and the optimizer's state."""
        first = not hasattr(self, "net_")
        if first:
            self._check_params()
            if self.early_stopping:
                raise ValueError("partial_fit does not support early_stopping=True")
        X, Y = self._check_XY(X, y, reset=first)
        self._fit(X, Y, incremental=True)
        return self

    def predict(self, X) -> np.ndarray:
        """``a⁽ᴸ⁾``: (n_samples,) for one target, else (n_samples, n_targets)."""
        A = self._forward(X)
        return A[:, 0] if A.shape[1] == 1 else A
