"""The perceptron rule, epoch by epoch: the lecture's algorithm and scikit-learn's SGD.

Each output unit i is a binary problem with targets t ∈ {−1, +1}. A visit of the sample x,
with ``z = w_i·x + b_i``, changes the unit only when it misclassifies x::

    t·z ≤ 0:   w_i ← w_i + η·c·t·x,    b_i ← b_i + η·c·t      (c: class weight × sample weight)

which is also scikit-learn's SGD step on the perceptron loss ``max(0, −t·z)`` at learning
rate η (scikit-learn damps the bias step by 0.01 for sparse X: ``bias_decay``). Its penalties
act at every visit, mistake or not::

    l2, elasticnet:  w_i ← max(0, 1 − (1 − l1_ratio)·η·alpha)·w_i          (before the step)
    l1, elasticnet:  u ← u + l1_ratio·η·alpha, then each visited feature of w_i moves towards 0
                     by what the cumulative penalty u still owes it, never across 0
                     (the truncated gradient of Tsuruoka et al., 2009; after the step)

Units that visit the samples in the same order train together, vectorized over the units;
each stops on its own, as scikit-learn's one-vs-rest fits do. Without a penalty the weights
change only at mistakes, so the margins of the next ``SCAN`` visits are computed at once with
the current weights: exact up to the first mistake, where the scan resumes.

Orders: :class:`SklearnOrder` is scikit-learn's (one Fisher-Yates permutation from its
xorshift generator, applied to the previous epoch's order every epoch);
:class:`LectureOrder` is the lecture perceptron's (a fresh permutation of the samples each
epoch from NumPy's ``RandomState``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._validation import NonFiniteWeightsError

Array = np.ndarray
SCAN = 32  # visits whose margins are computed in one vectorized step


def xorshift_permutation(n: int, seed: int) -> Array:
    """scikit-learn's ``SequentialDataset.shuffle(seed)`` as positions: order ← order[P]."""
    P, s = np.arange(n), int(seed) or 1  # its generator replaces a 0 seed by 1
    for i in range(n - 1):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        j = i + (s % 2**31) % (n - i)
        P[i], P[j] = P[j], P[i]
    return P


class SklearnOrder:
    """scikit-learn's visiting order for one binary fit (``seed`` drawn as it draws it)."""

    def __init__(self, n: int, seed: int, shuffle: bool):
        self.order, self.P = np.arange(n), xorshift_permutation(n, seed) if shuffle else None

    def epoch(self) -> Array:
        if self.P is not None:
            self.order = self.order[self.P]
        return self.order


class LectureOrder:
    """A fresh permutation of the samples each epoch (or the file order without shuffle)."""

    def __init__(self, n: int, random_state: np.random.RandomState, shuffle: bool):
        self.n, self.random_state, self.shuffle = n, random_state, shuffle

    def epoch(self) -> Array:
        return self.random_state.permutation(self.n) if self.shuffle else np.arange(self.n)


@dataclass
class Settings:
    """The rule's and the stopping rule's constants (see the module docstring)."""

    eta0: float
    fit_intercept: bool
    penalty: str | None
    alpha: float
    l1_ratio: float
    bias_decay: float
    max_iter: int
    tol: float | str | None  # a float (scikit-learn's rule), None (never), "error_free"
    n_iter_no_change: int
    verbose: int = 0


@dataclass
class Problem:
    """The data of one fit: rows of X, ±1 targets and update factors per (row, unit)."""

    X: Array | sp.csr_matrix
    T: Array              # (m, k) of ±1
    F: Array              # (m, k): class weight × sample weight
    train: Array          # (m,) bool: rows learned from (False: early-stopping validation)
    weight: Array         # (m,) sample weights (the validation rows' weigh their accuracy)

    def row(self, r: int) -> Array:
        """Row r of X as a dense vector (for CSR X, from its arrays: indexing costs 30 µs)."""
        X = self.X
        if not sp.issparse(X):
            return X[r]
        x = np.zeros(X.shape[1], X.dtype)
        x[X.indices[X.indptr[r]:X.indptr[r + 1]]] = X.data[X.indptr[r]:X.indptr[r + 1]]
        return x


