"""``MLPClassifier``: scikit-learn's classifier interface over an :class:`mlplab.Network`."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..errors import ConfigError
from ._base import BaseMLP, validate_Xy
from ._validation import check_fitted


def _stochastic(est) -> bool:
    """``partial_fit`` exists for the stochastic solvers only (scikit-learn's rule)."""
    if est.solver == "lbfgs":
        raise AttributeError("partial_fit is only available for stochastic optimizers. "
                             "lbfgs is not stochastic.")
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multilayer perceptron classifier, a drop-in for scikit-learn's ``MLPClassifier``.

    Binary targets get one logistic output unit, multiclass targets a softmax layer, multilabel
    indicator matrices one logistic unit per label. Trained by mlplab's own forward pass, δ
    recursion and optimizers, on scikit-learn's loss (log-loss, ``½·alpha·Σ‖W‖²`` per batch);
    the same ``random_state`` draws the same initial weights, split and epoch orders as
    scikit-learn.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units in each hidden layer.
    activation : {'relu', 'logistic', 'tanh', 'identity', 'sigmoid', 'leaky_relu'}, default='relu'
        Hidden g ('sigmoid' is mlplab's name for 'logistic').
    solver : {'adam', 'sgd', 'lbfgs', 'gd'}, default='adam'
        'sgd' uses ``momentum``/``nesterovs_momentum``; 'lbfgs' is SciPy's L-BFGS-B over all
        weights at once (full batch; good for small data sets); 'gd' is the lecture's
        full-batch gradient descent (``batch_size`` ignored).
    alpha : float, default=1e-4
        L2 strength, as scikit-learn: the batch cost gains ``½·alpha·Σ‖W‖²/m_batch``.
    batch_size : int or 'auto', default='auto'
        ``min(200, n_samples)`` for 'auto'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule for solver='sgd' (as scikit-learn).
    learning_rate_init : float in (0, 1], default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs at most (L-BFGS iterations for 'lbfgs').
    shuffle : bool, default=True
    random_state : int, RandomState or None
    tol : float, default=1e-4
        Stop after ``n_iter_no_change`` epochs without an improvement of ``tol``; for
        'lbfgs', L-BFGS-B's ``gtol``.
    verbose : bool
        Print the loss after every epoch (and the validation score with ``early_stopping``),
        as scikit-learn does.
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (stratified for one output) and stop on its accuracy.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float
        Adam's constants (``epsilon`` is Adam's, as in scikit-learn).
    n_iter_no_change : int or numpy.inf, default=10
        ``np.inf`` never stops on ``tol``.
    max_fun : int, default=15000
        'lbfgs' only: loss evaluations at most.
    init : str, default='auto'
        'auto' is scikit-learn's Glorot-uniform; or any mlplab initializer name
        ('normal', 'xavier_normal', 'he_normal', ...).
    change_tol : float or None, default=None
        The lecture's ε: also stop when every |ΔW|, |Δb| of an epoch is below it.
    l1 : float, default=0.0
        mlplab's L1 penalty: the cost gains ``l1·Σ|W⁽ˡ⁾|`` (gradient ``l1·sign(W)``).
    dropout : float in [0, 1), default=0.0
        mlplab's inverted dropout after every hidden layer while training (not with 'lbfgs').
    loss : {'log_loss', 'squared_error'}, default='log_loss'
        'squared_error' is the lecture's ½‖a − y‖² with logistic outputs (mlplab's option).
    device : str, default='cpu'
        Where the network trains: 'cpu' (NumPy, scikit-learn's numbers bit for bit), 'torch'
        (PyTorch tensors on the CPU), 'cuda' or 'cuda:N' (PyTorch on a GPU). The data moves
        there once per fit and every batch is computed there; the same ``random_state`` gives
        the numbers of 'cpu' to float64 rounding. Predictions, ``coefs_`` and
        ``intercepts_`` come back as NumPy arrays (copies, off the CPU); a pickle holds the
        network on the CPU (the next fit moves it back). Without PyTorch or a GPU, ``fit``
        raises a ConfigError naming the fix.

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_,
    n_features_in_, feature_names_in_ : as in scikit-learn.
        ``coefs_`` and ``intercepts_`` can be assigned (before ``partial_fit`` too, as in
        scikit-learn's worked example): they are copied into the network's ``W`` and ``b``.
    net_ : mlplab.Network
        The trained network (``net_.summary()`` shows every W and b), on ``device``.
    stop_reason_ : str
        Why training stopped.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="auto", change_tol=None, l1=0.0, dropout=0.0, loss="log_loss",
                 device="cpu"):
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
        if self.loss not in ("log_loss", "squared_error"):
            raise ConfigError(f"MLPClassifier: loss must be 'log_loss' or 'squared_error', "
                              f"got {self.loss!r}")

    def _output_and_loss(self) -> tuple[str, str, str]:
        """Output g, the network's own loss, scikit-learn's loss (see :mod:`._losses`)."""
        if self.loss == "squared_error":
            self.out_activation_ = "logistic"
            return "sigmoid", "mse", "mse"
        if self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
            return "softmax", "categorical_cross_entropy", "log_loss"
        self.out_activation_ = "logistic"
        return "sigmoid", "binary_cross_entropy", "binary_log_loss"

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        """scikit-learn's checks; the labels as its binarizer's 0/1 columns (bool)."""
        X, y = validate_Xy(self, X, y, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,) or an indicator
        matrix (n_samples, n_labels), each sample weighted by ``sample_weight`` (n_samples,)
        if given. Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, keeping the weights and the optimizer's state.

        ``classes`` (every label) is required on the first call. Returns self.
        """
        if _check_partial_fit_first_call(self, classes):
            labels = y if type_of_target(y).startswith("multilabel") else classes
            self._label_binarizer = LabelBinarizer().fit(labels)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes); for multilabel, one per label."""
        A = self._forward(X)
        if self.loss == "squared_error" and A.shape[1] > 1 and self._multiclass():
            return A / np.maximum(A.sum(axis=1, keepdims=True), np.finfo(A.dtype).tiny)
        if A.shape[1] == 1:
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Labels: the most probable class, or every label whose probability exceeds ½."""
        return self._predictions(self._forward(X))

    def _predictions(self, A: np.ndarray) -> np.ndarray:
        if self._multiclass():
            return self.classes_[A.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(A[:, 0] if A.shape[1] == 1 else A)

    def _targets_of(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    @staticmethod
    def _score_predictions(y, pred, sample_weight) -> float:
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, pred, sample_weight=sample_weight)

    def _multiclass(self) -> bool:
        check_fitted(self, "net_")
        return self._label_binarizer.y_type_ == "multiclass"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
