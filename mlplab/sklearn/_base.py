"""The shared body of :class:`MLPClassifier` and :class:`MLPRegressor`.

The estimators follow scikit-learn's conventions (``__init__`` only stores parameters,
validation with scikit-learn's own utilities, learned attributes end in ``_``) and train an
:class:`mlplab.Network`: the stochastic solvers with :func:`mlplab.train.loop.fit` and the
callbacks of :mod:`._training`, ``lbfgs`` with SciPy over mlplab's gradients (:mod:`._lbfgs`).
Parameter names, defaults and meanings are scikit-learn's; with the same ``random_state``
the same numbers are drawn in the same order (initial weights, early-stopping split, epoch
order), and the loss is scikit-learn's (:mod:`._losses`). mlplab adds its own activations
('sigmoid', mlplab's name for 'logistic', and 'leaky_relu'), the full-batch solver 'gd' (the
lecture's algorithm), ``init`` (any mlplab initializer instead of scikit-learn's),
``change_tol`` (the lecture's ε: stop when every |ΔW|, |Δb| of an epoch is below it), ``l1``
(λ of an L1 penalty ``λ·Σ|W|``) and ``dropout`` (inverted dropout with this probability after
every hidden layer, off at prediction).

``device`` (mlplab's too) trains the network on PyTorch tensors, on the CPU or a GPU
(:mod:`._device`). ``coefs_`` and ``intercepts_`` are the network's ``W⁽ˡ⁾ᵀ`` and ``b⁽ˡ⁾``
(:mod:`._coefs`).
"""

from __future__ import annotations

import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..core.layers import Dropout
from ..core.network import Network
from ..core.optimizers import Adam, GradientDescent, Momentum
from ..errors import ConfigError
from ..train.loop import fit as train
from ..train.regularizers import L1
from ._coefs import LayerAttributes
from ._device import copy, host_copy, move_to, on_cpu, put, resolve, to_device
from ._lbfgs import fit_lbfgs, loss_and_gradient
from ._losses import SklearnLoss
from ._params import ParamCheck
from ._training import (SklearnBatches, SklearnGlorot, SklearnStopping, batch_size,
                        validation_split)
from ._validation import NonFiniteWeightsError, check_fitted, validate_data

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "sigmoid", "leaky_relu")
SOLVERS = ("lbfgs", "sgd", "adam", "gd")
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
              "values and need to be preprocessed.")


def dense(X):
    """Sparse input (a one-hot encoder's output) becomes a dense array: the layers use BLAS."""
    return X.toarray() if sp.issparse(X) else X


def validate_Xy(est, X, y, **options):
    """scikit-learn's validation of ``(X, y)``, sparse X accepted and made dense."""
    X, y = validate_data(est, X, y, multi_output=True, accept_sparse=True,
                         dtype=[np.float64, np.float32], **options)
    return dense(X), y


