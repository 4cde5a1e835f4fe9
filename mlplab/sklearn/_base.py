"""The shared body of :class:`MLPClassifier` and :class:`MLPRegressor`.

The estimators follow scikit-learn's conventions (``__init__`` only stores parameters,
validation with scikit-learn's own utilities, learned attributes end in ``_``) and train an
:class:`mlplab.Network` with :func:`mlplab.training.fit`. Parameter names and meanings are
scikit-learn's where the concept is the same; mlplab adds its own activations ('sigmoid',
'leaky_relu'), the full-batch solver 'gd' (the lecture's algorithm), ``init`` and
``change_tol`` (the lecture's ε: stop when every |ΔW|, |Δb| of an epoch is below it), ``l1``
(λ of an L1 penalty ``λ·Σ|W|`` on the mean cost) and ``dropout`` (inverted dropout with this
probability after every hidden layer, off at prediction).

Note on shapes: mlplab's ``W⁽ˡ⁾`` is ``(n_out, n_in)`` as in the lecture; scikit-learn's
``coefs_[i]`` is ``(n_in, n_out)``, so ``coefs_[l - 1]`` is ``W⁽ˡ⁾.T`` (a view: writing into it
writes into the network).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..errors import ConfigError
from ..core.layers import Dense, Dropout
from ..core.network import Network
from ..core.optimizers import Adam, GradientDescent, Momentum
from ..train.regularizers import L1
from ..train.loop import fit as train
from ._validation import check_fitted, validate_data
from ._training import BatchL2, GlorotUniform, SklearnStopping

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "sigmoid", "leaky_relu")
SOLVERS = ("adam", "sgd", "gd")


def dense(X):
    """Sparse input (a one-hot encoder's output) becomes a dense array: the layers use BLAS."""
    return X.toarray() if sp.issparse(X) else X


def validate_Xy(est, X, y, **options):
    """scikit-learn's validation of ``(X, y)``, sparse X accepted and made dense."""
    X, y = validate_data(est, X, y, multi_output=True, accept_sparse=True,
                         dtype=[np.float64, np.float32], **options)
    return dense(X), y


class BaseMLP(BaseEstimator):
    """Parameters, validation, and the fit loop shared by the two estimators."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, init="auto",
                 change_tol=None, l1=0.0, dropout=0.0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.init = init
        self.change_tol = change_tol
        self.l1 = l1
        self.dropout = dropout

    # ------------------------------------------------------------ fitted views
    @property
    def coefs_(self) -> list[np.ndarray]:
        """``coefs_[i]`` of shape ``(n_in, n_out)``: the transpose of mlplab's ``W⁽ⁱ⁺¹⁾``."""
        check_fitted(self, "net_")
        return [layer.W.T for layer in self._dense()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """``intercepts_[i]`` of shape ``(n_out,)``: mlplab's ``b⁽ⁱ⁺¹⁾``."""
        check_fitted(self, "net_")
        return [layer.b for layer in self._dense()]

    @property
    def n_layers_(self) -> int:
        check_fitted(self, "net_")
        return len(self._dense()) + 1

    def _dense(self) -> list[Dense]:
        return [layer for layer in self.net_.layers if isinstance(layer, Dense)]

    # ------------------------------------------------------------ validation
    def _check_params(self) -> None:
        def bad(name, rule):
            raise ConfigError(f"{type(self).__name__}: {name} must be {rule}, "
                              f"got {getattr(self, name)!r}")

        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            bad("hidden_layer_sizes", "an int or a sequence of ints")
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0
                   for n in sizes):
            bad("hidden_layer_sizes", "a sequence of positive ints, e.g. (100,)")
        if self.activation not in ACTIVATIONS:
            bad("activation", f"one of {ACTIVATIONS}")
        if self.solver not in SOLVERS:
            bad("solver", f"one of {SOLVERS} ('lbfgs' is not implemented in mlplab)")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            bad("learning_rate", "'constant', 'invscaling' or 'adaptive'")
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                bad(name, "an integer ≥ 1")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) or not (
                0 <= self.dropout < 1):
            bad("dropout", "a probability in [0, 1)")
        for name in ("alpha", "tol", "l1"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
                bad(name, "a number ≥ 0")
        bs = self.batch_size
        if bs != "auto" and (isinstance(bs, bool) or not isinstance(bs, numbers.Integral)
                             or bs < 1):
            bad("batch_size", "'auto' or an integer ≥ 1")
        if not 0 < self.validation_fraction < 1:
            bad("validation_fraction", "in (0, 1)")
        self._hidden = sizes

    def _initial_net(self, n_in: int, n_out: int, output: str, loss: str, dtype) -> Network:
        if self.init == "auto":
            init = GlorotUniform(2.0 if self.activation == "logistic" else 6.0)
        else:
            init = self.init
        activation = "sigmoid" if self.activation == "logistic" else self.activation
        net = Network([n_in, *self._hidden, n_out], activation=activation, output=output,
                      loss=loss, init=init, seed=self._rng.integers(2**32), dtype=dtype)
        if self.dropout > 0:  # inverted dropout after every hidden layer (off at prediction)
            layers = [net.layers[0]]
            for layer in net.layers[1:-1]:
                layers += [layer, Dropout(layer.n_out, self.dropout, seed=net.rng)]
            net = Network.from_layers(layers + [net.layers[-1]], loss=loss, seed=net.rng)
        net.init = "xavier_uniform" if self.init == "auto" else str(self.init)  # a name io.load knows
        return net

    def _optimizer(self):
        if self.solver == "adam":
            return Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "sgd" and self.momentum > 0:
            return Momentum(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return GradientDescent(self.learning_rate_init)

    # ------------------------------------------------------------ fitting
    def _fit(self, X, Y, incremental: bool, validation=None) -> None:
        """Train on numeric ``X`` (m, n) and encoded targets ``Y`` (m, n_outputs).

        ``validation`` is (X_val, y_val) in the estimator's own label space, or None.
        """
        fresh = not hasattr(self, "net_") or not (self.warm_start or incremental)
        if fresh:
            self._rng = np.random.default_rng(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self.net_ = self._initial_net(X.shape[1], Y.shape[1], *self._output_and_loss(),
                                          X.dtype)
            self.n_outputs_ = Y.shape[1]
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_ = []
            self._no_improvement_count = 0
            es = self.early_stopping and not incremental
            self.validation_scores_ = [] if es else None
            self.best_validation_score_ = -np.inf if es else None
            self.best_loss_ = None if es else np.inf
        elif self.net_.n_inputs != X.shape[1] or self.net_.n_outputs != Y.shape[1]:
            raise ConfigError("warm start or partial_fit got data of another shape than the "
                              "fitted network; set warm_start=False to start afresh")
        if fresh or not incremental or getattr(self, "_opt", None) is None:
            self._opt = self._optimizer()
        m = len(X)
        bs = m if self.solver == "gd" or self.batch_size == "auto" and m <= 200 else (
            200 if self.batch_size == "auto" else min(self.batch_size, m))
        penalty = BatchL2(self.alpha) if self.alpha > 0 else None
        stopping = SklearnStopping(self, m, penalty, validation, stop=not incremental)
        callbacks = [penalty, stopping] if penalty is not None else [stopping]
        if self.l1 > 0:
            callbacks.insert(0, L1(self.l1))
        epochs = 1 if incremental else self.max_iter
        history = train(self.net_, X, Y, optimizer=self._opt, max_epochs=epochs, batch_size=bs,
                        epsilon=self.change_tol, shuffle=self.shuffle, callbacks=callbacks)
        self.n_iter_ = history.epochs  # per call, as scikit-learn (t_ keeps counting)
        self.stop_reason_ = history.stop_reason
        if validation is not None and getattr(self, "_best_params", None) is not None:
            for p, best in zip(self.net_.params, self._best_params):
                np.copyto(p, best)  # scikit-learn keeps the weights of the best validation score
            self._best_params = None
        self._clear_caches()
        if history.diverged is not None:  # the weights are the last finite ones; say why
            warnings.warn(f"{type(self).__name__}: {history.stop_reason}", ConvergenceWarning)
        elif (not incremental and history.epochs == self.max_iter
                and not history.stop_reason.startswith(("converged", "validation", "training"))):
            warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)

    def _clear_caches(self) -> None:
        """Forget the forward/backward caches so that a pickled estimator stays small."""
        for layer in self.net_.layers:
            for name in ("A_prev", "Z", "A", "delta"):
                if hasattr(layer, name):
                    setattr(layer, name, None)

    def _validate_X(self, X, reset: bool):
        return dense(validate_data(self, X, reset=reset, accept_sparse=True,
                                   dtype=[np.float64, np.float32]))

    def _forward(self, X) -> np.ndarray:
        """``a⁽ᴸ⁾`` for the rows of ``X``, without touching the network's caches."""
        check_fitted(self, "net_")
        A = self._validate_X(X, reset=False).astype(self.net_.dtype, copy=False)
        for layer in self._dense():
            A = layer.g(A @ layer.W.T + layer.b)  # a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)
        return A

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