def add_rows(W: Array, units: Array, step: Array, X, i: int) -> None:
    """``W[units] += outer(step, X[i])`` for a boolean mask of units: ``w_i ← w_i + η c t x``
    (for sparse X, only the columns where x is not 0 change; the others would gain 0)."""
    if sp.issparse(X):
        cols = X.indices[X.indptr[i]:X.indptr[i + 1]]
        W[np.ix_(np.flatnonzero(units), cols)] += step[:, None] * X.data[X.indptr[i]:X.indptr[i + 1]]
    else:
        W[units] += step[:, None] * X[i]


@dataclass
class Group:
    """Units trained together: their weights (a copy), their order and their stopping state."""

    units: Array
    W: Array
    b: Array
    order: SklearnOrder | LectureOrder
    active: Array = None
    n_iter: Array = None
    count: Array = None
    best: Array = None
    clean: Array = None  # per unit: had an epoch without a mistake
    # per visit that moved a line: (epoch, position, row, mask of the moved units, η·c·t)
    events: list = field(default_factory=list)

    def __post_init__(self):
        k = len(self.units)
        self.active, self.n_iter = np.ones(k, bool), np.zeros(k, np.int64)
        self.count, self.best = np.zeros(k, np.int64), np.full(k, np.inf)
        self.clean = np.zeros(k, bool)


@dataclass
class PenaltyState:
    """What a penalized fit carries from visit to visit.

    ``q`` and ``u`` are the truncated gradient's (what each weight paid, what is owed);
    ``sq``, ``l1`` are the norms scikit-learn's stopping objective reads: its weight vector
    recomputes them at each step (over the step's features) and rescales them with the
    weights, but not after an L1 truncation. mlplab keeps the same numbers, so that ``tol``
    stops at scikit-learn's epoch.
    """

    q: Array
    sq: Array
    l1: Array
    u: float = 0.0

    @classmethod
    def of(cls, W: Array) -> "PenaltyState":
        return cls(np.zeros_like(W), (W * W).sum(axis=1), np.abs(W).sum(axis=1))


def train_group(p: Problem, g: Group, s: Settings, val_score=None) -> None:
    """Run epochs until every unit of ``g`` stopped or ``max_iter``; ``g`` holds the results.

    ``val_score(W, b, units)`` gives each unit's early-stopping score (None: the training
    objective decides, as scikit-learn's does without early stopping).
    """
    T, F = p.T[:, g.units], p.F[:, g.units]
    state = PenaltyState.of(g.W) if s.penalty is not None else None
    n_train = int(p.train.sum())
    for epoch in range(1, s.max_iter + 1):
        rows = g.order.epoch()
        rows = rows[p.train[rows]]
        if s.penalty is None:
            objective, updated = _epoch_by_mistakes(p, g, T, F, rows, s, epoch)
        else:
            objective, updated = _epoch_every_visit(p, g, T, F, rows, s, state, epoch)
        if not (np.isfinite(g.W).all() and np.isfinite(g.b).all()):
            raise NonFiniteWeightsError(
                f"Floating-point under-/overflow occurred at epoch #{epoch}. Scaling input "
                "data with StandardScaler or MinMaxScaler might help.")
        g.n_iter[g.active] = epoch
        score = None if val_score is None else val_score(g.W, g.b, g.units)
        _stop_units(g, objective / n_train, score, updated, s, epoch)
        if not g.active.any():
            return


def _epoch_by_mistakes(p, g, T, F, rows, s, epoch):
    """One epoch without a penalty: the weights move only at mistakes (see SCAN)."""
    loss, updated = np.zeros(len(g.units)), np.zeros(len(g.units), bool)
    X, T, F = p.X[rows], T[rows], F[rows]  # the epoch's visits in order, gathered once
    steps = s.eta0 * T * F                  # η c t of each visit's update
    need_loss = s.tol not in (None, "error_free")  # only scikit-learn's rule reads the loss
    some_idle = not g.active.all()
    zero_factors = not F.all()  # a sample or class weight of 0: its mistakes move nothing
    dense = not sp.issparse(X)
    pos = 0
    while pos < len(rows):
        end = pos + SCAN
        M = T[pos:end] * (X[pos:end] @ g.W.T + g.b)        # margins t·z, current weights
        wrong = M <= 0                                      # sgn(z) ≠ t: a mistake
        if some_idle:
            wrong &= g.active
        if zero_factors:
            wrong &= F[pos:end] != 0
        any_wrong = wrong.any(axis=1)
        first = int(any_wrong.argmax())
        upto = first + 1 if any_wrong[first] else len(M)
        if need_loss:
            loss += np.maximum(-M[:upto], 0).sum(axis=0)   # perceptron loss max(0, −t·z)
        if any_wrong[first]:
            i, units = pos + first, wrong[first]
            step = steps[i][units]
            if dense:
                g.W[units] += step[:, None] * X[i]          # w_i ← w_i + η c t x
            else:
                add_rows(g.W, units, step, X, i)
            if s.fit_intercept:
                g.b[units] += step * s.bias_decay           # b_i ← b_i + η c t
            updated |= units
            g.events.append((epoch, i, rows[i], units, step))
        pos += upto
    return loss, updated


