"""How :class:`mlplab.Perceptron` sets a fit up, as scikit-learn's SGD does.

- :func:`groups_as_sklearn`: the units and their visiting orders, with scikit-learn's random
  draws in its order. Binary: one unit, whose ``RandomState(random_state)`` first seeds the
  dataset (unused when shuffling by epochs), then the early-stopping split is drawn, then the
  shuffle's seed. Several units (one-vs-rest): the split first, then one seed per unit from
  ``RandomState(random_state)``, each unit's own ``RandomState(seed)`` drawing its dataset's
  seed and its shuffle's seed. Units with one order (``shuffle=False``, or the lecture's rule,
  whose order is one fresh permutation per epoch for all) train together.
- :func:`update_factors`: η's factor per (sample, unit): class weight × sample weight.
- :func:`validation_score`: each unit's weighted accuracy on the held-out rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..errors import ConfigError
from ._perceptron_rule import Group, LectureOrder, Problem, SklearnOrder

Array = np.ndarray
MAX_INT = np.iinfo(np.int32).max


def groups_as_sklearn(est, p: Problem, y, W: Array, b: Array) -> list[Group]:
    """The groups of units of one fit, each with a copy of its starting weights."""
    m, k = p.T.shape
    if est.tol == "error_free":
        order = LectureOrder(m, check_random_state(est.random_state), est.shuffle)
        return [Group(np.arange(k), W.copy(), b.copy(), order)]
    if k == 1:
        rs = check_random_state(est.random_state)
        rs.randint(1, MAX_INT)
        _split(est, p, p.T[:, 0])
        return [Group(np.arange(1), W.copy(), b.copy(),
                      SklearnOrder(m, rs.randint(MAX_INT), est.shuffle))]
    _split(est, p, y)
    shuffles = []
    for seed in check_random_state(est.random_state).randint(MAX_INT, size=k):
        rs = np.random.RandomState(seed)
        rs.randint(1, MAX_INT)
        shuffles.append(rs.randint(MAX_INT))
    if not est.shuffle:
        return [Group(np.arange(k), W.copy(), b.copy(), SklearnOrder(m, 0, False))]
    return [Group(np.array([i]), W[[i]].copy(), b[[i]].copy(), SklearnOrder(m, seed, True))
            for i, seed in enumerate(shuffles)]


def _split(est, p: Problem, y) -> None:
    """scikit-learn's early-stopping split: ``p.train`` loses a stratified part."""
    if not est.early_stopping:
        return
    from sklearn.model_selection import StratifiedShuffleSplit

    cv = StratifiedShuffleSplit(test_size=est.validation_fraction, random_state=est.random_state)
    train, val = next(cv.split(np.zeros((len(y), 1)), y))
    if not np.any(p.F[val] > 0):
        raise ValueError("The sample weights for validation set are all zero, consider using "
                         "a different random state.")
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"Splitting {len(y)} samples with validation_fraction="
                         f"{est.validation_fraction!r} left an empty set; change "
                         "validation_fraction, add samples, or set early_stopping=False")
    p.train[val] = False


def validation_score(p: Problem):
    """``score(W, b, units)``: each unit's accuracy (sgn(z) against t) on the held-out rows,
    weighted by their sample weights, as scikit-learn scores early stopping."""
    val = ~p.train
    Xv, Tv, weights = p.X[val], p.T[val], p.weight[val]

    def score(W, b, units):
        pred = np.where(Xv @ W.T + b > 0, 1.0, -1.0)
        return np.average(pred == Tv[:, units], axis=0, weights=weights)

    return score


def update_factors(est, y, T: Array, sample_weight: Array) -> Array:
    """η's factor per (sample, unit): its class weight times its sample weight (unit i of
    k > 2 classes: class i's weight on its own samples, 1 on the rest)."""
    from sklearn.utils.class_weight import compute_class_weight

    if est._multilabel:
        if est.class_weight is not None:
            raise ConfigError("class_weight applies to class labels, not to a multilabel "
                              "(2-D 0/1) target; leave it None")
        return np.repeat(sample_weight[:, None], T.shape[1], axis=1)
    cw = compute_class_weight(est.class_weight, classes=est.classes_, y=y)
    if T.shape[1] == 1:  # binary: the positive class is classes_[1]
        return (np.where(T[:, 0] > 0, cw[1], cw[0]) * sample_weight)[:, None]
    return np.where(T > 0, cw[None, :], 1.0) * sample_weight[:, None]
