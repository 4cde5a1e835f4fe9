"""The neuron with the sign function, and the perceptron learning rule (the lecture's "Hebb").

One computing layer: the inputs pass through unchanged, each output unit i computes

    z_i = Σ_j w_ij x_j + b_i,        a_i = sgn(z_i)  (+1 or −1; the step's 1/0 for labels)

Learning takes the samples one by one. When unit i misclassifies sample x (target
t_i ∈ {−1, +1} and t_i z_i ≤ 0), its line (plane, hyperplane) moves towards the sample:

    w_i ← w_i + η t_i x,        b_i ← b_i + η t_i

The lecture stops after the first epoch without a mistake (the data is then linearly
separated: the perceptron convergence theorem says this happens in finitely many updates when
a separating line exists) or after ``max_iter`` epochs (XOR never gets there): that is
``tol="error_free"``. Every other parameter and default is scikit-learn's
``sklearn.linear_model.Perceptron`` (its rule is the same, as SGD on ``max(0, −t·z)``): it
stops when the epoch's loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, visits
the samples in its own shuffled order (reproduced exactly: same ``random_state``, same order),
and offers penalties, class and sample weights, early stopping and warm starts
(:mod:`._perceptron_rule` holds the rule).

Targets: two classes give one unit; k > 2 classes give one unit per class (one-vs-rest; the
prediction is the unit with the largest z); a 2-D 0/1 target (multilabel, the lecture's
several independent outputs) gives one independent unit per column.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..errors import ConfigError, DataError
from ._params import ParamCheck
from ._perceptron_path import lines_path, updates
from ._perceptron_rule import Problem, Settings, train_group
from ._perceptron_setup import groups_as_sklearn, update_factors, validation_score
from ._validation import check_fitted, validate_data

Array = np.ndarray
PENALTIES = (None, "l2", "l1", "elasticnet")
DENSE_LIMIT = 2**22  # sparse X up to this many entries trains as a dense copy (32 MB)


class Perceptron(ClassifierMixin, BaseEstimator):
    """A single layer of sgn neurons trained by the perceptron rule, sample by sample.

    A drop-in for :class:`sklearn.linear_model.Perceptron`: the same parameters, defaults and
    numbers (with ``shuffle=False``, or the same ``random_state``, the same ``coef_``).
    ``tol="error_free"`` gives the lecture's perceptron instead (see Parameters).

    Parameters
    ----------
    penalty : {None, 'l2', 'l1', 'elasticnet'}, default=None
        None is the lecture's rule. Otherwise every visit also shrinks w (scikit-learn's
        SGD penalties, see :mod:`mlplab.sklearn._perceptron_rule`).
    alpha : float, default=1e-4
        Strength of the penalty.
    l1_ratio : float in [0, 1], default=0.15
        The L1 share of 'elasticnet' (1 is 'l1', 0 is 'l2').
    fit_intercept : bool, default=True
        Learn the bias b; False keeps every line through the origin.
    max_iter : int, default=1000
        Epochs at most (passes over the data).
    tol : float, None or "error_free", default=1e-3
        scikit-learn's stopping rule: stop when the epoch's mean loss ``max(0, −t·z)`` (plus
        the penalty) has not dropped below the best by ``tol`` for ``n_iter_no_change``
        epochs; None never stops before ``max_iter``. ``"error_free"`` is the lecture's:
        stop after the first epoch without a mistake, visiting the samples in a fresh random
        order each epoch (mlplab's perceptron before it followed scikit-learn's defaults).
    shuffle : bool, default=True
        Visit the samples in a shuffled order (each epoch anew).
    verbose : int, default=0
        Print each unit's weight norm, bias and loss after every epoch.
    eta0 : float, default=1.0
        η, the step by which a misclassified sample pulls the line. With zero initial
        weights and no penalty its value only rescales W and b, never changes a prediction.
    n_jobs : int or None, default=None
        Accepted for scikit-learn's code; the units train in one process.
    random_state : int, RandomState or None, default=0
        Seeds the order of the samples and the early-stopping split.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (stratified) and stop on its accuracy instead.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=5
    class_weight : dict, 'balanced' or None, default=None
        Multiplies η for the samples of each class (for unit i of k > 2 classes: class i's
        weight on its own samples, 1 on the rest).
    warm_start : bool, default=False
        Start ``fit`` from the last ``coef_`` and ``intercept_``.

    Attributes
    ----------
    coef_ : (n_units, n_features) array (or sparse after :meth:`sparsify`)
        W: one row per output unit (``w_ij`` from input j to unit i, as in the lecture).
    intercept_ : (n_units,) array
        b.
    classes_ : array
        The class labels; for a multilabel target, the column indices 0 … k−1.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    n_iter_ : int
        Epochs run (the most of any unit: each stops on its own).
    t_ : float
        scikit-learn's count of visits, ``1 + n_iter_ · n_samples`` after ``fit``.
    n_updates_ : int
        Visits that moved a line (mistakes).
    mistakes_ : list of int
        Mistakes in each epoch (a visit counts once however many units erred on it).
    converged_ : bool
        True when every unit had an epoch without a mistake.
    stop_reason_ : str
    coef_path_ : (n_updates_ + 1, n_units, n_features) array, or None with a penalty
        W after every update, the starting weights first: the line's dance.
    intercept_path_ : (n_updates_ + 1, n_units) array, or None with a penalty
    update_samples_ : (n_updates_,) int array
        Row of X that caused each update.
    update_epochs_ : (n_updates_,) int array
        Epoch (1-based) of each update.

    Examples
    --------
    >>> from mlplab import Perceptron
    >>> from mlplab.datasets import blobs
    >>> X, y = blobs(100, seed=0)
    >>> clf = Perceptron(tol="error_free", random_state=0).fit(X, y)
    >>> clf.converged_, clf.score(X, y)
    (True, 1.0)
    """

    def __init__(self, *, penalty=None, alpha=0.0001, l1_ratio=0.15, fit_intercept=True,
                 max_iter=1000, tol=1e-3, shuffle=True, verbose=0, eta0=1.0, n_jobs=None,
                 random_state=0, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, class_weight=None, warm_start=False):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    # ----------------------------------------------------------------- training
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None) -> "Perceptron":
        """Learn W and b; returns ``self``.

        Parameters
        ----------
        X : (m, n_features) array or sparse matrix
        y : (m,) class labels, or (m, k) 0/1 array for k independent outputs
        coef_init : (n_units, n_features) array, optional
            Starting W (default: the last one with ``warm_start``, else zeros).
        intercept_init : (n_units,) array, optional
        sample_weight : (m,) array, optional
            Multiplies η for each sample (and its class weight).
        """
        self._check_params()
        X, y = self._validate(X, y, reset=True)
        T = self._targets(y)
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape[0] == T.shape[1]:
            coef_init = self._dense_coef() if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        self.t_ = 1.0
        self._train(X, y, T, coef_init, intercept_init, sample_weight, self.max_iter)
        if self.tol not in (None, "error_free") and self.n_iter_ == self.max_iter:
            warnings.warn("Maximum number of iteration reached before convergence. Consider "
                          "increasing max_iter to improve the fit.", ConvergenceWarning)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None) -> "Perceptron":
        """One epoch over ``(X, y)`` from the current weights; ``classes`` (every label) is
        required on the first call. Returns ``self``."""
        from sklearn.utils.multiclass import _check_partial_fit_first_call

        first = not hasattr(self, "classes_")
        if first:
            self._check_params()
            if self.early_stopping:
                raise ValueError("early_stopping should be False with partial_fit")
            if self.class_weight == "balanced":
                raise ValueError("class_weight 'balanced' is not supported for partial_fit; "
                                 "compute the weights with sklearn.utils.compute_class_weight "
                                 "and pass them as a dict")
        X, y = self._validate(X, y, reset=first)
        if first and type_of_target(y) == "multilabel-indicator":
            classes = np.arange(y.shape[1])
        if _check_partial_fit_first_call(self, classes):
            self._multilabel = type_of_target(y) == "multilabel-indicator"
        T = self._targets(y, keep_classes=True)
        if not hasattr(self, "t_"):
            self.t_ = 1.0
        coef = self._dense_coef() if hasattr(self, "coef_") else None
        self._train(X, y, T, coef, getattr(self, "intercept_", None), sample_weight, 1)
        return self

    def _train(self, X, y, T, coef_init, intercept_init, sample_weight, max_iter: int) -> None:
        """Train every unit from the given (or zero) weights; sets the learned attributes."""
        from sklearn.utils.validation import _check_sample_weight

        m, k = T.shape
        W = self._start(coef_init, (k, X.shape[1]), X.dtype, "coef_init")
        b = self._start(intercept_init, (k,), X.dtype, "intercept_init")
        W0, b0 = W.copy(), b.copy()
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        lecture = self.tol == "error_free"
        settings = Settings(self.eta0, self.fit_intercept, self.penalty, self.alpha,
                            self.l1_ratio, 0.01 if sp.issparse(X) and not lecture else 1.0,
                            max_iter, self.tol, self.n_iter_no_change, self.verbose)
        if sp.issparse(X) and self.penalty is None and X.shape[0] * X.shape[1] <= DENSE_LIMIT:
            X = X.toarray()  # the same sums (a zero adds nothing), without sparse overheads
        problem = Problem(X, T, update_factors(self, y, T, sw), np.ones(m, bool), sw)
        groups = groups_as_sklearn(self, problem, y, W, b)
        score = validation_score(problem) if self.early_stopping else None
        for g in groups:
            train_group(problem, g, settings, score)
            W[g.units], b[g.units] = g.W, g.b
        self.coef_, self.intercept_ = W, b
        self.n_iter_ = int(max(g.n_iter.max() for g in groups))
        self.t_ += self.n_iter_ * m
        self.converged_ = all(g.clean.all() for g in groups)
        self._record(X, W0, b0, groups, settings.bias_decay)
        self.stop_reason_ = self._stop_reason(lecture, max_iter)

    def _record(self, X, W0: Array, b0: Array, groups, decay: float) -> None:
        """The update-by-update record (:mod:`._perceptron_path`)."""
        epochs, rows, S = updates(groups, len(W0))
        self.n_updates_ = len(rows)
        self.update_samples_, self.update_epochs_ = rows, epochs
        self.mistakes_ = np.bincount(epochs, minlength=self.n_iter_ + 1)[1:].tolist()
        self.coef_path_, self.intercept_path_ = (None, None) if self.penalty is not None else \
            lines_path(X, rows, S, W0, b0, decay if self.fit_intercept else 0.0)

    @staticmethod
    def _start(init, shape, dtype, name: str) -> Array:
        if init is None:
            return np.zeros(shape, dtype)
        init = np.asarray(init, dtype=dtype).reshape(-1, *shape[1:]) if len(shape) > 1 else \
            np.asarray(init, dtype=dtype).ravel()
        if init.shape != shape:
            raise DataError(f"{name} must have shape {shape}, got {init.shape}")
        return init.copy()

    def _stop_reason(self, lecture: bool, max_iter: int) -> str:
        n = self.n_updates_
        if self.converged_ and lecture:
            return f"converged: epoch {self.n_iter_} had no mistakes ({n} update{'s' * (n != 1)} in all)"
        if lecture:
            return (f"not converged: still {self.mistakes_[-1]} mistake(s) in epoch "
                    f"{self.n_iter_} = max_iter; the data may not be linearly separable")
        if self.n_iter_ == max_iter:
            return f"reached max_iter = {max_iter}" + ("" if self.converged_ else
                                                       " with mistakes in every epoch")
        what = "validation accuracy" if self.early_stopping else "training loss"
        return (f"the {what} did not improve by more than tol={self.tol} for "
                f"{self.n_iter_no_change} epochs (each unit stops on its own)")

    # ----------------------------------------------------------------- checks
    def _check_params(self) -> None:
        check = ParamCheck(self)
        bad, number = check.bad, check.number
        if self.penalty not in PENALTIES:
            bad("penalty", "None, 'l2', 'l1' or 'elasticnet'")
        number("alpha", 0)
        number("l1_ratio", 0, 1)
        number("eta0", 0, open_ends="low")
        number("validation_fraction", 0, 1, open_ends="low high")
        check.integer("max_iter")
        check.integer("n_iter_no_change")
        tol = self.tol
        if not (tol is None or tol == "error_free" or (
                isinstance(tol, numbers.Real) and not isinstance(tol, bool)
                and 0 <= tol < np.inf)):
            bad("tol", "None, 'error_free' (the lecture's rule) or a number ≥ 0")
        if self.tol == "error_free" and self.early_stopping:
            bad("early_stopping", "False with tol='error_free' (the lecture's rule stops on "
                                  "the training data)")
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            bad("class_weight", "None, 'balanced' or a dict {label: weight}")
        check.flags("fit_intercept", "shuffle", "warm_start", "early_stopping")
        check.verbose()
        check.random_state()
        check.n_jobs()

    def _validate(self, X, y, reset: bool):
        return validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             order="C", accept_large_sparse=False, multi_output=True,
                             reset=reset)

    def _targets(self, y: Array, keep_classes: bool = False) -> Array:
        """Targets as ±1, one column per output unit; sets ``classes_`` unless kept."""
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            if not keep_classes:
                self._multilabel, self.classes_ = True, np.arange(y.shape[1])
            if not self._multilabel or y.shape[1] != len(self.classes_):
                raise DataError(f"y has {y.shape[1]} 0/1 columns; this perceptron was started "
                                f"with {len(self.classes_)} classes")
            return np.where(y > 0, 1.0, -1.0)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector of labels: one unit, as sklearn
        if y.ndim == 2:
            raise DataError(f"a 2-D target must hold 0/1 columns (one per output unit), got "
                            f"{kind!r}; pass class labels as a 1-D array")
        check_classification_targets(y)
        if not keep_classes:
            self._multilabel, self.classes_ = False, np.unique(y)
        elif not set(np.unique(y)) <= set(self.classes_):
            raise DataError(f"y holds labels {sorted(set(np.unique(y)) - set(self.classes_))} "
                            f"not in classes_ {list(self.classes_)}")
        if len(self.classes_) < 2:
            raise DataError(f"y has only one class ({self.classes_[0]!r}); the perceptron needs "
                            "at least two classes to separate")
        labels = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return np.where(labels == 1, 1.0, -1.0)[:, None]
        return np.where(labels[:, None] == np.arange(len(self.classes_)), 1.0, -1.0)

    # ----------------------------------------------------------------- use
    def decision_function(self, X) -> Array:
        """z = Wx + b per sample: (m,) for two classes, else (m, n_units)."""
        check_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr",
                          dtype=[np.float64, np.float32])
        Z = X @ self.coef_.T + self.intercept_
        Z = Z.toarray() if sp.issparse(Z) else np.asarray(Z)
        return Z[:, 0] if Z.shape[1] == 1 and not self._multilabel else Z

    def predict(self, X) -> Array:
        """Class labels: sgn(z) for one unit or each multilabel unit, argmax z for k classes."""
        Z = self.decision_function(X)
        if self._multilabel:
            return (Z > 0).astype(np.int64)
        if Z.ndim == 1:
            return self.classes_[(Z > 0).astype(np.int64)]
        return self.classes_[Z.argmax(axis=1)]

    def densify(self) -> "Perceptron":
        """``coef_`` as a dense array again (after :meth:`sparsify`). Returns self."""
        check_fitted(self)
        self.coef_ = self._dense_coef()
        return self

    def sparsify(self) -> "Perceptron":
        """``coef_`` as a sparse CSR matrix (cheaper when most weights are 0, e.g. after an
        L1 penalty); :meth:`densify` undoes it, and ``fit`` makes it dense. Returns self."""
        check_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def _dense_coef(self) -> Array:
        return self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_

    def line_at(self, update: int, unit: int = 0) -> tuple[Array, float]:
        """``(w, b)`` of ``unit`` after update number ``update`` (0: the starting weights)."""
        check_fitted(self)
        if self.coef_path_ is None:
            raise ConfigError("the path of the lines is recorded for penalty=None only")
        return self.coef_path_[update, unit].copy(), float(self.intercept_path_[update, unit])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

