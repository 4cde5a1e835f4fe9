"""The neuron with the sign function, and the perceptron learning rule (the lecture's "Hebb").

One computing layer: the inputs pass through unchanged, each output unit i computes

    z_i = Σ_j w_ij x_j + b_i,        a_i = sgn(z_i)  (+1 or −1; the step's 1/0 for labels)

Learning takes the samples one by one. When unit i misclassifies sample x (target
t_i ∈ {−1, +1} and t_i z_i ≤ 0), its line (plane, hyperplane) moves towards the sample:

    w_i ← w_i + η t_i x,        b_i ← b_i + η t_i

Training stops after the first epoch without a mistake (the data is then linearly
separated: the perceptron convergence theorem says this happens in finitely many updates
when a separating line exists), or after ``max_iter`` epochs (it never happens otherwise,
XOR being the lecture's example).

Targets: two classes give one unit; k > 2 classes give one unit per class (one-vs-rest;
the prediction is the unit with the largest z); a 2-D 0/1 target (multilabel, the
lecture's several independent outputs) gives one independent unit per column.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..errors import ConfigError, DataError
from ._validation import check_fitted, validate_data

Array = np.ndarray
_SCAN = 32  # samples whose margins are checked in one vectorized step


class Perceptron(ClassifierMixin, BaseEstimator):
    """A single layer of sgn neurons trained by the perceptron rule, sample by sample.

    Parameter names follow :class:`sklearn.linear_model.Perceptron` where the concept is
    the same. There is no ``tol``: the lecture's rule stops on an error-free epoch, which is
    exact (no loss to compare), and there is no penalty (the lecture's rule has none).

    Parameters
    ----------
    eta0 : float, default=1.0
        η, the step by which a misclassified sample pulls the line. With zero initial
        weights its value only rescales W and b, never changes a prediction.
    max_iter : int, default=1000
        Epochs at most (passes over the data).
    fit_intercept : bool, default=True
        Learn the bias b; False keeps every line through the origin.
    shuffle : bool, default=True
        Visit the samples in a new random order each epoch.
    random_state : int, RandomState or None, default=0
        Seeds the order of the samples (same seed, same updates).

    Attributes
    ----------
    coef_ : (n_units, n_features) array
        W: one row per output unit (``w_ij`` from input j to unit i, as in the lecture).
    intercept_ : (n_units,) array
        b.
    classes_ : array
        The class labels; for a multilabel target, the column indices 0 … k−1.
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    n_updates_ : int
        Weight updates made (misclassified visits).
    mistakes_ : list of int
        Mistakes in each epoch (a sample counts once however many units erred on it).
    converged_ : bool
        True when an epoch had no mistakes.
    stop_reason_ : str
    coef_path_ : (n_updates_ + 1, n_units, n_features) array
        W after every update, the starting zeros first: the line's dance.
    intercept_path_ : (n_updates_ + 1, n_units) array
    update_samples_ : (n_updates_,) int array
        Row of X that caused each update.
    update_epochs_ : (n_updates_,) int array
        Epoch (1-based) of each update.

    Examples
    --------
    >>> from mlplab import Perceptron
    >>> from mlplab.datasets import blobs
    >>> X, y = blobs(100, seed=0)
    >>> clf = Perceptron(random_state=0).fit(X, y)
    >>> clf.converged_, clf.score(X, y)
    (True, 1.0)
    """

    def __init__(self, eta0: float = 1.0, max_iter: int = 1000, fit_intercept: bool = True,
                 shuffle: bool = True, random_state=0):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state

    # ----------------------------------------------------------------- training
    def fit(self, X, y) -> "Perceptron":
        """Learn W and b by the perceptron rule; returns ``self``.

        Parameters
        ----------
        X : (m, n_features) array
        y : (m,) class labels, or (m, k) 0/1 array for k independent outputs
        """
        self._check_params()
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float64)
        T = self._targets(y)  # (m, n_units) of ±1
        m, n = X.shape
        rng = check_random_state(self.random_state)
        W = np.zeros((T.shape[1], n))
        b = np.zeros(T.shape[1])
        W_path, b_path, samples, epochs = [W.copy()], [b.copy()], [], []
        self.mistakes_, self.converged_ = [], False
        for epoch in range(1, self.max_iter + 1):
            order = rng.permutation(m) if self.shuffle else np.arange(m)
            Xo, To = X[order], T[order]
            mistakes, pos = 0, 0
            while pos < m:
                # Visit the samples one by one; the margins of the next few are computed at
                # once with the current line, which is exact up to the first mistake.
                wrong = To[pos:pos + _SCAN] * (Xo[pos:pos + _SCAN] @ W.T + b) <= 0  # sgn(z_i) ≠ t_i
                hits = np.flatnonzero(wrong.any(axis=1))
                if hits.size == 0:
                    pos += _SCAN
                    continue
                first = int(hits[0])
                x, t, units = Xo[pos + first], To[pos + first], wrong[first]
                samples.append(int(order[pos + first]))
                pos += first + 1
                mistakes += 1
                W[units] += self.eta0 * np.outer(t[units], x)   # w_i ← w_i + η t_i x
                if self.fit_intercept:
                    b[units] += self.eta0 * t[units]            # b_i ← b_i + η t_i
                W_path.append(W.copy())
                b_path.append(b.copy())
                epochs.append(epoch)
            self.mistakes_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        self.coef_, self.intercept_ = W, b
        self.n_iter_ = epoch
        self.n_updates_ = len(samples)
        self.coef_path_, self.intercept_path_ = np.array(W_path), np.array(b_path)
        self.update_samples_ = np.array(samples, dtype=np.int64)
        self.update_epochs_ = np.array(epochs, dtype=np.int64)
        if self.converged_:
            self.stop_reason_ = (f"converged: epoch {epoch} had no mistakes "
                                 f"({self.n_updates_} update{'s' * (self.n_updates_ != 1)} in all)")
        else:
            self.stop_reason_ = (f"not converged: still {self.mistakes_[-1]} mistake(s) in epoch "
                                 f"{epoch} = max_iter; the data may not be linearly separable")
        return self

    def _check_params(self) -> None:
        if not (isinstance(self.eta0, numbers.Real) and np.isfinite(self.eta0) and self.eta0 > 0):
            raise ConfigError(f"eta0 must be a number > 0, got {self.eta0!r}")
        if (not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool)
                or self.max_iter < 1):
            raise ConfigError(f"max_iter must be an integer ≥ 1, got {self.max_iter!r}")

    def _targets(self, y: Array) -> Array:
        """Targets as ±1, one column per output unit; sets ``classes_``."""
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            self._multilabel = True
            self.classes_ = np.arange(y.shape[1])  # the labels (columns), as MLPClassifier
            return np.where(y > 0, 1.0, -1.0)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector of labels: one unit, as sklearn
        if y.ndim == 2:
            raise DataError(f"a 2-D target must hold 0/1 columns (one per output unit), got "
                            f"{kind!r}; pass class labels as a 1-D array")
        check_classification_targets(y)
        self._multilabel = False
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(f"y has only one class ({self.classes_[0]!r}); the perceptron needs "
                            "at least two classes to separate")
        if len(self.classes_) == 2:
            return np.where(labels == 1, 1.0, -1.0)[:, None]
        return np.where(labels[:, None] == np.arange(len(self.classes_)), 1.0, -1.0)

    # ----------------------------------------------------------------- use
    def decision_function(self, X) -> Array:
        """z = Wx + b per sample: (m,) for two classes, else (m, n_units)."""
        check_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z = X @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 and not self._multilabel else Z

    def predict(self, X) -> Array:
        """Class labels: sgn(z) for one unit or each multilabel unit, argmax z for k classes."""
        Z = self.decision_function(X)
        if self._multilabel:
            return (Z > 0).astype(np.int64)
        if Z.ndim == 1:
            return self.classes_[(Z > 0).astype(np.int64)]
        return self.classes_[Z.argmax(axis=1)]

    def line_at(self, update: int, unit: int = 0) -> tuple[Array, float]:
        """``(w, b)`` of ``unit`` after update number ``update`` (0: the starting zeros)."""
        check_fitted(self)
        return self.coef_path_[update, unit].copy(), float(self.intercept_path_[update, unit])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