def _epoch_every_visit(p, g, T, F, rows, s, state: PenaltyState, epoch):
    """One epoch with a penalty: every visit shrinks the weights, one visit at a time."""
    l1 = s.l1_ratio if s.penalty == "elasticnet" else float(s.penalty == "l1")
    objective, updated = np.zeros(len(g.units)), np.zeros(len(g.units), bool)
    shrink = max(0.0, 1.0 - (1.0 - l1) * s.eta0 * s.alpha)
    active = g.active
    for pos, r in enumerate(rows):
        x, t = p.row(r), T[r]
        features = p.X.indices[p.X.indptr[r]:p.X.indptr[r + 1]] if sp.issparse(p.X) \
            else slice(None)
        m = t * (g.W @ x + g.b)
        # scikit-learn's objective: the loss plus alpha·((1 − l1)·½‖w‖² + l1·‖w‖₁), before the step
        objective += np.maximum(-m, 0) + s.alpha * ((1 - l1) * 0.5 * state.sq + l1 * state.l1)
        step = np.where(active & (m <= 0), s.eta0 * t * F[r], 0.0)
        if l1 < 1:
            g.W[active] *= shrink
            state.sq[active] *= shrink * shrink
            state.l1[active] *= shrink
        moved = step != 0
        if moved.any():
            g.W[moved] += np.outer(step[moved], x)
            if s.fit_intercept:
                g.b[moved] += step[moved] * s.bias_decay
            updated |= moved
            w = g.W[moved][:, features]
            state.sq[moved], state.l1[moved] = (w * w).sum(axis=1), np.abs(w).sum(axis=1)
            g.events.append((epoch, pos, r, moved, step[moved]))
        if l1 > 0:
            state.u += l1 * s.eta0 * s.alpha
            _truncate(g.W, state.q, active, features, state.u)
    return objective, updated


def _truncate(W: Array, q: Array, active: Array, features, u: float) -> None:
    """The cumulative L1 penalty: ``w`` towards 0 by ``u`` less what it already paid (``q``)."""
    units = np.flatnonzero(active)
    at = (units,) if isinstance(features, slice) else np.ix_(units, features)
    w, paid = W[at], q[at]
    new = np.where(w > 0, np.maximum(0.0, w - (u + paid)),
                   np.where(w < 0, np.minimum(0.0, w + (u - paid)), w))
    q[at] = paid + (new - w)
    W[at] = new


def _stop_units(g: Group, objective: Array, score, updated: Array, s: Settings, epoch: int):
    """Each still-active unit's stopping decision after an epoch (scikit-learn's rule, or
    the lecture's: the first epoch without a mistake)."""
    if s.verbose:
        for i in np.flatnonzero(g.active):
            print(f"-- Epoch {epoch}, unit {g.units[i]}: Norm: {np.linalg.norm(g.W[i]):.2f}, "
                  f"NNZs: {np.count_nonzero(g.W[i])}, Bias: {g.b[i]:.6f}, "
                  f"Avg. loss: {objective[i]:f}")
    g.clean |= g.active & ~updated
    if s.tol == "error_free":
        g.active &= updated
        return
    tol = -np.inf if s.tol is None else s.tol
    value = objective if score is None else -score  # lower is better for both
    worse = (value > g.best - tol) if tol > -np.inf else np.zeros(len(value), bool)
    g.count = np.where(g.active, np.where(worse, g.count + 1, 0), g.count)
    g.best = np.where(g.active, np.fmin(g.best, value), g.best)  # a NaN never becomes best
    g.active &= g.count < s.n_iter_no_change