class BaseMLP(LayerAttributes, BaseEstimator):
    """Parameters, validation, and the fit logic shared by the two estimators."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="auto", change_tol=None, l1=0.0, dropout=0.0, device="cpu"):
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
        self.max_fun = max_fun
        self.init = init
        self.change_tol = change_tol
        self.l1 = l1
        self.dropout = dropout
        self.device = device

    # ------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check = ParamCheck(self)
        bad = check.bad
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
            bad("solver", f"one of {SOLVERS}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            bad("learning_rate", "'constant', 'invscaling' or 'adaptive'")
        check.integer("max_iter")
        check.integer("max_fun")
        check.integer("n_iter_no_change", allow_inf=True)
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) or not (
                0 <= self.dropout < 1):
            bad("dropout", "a probability in [0, 1)")
        if self.solver == "lbfgs" and self.dropout:
            bad("dropout", "0 with solver='lbfgs' (L-BFGS needs a deterministic loss; "
                           "use solver='adam' or 'sgd' for dropout)")
        for name in ("alpha", "tol", "l1", "power_t"):
            check.number(name, 0)
        check.number("learning_rate_init", 0, 1, open_ends="low",
                     note=" (mlplab keeps the lecture's α ∈ (0, 1]; scikit-learn also takes "
                          "larger rates)")
        check.number("momentum", 0, 1)
        if self.solver == "sgd" and self.momentum == 1:
            bad("momentum", "below 1 with solver='sgd' (at 1 no step is ever forgotten and the "
                            "velocity grows without bound); 0.9 is usual")
        check.number("beta_1", 0, 1, open_ends="high")
        check.number("beta_2", 0, 1, open_ends="high")
        check.number("epsilon", 0, open_ends="low")
        check.flags("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")
        check.verbose()
        check.random_state()
        bs = self.batch_size
        if bs != "auto" and (isinstance(bs, bool) or not isinstance(bs, numbers.Integral)
                             or bs < 1):
            bad("batch_size", "'auto' or an integer ≥ 1")
        check.number("validation_fraction", 0, 1, open_ends="high")
        if self.early_stopping and self.validation_fraction == 0:
            bad("validation_fraction", "above 0 with early_stopping=True (the share of the "
                                       "training data held out to score each epoch), e.g. 0.1")
        self._check_loss()
        self._hidden = sizes

    # ------------------------------------------------------------ the network
    def _build_net(self, n_in: int, n_out: int, dtype, rs) -> None:
        """A new network and its loss; with init='auto', scikit-learn's draws from ``rs``."""
        output, rest_loss, kind = self._output_and_loss()
        hidden = "sigmoid" if self.activation == "logistic" else self.activation
        # mlplab's own options draw their seed; scikit-learn's configuration draws nothing more
        own = self.init != "auto" or self.dropout > 0
        seed = int(rs.randint(np.iinfo(np.int32).max)) if own else 0
        init = SklearnGlorot(2.0 if hidden == "sigmoid" else 6.0, rs) if self.init == "auto" \
            else self.init
        net = Network([n_in, *self._hidden, n_out], activation=hidden, output=output,
                      loss=rest_loss, init=init, seed=seed, dtype=dtype)
        if self.dropout > 0:  # inverted dropout after every hidden layer (off at prediction)
            layers = [net.layers[0]]
            for layer in net.layers[1:-1]:
                layers += [layer, Dropout(layer.n_out, self.dropout, seed=net.rng)]
            net = Network.from_layers(layers + [net.layers[-1]], loss=rest_loss, seed=net.rng)
        net.init = "xavier_uniform" if self.init == "auto" else str(self.init)  # a name io.load knows
        self.net_, self._loss = net, SklearnLoss(kind, None)
        self.n_outputs_, self.n_layers_ = n_out, len(self._hidden) + 2

    def _start_bookkeeping(self, fresh: bool) -> None:
        """scikit-learn's per-model counters (only ``loss_curve_`` for lbfgs, an mlplab
        extra); kept across warm starts and partial_fit calls unless ``fresh``."""
        if fresh or not hasattr(self, "t_"):
            self.n_iter_, self.t_, self.loss_curve_ = 0, 0, []
        if self.early_stopping and getattr(self, "_best_params", None) is None:
            self._best_params = [copy(p) for p in self.net_.params]  # a warm start turning it on
        if self.solver == "lbfgs" or not (fresh or not hasattr(self, "best_loss_")):
            return
        es = self.early_stopping
        self._no_improvement_count = 0
        self.validation_scores_ = [] if es else None
        self.best_validation_score_ = -np.inf if es else None
        self.best_loss_ = None if es else np.inf
        self._best_params = [copy(p) for p in self.net_.params]

    @contextmanager
    def _training_loss(self):
        """The network minimizes scikit-learn's loss while training, the lecture's at rest."""
        net = self.net_
        rest = net.loss
        net.loss = self._loss.as_loss()
        try:
            yield
        finally:
            net.loss = rest
            self._loss.use_weights(None)

    def _new_optimizer(self):
        if self.solver == "adam":
            return Adam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "sgd" and self.momentum > 0:
            return Momentum(self.learning_rate_init, self.momentum, self.nesterovs_momentum)
        return GradientDescent(self.learning_rate_init)

    # ------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight, incremental: bool):
        """Validate, (re)build the network if needed, and run the solver. Returns self."""
        self._check_params()
        where = resolve(self.device)  # a ConfigError naming the fix without PyTorch or a GPU
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        assigned = "_assigned_coefs" in self.__dict__ or "_assigned_intercepts" in self.__dict__
        fresh = not (hasattr(self, "net_") or assigned) or not (self.warm_start or incremental)
        X, y = self._validate_input(X, y, incremental, reset=fresh)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if sample_weight is not None:
            from sklearn.utils.validation import _check_sample_weight

            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        rs = check_random_state(self.random_state)  # a new one per call for an int, as sklearn
        if fresh or not hasattr(self, "net_"):
            self._build_net(X.shape[1], Y.shape[1], X.dtype, rs)
        elif self.net_.n_inputs != X.shape[1] or self.net_.n_outputs != Y.shape[1]:
            raise ConfigError("warm start or partial_fit got data of another shape than the "
                              "fitted network; set warm_start=False to start afresh")
        move_to(self, where)
        self._take_assigned()
        self._start_bookkeeping(fresh)
        self.net_.astype(X.dtype)
        try:
            with self._training_loss():
                if self.solver == "lbfgs":
                    fit_lbfgs(self, X, Y.astype(X.dtype), sample_weight)
                else:
                    self._fit_stochastic(X, Y, sample_weight, incremental, rs)
        finally:  # a diverged fit raises, and its estimator is pickled small all the same
            self._clear_caches()
        return self

    def _fit_stochastic(self, X, Y, sample_weight, incremental: bool, rs) -> None:
        """One epoch (partial_fit) or up to ``max_iter`` epochs of sgd, adam or gd."""
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = self._new_optimizer()
        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = validation_split(self, X, Y, sample_weight, rs)
        Y = Y.astype(X.dtype)
        m = len(X)
        batches = SklearnBatches(X, Y, sample_weight, batch_size(self, m), self.shuffle, rs,
                                 self._loss, self.alpha,
                                 self.epsilon if self.solver == "adam" else None, self.net_.place)
        if validation is not None:  # scored each epoch on the device, read back
            validation = (to_device(validation[0], self.net_.place), *validation[1:])
        stopping = SklearnStopping(self, m, batches, validation, stop=not incremental)
        callbacks = [batches, stopping] if not self.l1 else [batches, L1(self.l1), stopping]
        # the accelerators compute scikit-learn's loss from the loss itself (Loss.state: its
        # kind and the batch's sample weights), or run its own formulas (mlplab's "mse")
        history = train(self.net_, batches.X, batches.Y, optimizer=self._optimizer,
                        max_epochs=1 if incremental else self.max_iter,
                        batch_size=batches.batch_size, epsilon=self.change_tol, shuffle=False,
                        callbacks=callbacks)
        self.n_iter_ = history.epochs  # per call, as scikit-learn (t_ keeps counting)
        self.stop_reason_ = history.stop_reason
        if self.early_stopping:  # scikit-learn keeps the weights of the best validation score
            for p, best in zip(self.net_.params, self._best_params):
                put(p, best)
        if history.diverged is not None:
            self._diverged(history.stop_reason, recoverable=self.early_stopping)
        elif (not incremental and history.epochs == self.max_iter and not history.converged
                and not stopping.stopped):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)

    def _diverged(self, reason: str, recoverable: bool) -> None:
        """scikit-learn raises when training ends with non-finite weights; mlplab has stopped
        at the first NaN/inf and kept finite weights (the best validation score's, with early
        stopping: then a warning says so)."""
        name = type(self).__name__
        if recoverable:
            warnings.warn(f"{name}: {reason}; the weights of the best validation score are "
                          "kept", ConvergenceWarning)
            return
        raise NonFiniteWeightsError(f"{NON_FINITE} ({name}: {reason})")

    def _validation_score(self, X, y, sample_weight) -> float:
        """The early-stopping score (accuracy or R²) without input validation; NaN when the
        predictions are not finite, as in scikit-learn."""
        A = self._forward(X, check_input=False)
        if not np.isfinite(A).all():
            return float("nan")
        return float(self._score_predictions(y, self._predictions(A), sample_weight))

    def _loss_grad_lbfgs(self, packed, X, y, sample_weight=None, *buffers):
        """scikit-learn's name and signature for the L-BFGS objective: ``(f, ∇f)`` at ``packed``
        (the network keeps those weights; scikit-learn's work buffers are not needed)."""
        where, dtype = self.net_.place, self.net_.dtype
        X = to_device(dense(X), where, dtype)
        Y = to_device(np.asarray(y).reshape(X.shape[0], -1), where, dtype)
        with self._training_loss():
            return loss_and_gradient(self, packed, X, Y, to_device(sample_weight, where))

    def _clear_caches(self) -> None:
        """Forget the forward/backward caches so that a pickled estimator stays small."""
        for layer in self.net_.layers:
            for name in ("A_prev", "Z", "A", "delta"):
                if hasattr(layer, name):
                    setattr(layer, name, None)

    # ------------------------------------------------------------ prediction
    def _forward(self, X, check_input: bool = True) -> np.ndarray:
        """``a⁽ᴸ⁾`` for the rows of ``X``, computed where the network lives, without touching
        its caches; a NumPy array."""
        check_fitted(self, "net_")
        self._take_assigned()
        if check_input:
            X = dense(validate_data(self, X, reset=False, accept_sparse=True,
                                    dtype=[np.float64, np.float32]))
        A = to_device(dense(X), self.net_.place, self.net_.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # huge inputs give inf, as sklearn
            for layer in self._dense():
                A = layer.g(A @ layer.W.T + layer.b)  # a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)
        return A if isinstance(A, np.ndarray) else host_copy(A)

    def __getstate__(self):
        # a pickle holds the network on the CPU: it loads on machines without the device
        return on_cpu(super().__getstate__())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
