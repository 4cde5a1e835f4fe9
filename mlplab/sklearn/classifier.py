"""``MLPClassifier``: scikit-learn's classifier interface over an :class:`mlplab.Network`."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target

from ..errors import ConfigError
from ._validation import check_fitted
from ._base import BaseMLP, validate_Xy


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multilayer perceptron classifier, a drop-in for scikit-learn's ``MLPClassifier``.

    Binary targets get one logistic output unit, multiclass targets a softmax layer, multilabel
    indicator matrices one logistic unit per label. Trained by mlplab's own forward pass, δ
    recursion and optimizers.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units in each hidden layer.
    activation : {'relu', 'logistic', 'tanh', 'identity', 'sigmoid', 'leaky_relu'}, default='relu'
        Hidden g ('sigmoid' is mlplab's name for 'logistic').
    solver : {'adam', 'sgd', 'gd'}, default='adam'
        'sgd' uses ``momentum``/``nesterovs_momentum``; 'gd' is the lecture's full-batch
        gradient descent (``batch_size`` ignored).
    alpha : float, default=1e-4
        L2 strength, as scikit-learn: the batch cost gains ``½·alpha·Σ‖W‖²/m_batch``.
    batch_size : int or 'auto', default='auto'
        ``min(200, n_samples)`` for 'auto'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule for solver='sgd' (as scikit-learn).
    learning_rate_init : float in (0, 1], default=0.001
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs at most.
    shuffle : bool, default=True
    random_state : int, RandomState or None
    tol : float, default=1e-4
        Stop after ``n_iter_no_change`` epochs without an improvement of ``tol``.
    verbose : bool
        Print the loss after every epoch (and the validation score with ``early_stopping``),
        as scikit-learn does.
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (stratified) and stop on its accuracy.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float
        Adam's constants (``epsilon`` is Adam's, as in scikit-learn).
    n_iter_no_change : int, default=10
    init : str, default='auto'
        'auto' is scikit-learn's Glorot-uniform; or any mlplab initializer name
        ('normal', 'xavier_normal', 'he_normal', ...).
    change_tol : float or None, default=None
        The lecture's ε: also stop when every |ΔW|, |Δb| of an epoch is below it.
    l1 : float, default=0.0
        mlplab's L1 penalty: the cost gains ``l1·Σ|W⁽ˡ⁾|`` (gradient ``l1·sign(W)``).
    dropout : float in [0, 1), default=0.0
        mlplab's inverted dropout after every hidden layer while training.
    loss : {'log_loss', 'squared_error'}, default='log_loss'
        'squared_error' is the lecture's ½‖a − y‖² with logistic outputs.

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_,
    n_features_in_, feature_names_in_ : as in scikit-learn.
    net_ : mlplab.Network
        The trained network (``net_.summary()`` shows every W and b).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, init="auto",
                 change_tol=None, l1=0.0, dropout=0.0, loss="log_loss"):
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
        if self.loss == "squared_error":
            self.out_activation_ = "logistic"
            return "sigmoid", "mse"
        if self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
            return "softmax", "categorical_cross_entropy"
        self.out_activation_ = "logistic"
        return "sigmoid", "binary_cross_entropy"

    def _validate_y(self, y, reset: bool):
        if self.loss not in ("log_loss", "squared_error"):
            raise ConfigError(f"MLPClassifier: loss must be 'log_loss' or 'squared_error', "
                              f"got {self.loss!r}")
        if reset:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif (type_of_target(y) != "multilabel-indicator"
              and not set(np.unique(y)) <= set(self.classes_)):
            raise ValueError(f"y holds labels {sorted(set(np.unique(y)) - set(self.classes_))} "
                             f"not in classes_ {list(self.classes_)}")
        return self._label_binarizer.transform(y)

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,) or an indicator
        matrix (n_samples, n_labels). Returns self."""
        self._check_params()
        X, y = validate_Xy(self, X, y)
        reset = not (self.warm_start and hasattr(self, "classes_"))
        Y = self._validate_y(y, reset=reset)
        validation = None
        if self.early_stopping:
            stratify = y if y.ndim == 1 else None
            X, Xv, Y, yv = train_test_split(
                X, Y, test_size=self.validation_fraction, stratify=stratify,
                random_state=self.random_state)
            if len(Xv) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            validation = (Xv, self._label_binarizer.inverse_transform(yv))
        self._fit(X, Y, incremental=False, validation=validation)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)``, keeping the weights and the optimizer's state.

        ``classes`` (every label) is required on the first call. Returns self.
        """
        first = _check_partial_fit_first_call(self, classes)
        if first:
            self._check_params()
            if self.early_stopping:
                raise ValueError("partial_fit does not support early_stopping=True")
        X, y = validate_Xy(self, X, y, reset=first)
        if first:
            labels = y if type_of_target(y) == "multilabel-indicator" else self.classes_
            self._label_binarizer = LabelBinarizer().fit(labels)
            self.classes_ = self._label_binarizer.classes_
        Y = self._validate_y(y, reset=False)
        self._fit(X, Y, incremental=True)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes); for multilabel, one per label."""
        A = self._forward(X)
        if self.loss == "squared_error" and A.shape[1] > 1 and self._multiclass():
            return A / np.maximum(A.sum(axis=1, keepdims=True), np.finfo(A.dtype).tiny)
        if A.shape[1] == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1 - A, A])
        return A

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Labels: the most probable class, or every label whose probability exceeds ½."""
        A = self._forward(X)
        if self._multiclass():
            return self.classes_[A.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(A, threshold=0.5)

    def _multiclass(self) -> bool:
        check_fitted(self, "net_")
        return self._label_binarizer.y_type_ == "multiclass"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

