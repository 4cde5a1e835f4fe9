"""Hyperparameter sweeps: scikit-learn's grid and randomized search, run on a Dask cluster.

:func:`sweep` is scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` (or, with
``n_iter``, :class:`~sklearn.model_selection.RandomizedSearchCV`) over an mlplab estimator,
its fits sent to Dask workers through joblib's Dask backend. Nothing of the search is
home-made: the candidates, the folds, ``cv_results_`` and the refit are scikit-learn's. mlplab
adds three things around it:

- the cluster (:mod:`.dask_cluster`): an embedded LocalCluster on 127.0.0.1, or an existing
  scheduler's address;
- the data is scattered once, before the first fit: each task refers to it by its Dask key
  instead of carrying a copy; a worker fetches it once, when its first fit needs it;
- progress: the candidates are evaluated in groups of a few times as many fits as the
  cluster runs at once, and after each group the caller's ``progress`` callback receives
  the fits done, the total and the best mean score so far. The groups are evaluated in
  scikit-learn's own order, so ``cv_results_`` is the same as one call would give (a failed
  fit scores NaN; see :func:`_collect_fit_errors`).

The inputs, the folds and every candidate (by the estimator's own parameter check) are
checked before the cluster starts: a ConfigError or DataError names the fix.

A fit is a pure function of its parameters, fold and seed, so a sweep on any cluster gives
the ``cv_results_`` of the serial run (``n_jobs=1``), apart from the timing columns. A worker
that dies mid-sweep loses nothing: the scheduler reruns its fits on the other workers (up to
``distributed.scheduler.allowed-failures`` deaths per fit), and a search whose fits lost
inputs with the worker (``X`` and ``y`` where no other worker held them yet, or joblib's
per-call scatter of fold indices) runs again with its data scattered anew
(:func:`.dask_cluster.fit_on_dask`).
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.model_selection import (GridSearchCV, ParameterGrid, ParameterSampler,
                                     RandomizedSearchCV)

from ..core.validation import check_seed
from ..errors import ConfigError, DataError
from .dask_cluster import ClusterInfo, dask_client, fit_on_dask

TIMING = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands, as given to the ``progress`` callback after each group of fits.

    Attributes
    ----------
    done, total : int
        Fits finished and fits in all (candidates × folds).
    best_score : float
        The best mean cross-validated score so far.
    best_params : dict
        The candidate that has it.
    """

    done: int
    total: int
    best_score: float
    best_params: dict


class _Grouped:
    """Evaluates the search's candidates in groups of ``_group``, reporting after each group.

    ``sweep`` sets ``_group``, ``_n_folds`` and ``_progress`` on the instance; the callback
    stays in this process (it is left out when the search is pickled: scikit-learn sends the
    search with its fits).
    """

    _group: int = 0
    _n_folds: int = 1
    _progress: Callable | None = None

    def _run_search(self, evaluate_candidates):
        candidates = list(self._candidates())
        group = self._group or len(candidates)
        if not _install_fit_error_collector():
            group = len(candidates)  # one call: scikit-learn's own check is then the sweep's
        errors, results = [], {"mean_test_score": np.zeros(0)}
        _active()[id(self)] = errors
        try:
            # scikit-learn's per-call warnings, said once below (catch_warnings is the
            # process's: two sweeps in two threads share the filter for a while)
            with warnings.catch_warnings():
                for message in _PER_CALL_WARNINGS:
                    warnings.filterwarnings("ignore", message, UserWarning)
                for start in range(0, len(candidates), group):
                    results = evaluate_candidates(candidates[start:start + group])
                    self._report(results, len(candidates))
        finally:
            _active().pop(id(self), None)
        _judge_fit_errors(errors, len(candidates) * self._n_folds)
        if not np.isfinite(results["mean_test_score"]).all():
            warnings.warn(f"One or more of the test scores are non-finite: "
                          f"{results['mean_test_score']}", UserWarning, stacklevel=2)

    def _report(self, results, n_candidates: int) -> None:
        if self._progress is not None:
            best = int(np.argmin(results["rank_test_score"]))
            self._progress(SweepProgress(
                len(results["params"]) * self._n_folds, n_candidates * self._n_folds,
                float(results["mean_test_score"][best]), results["params"][best]))

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        state.pop("_progress", None)
        return state


# the grouped searches running in this thread: id(search) → the fit errors collected for it
_COLLECTING = threading.local()
_SKLEARN_CHECK = {}  # scikit-learn's own check, once replaced
# warned by scikit-learn after each group (the split's, said by _check_data; the NaN scores')
_PER_CALL_WARNINGS = ("The least populated class", "One or more of the test scores are non-finite")


def _active() -> dict:
    if not hasattr(_COLLECTING, "searches"):
        _COLLECTING.searches = {}
    return _COLLECTING.searches


def _collect_fit_errors(results, error_score):
    """scikit-learn's check after each ``evaluate_candidates`` call raises when every fit *of
    that call* failed: one hopeless group would end a grouped sweep, where one call gives NaN
    scores. A grouped search collects its own calls' errors here and judges them at its end
    (:func:`_judge_fit_errors`); any other search, one nested in a fit included, gets
    scikit-learn's check unchanged. The caller is ``evaluate_candidates``, a closure of the
    search's ``fit``: its ``self`` is the search."""
    caller = sys._getframe(1).f_locals.get("self")
    collected = _active().get(id(caller))
    if collected is None:
        return _SKLEARN_CHECK["check"](results, error_score)
    collected.extend(r["fit_error"] for r in results if r["fit_error"] is not None)


def _install_fit_error_collector() -> bool:
    """Put :func:`_collect_fit_errors` in scikit-learn's search module, once; False where
    this scikit-learn has no such check to replace (the search then runs in one call)."""
    from sklearn.model_selection import _search

    current = getattr(_search, "_warn_or_raise_about_fit_failures", None)
    if current is None:
        return False
    if current is not _collect_fit_errors:
        _SKLEARN_CHECK["check"] = current
        _search._warn_or_raise_about_fit_failures = _collect_fit_errors
    return True


def _judge_fit_errors(errors: list, total: int) -> None:
    """What scikit-learn does after one call: every fit failed → an error; some → a
    warning (here one, short, naming the first error: its last line)."""
    if not errors:
        return
    first = next((line for line in reversed(str(errors[0]).splitlines()) if line.strip()), "")
    if len(errors) == total:
        raise ConfigError(f"all {total} fits of the sweep failed, e.g. with {first.strip()}; "
                          "fix the estimator's parameters or the grid")
    from sklearn.exceptions import FitFailedWarning

    warnings.warn(f"{len(errors)} of {total} fits failed; their scores are NaN (the first "
                  f"failed with {first.strip()})", FitFailedWarning, stacklevel=2)


class GroupedGridSearchCV(_Grouped, GridSearchCV):
    """scikit-learn's GridSearchCV, its candidates evaluated in groups (same results)."""

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class GroupedRandomizedSearchCV(_Grouped, RandomizedSearchCV):
    """scikit-learn's RandomizedSearchCV, its candidates evaluated in groups (same results)."""

    def _candidates(self):
        return ParameterSampler(self.param_distributions, self.n_iter,
                                random_state=self.random_state)


def _check_grid(estimator, grid) -> dict:
    if not isinstance(grid, dict) or not grid:
        raise ConfigError("the grid must be a non-empty dict {parameter: [values]}, e.g. "
                          "{'hidden_layer_sizes': [(8,), (16,)], 'learning_rate_init': [0.01]}")
    known = estimator.get_params()
    for name, values in grid.items():
        if name not in known:
            raise ConfigError(f"{type(estimator).__name__} has no parameter {name!r}; sweep "
                              f"one of: {', '.join(sorted(known))}")
        if hasattr(values, "rvs"):
            continue  # a scipy.stats distribution (n_iter draws from it)
        if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
            raise ConfigError(f"grid[{name!r}] must be a list of the values to try, got "
                              f"{values!r}; write [{values!r}] for one value")
        if not len(values):
            raise ConfigError(f"grid[{name!r}] lists no value; give at least one")
    return grid


def _param_problem(estimator, params: dict) -> str | None:
    """What the estimator's own parameter check (mlplab's ``_check_params``, else scikit-learn's
    ``_validate_params``) says of it with ``params`` set, or None."""
    from sklearn.base import clone

    candidate = clone(estimator).set_params(**params)
    check = getattr(candidate, "_check_params", None) or getattr(candidate, "_validate_params",
                                                                 None)
    try:
        if check is not None:
            check()
    except (ValueError, TypeError) as exc:
        return " ".join(str(exc).split())
    return None


def _check_candidates(estimator, grid: dict, search) -> None:
    """Refuse, before any fit, a grid value the estimator refuses on its own (else its fits
    would fail one by one on the cluster); a combination of good values that cannot go
    together (solver='lbfgs' with dropout) scores NaN, as in scikit-learn, said once here."""
    with warnings.catch_warnings():  # what drawing them warns (n_iter > the grid) comes later
        warnings.simplefilter("ignore", UserWarning)
        candidates = list(search._candidates())
    own = _param_problem(estimator, {})
    if own is None:  # name the one bad value, when a value is bad on its own
        for name, values in grid.items():
            for value in [] if hasattr(values, "rvs") else values:
                problem = _param_problem(estimator, {name: value})
                if problem is not None:
                    raise ConfigError(f"grid value {name}={value!r} cannot be used: "
                                      f"{problem}; remove it from the grid")
    bad = [(params, problem) for params in candidates
           if (problem := _param_problem(estimator, params)) is not None]
    if own is not None and bad and len(bad) == len(candidates) and bad[0][1] == own:
        raise ConfigError(own)  # the estimator's own, unswept setting
    if bad and len(bad) == len(candidates):
        raise ConfigError(f"no combination of the grid can be used, e.g. {bad[0][0]}: "
                          f"{bad[0][1]}; change the grid")
    if bad:
        warnings.warn(f"{len(bad)} of the grid's {len(candidates)} combinations cannot be used "
                      f"(e.g. {bad[0][0]}: {bad[0][1]}); they score NaN", UserWarning,
                      stacklevel=3)


def _whole(value, low: int, high: float = math.inf) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
        low <= value <= high


def _check_options(scoring, n_iter, seed, n_jobs) -> None:
    if n_jobs is not None and not _whole(n_jobs, 1):
        raise ConfigError(f"n_jobs must be 1 (serial) or a number of workers ≥ 2, got {n_jobs!r}")
    if n_iter is not None and not _whole(n_iter, 1):
        raise ConfigError(f"n_iter must be a whole number ≥ 1 (the random candidates to try), "
                          f"got {n_iter!r}")
    check_seed(seed)
    if scoring is None or callable(scoring):
        return
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if not isinstance(scoring, str):
        raise ConfigError(f"scoring must be one scorer name or a callable, got {scoring!r}")
    if scoring not in names:
        import difflib

        close = difflib.get_close_matches(scoring, names, n=3)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise ConfigError(f"unknown scoring {scoring!r}; {hint}use a scikit-learn scorer name, "
                          "e.g. accuracy, f1_macro, r2 (sklearn.metrics.get_scorer_names())")


def _check_data(estimator, X, y, cv):
    """X and y as the search will pass them, and the folds, split once to see they can be."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv
    from sklearn.utils import indexable

    try:
        X, y = indexable(X, y)
    except ValueError as exc:
        raise DataError(f"X and y must have one row per sample: {exc}") from None
    if isinstance(cv, bool) or (isinstance(cv, numbers.Integral) and not _whole(cv, 2)):
        raise ConfigError(f"cv must be at least 2 folds, got {cv!r}")
    try:
        folds = check_cv(cv, y, classifier=is_classifier(estimator))
    except ValueError as exc:
        raise ConfigError(f"cv must be a number of folds ≥ 2 or a scikit-learn splitter: "
                          f"{exc}") from None
    try:
        list(folds.split(X, y))
    except ValueError as exc:
        raise DataError(f"cannot split these {len(y)} rows into cv={cv!r} folds: {exc} "
                        "Use fewer folds") from None
    return X, y, folds


def sweep(estimator, grid: dict, X, y, *, cv=5, scoring: str | Callable | None = None,
          n_iter: int | None = None, seed: int = 0, scheduler: str | None = None,
          n_jobs: int | None = None, progress: Callable[[SweepProgress], None] | None = None,
          on_cluster: Callable[[ClusterInfo], None] | None = None, timeout: float = 60.0):
    """Cross-validate every candidate of ``grid`` on a Dask cluster; refit the best.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor (or any scikit-learn estimator)
        Cloned, never modified. Without a ``random_state`` it gets ``seed``, so that every
        candidate starts from the same weights on every run.
    grid : dict
        ``{parameter: [values]}``, e.g. ``{"hidden_layer_sizes": [(8,), (32,)],
        "learning_rate_init": [0.001, 0.01]}``; with ``n_iter`` the values may also be
        scipy.stats distributions.
    X : (n_samples, n_features) array
    y : (n_samples,) array
    cv : int or scikit-learn splitter, default 5
        Folds (stratified for classifiers, as scikit-learn does).
    scoring : str or callable, optional
        A scikit-learn scorer name (``"accuracy"``, ``"r2"``, …); default the estimator's
        ``score``.
    n_iter : int, optional
        Try this many random candidates (RandomizedSearchCV, seeded by ``seed``) instead of
        the whole grid.
    seed : int
        The estimator's ``random_state`` when it has none, and the random search's seed.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler; default: an embedded LocalCluster
        on 127.0.0.1, shut down afterwards.
    n_jobs : int, optional
        1: run in this process without Dask (the serial reference). Otherwise the embedded
        cluster's worker count (default: one per core).
    progress : callable, optional
        Called with a :class:`SweepProgress` after each group of fits.
    on_cluster : callable, optional
        Called with the :class:`~.dask_cluster.ClusterInfo` once the cluster is up.
    timeout : float
        Seconds to wait for the cluster to answer.

    Returns
    -------
    GridSearchCV or RandomizedSearchCV, fitted
        ``cv_results_``, ``best_params_``, ``best_score_`` and ``best_estimator_`` (refit on
        all of ``X`` in this process) as scikit-learn gives them.
    """
    from joblib import parallel_config
    from sklearn.base import clone

    _check_options(scoring, n_iter, seed, n_jobs)
    estimator = clone(estimator)
    if "random_state" in estimator.get_params() and estimator.random_state is None:
        estimator.set_params(random_state=seed)
    grid = _check_grid(estimator, grid)
    X, y, folds = _check_data(estimator, X, y, cv)  # the very objects the fits get: scattered
    if n_iter is None:
        search = GroupedGridSearchCV(estimator, grid, scoring=scoring, cv=folds)
    else:
        search = GroupedRandomizedSearchCV(estimator, grid, n_iter=n_iter, scoring=scoring,
                                           cv=folds, random_state=seed)
    _check_candidates(estimator, grid, search)
    search._progress, search._n_folds = progress, folds.get_n_splits(X, y)
    if n_jobs == 1 and scheduler is None:
        search._group = 1  # report after every candidate
        with parallel_config(backend="sequential"):
            return search.fit(X, y)
    with dask_client(scheduler, n_jobs, timeout) as (client, info):
        if on_cluster is not None:
            on_cluster(info)
        # a group of about four times as many fits as run at once keeps every worker busy
        search._group = max(1, math.ceil(4 * info.threads / search._n_folds))
        search.n_jobs = -1
        return fit_on_dask(search, X, y, client, timeout)


def ranked(search, top: int | None = None) -> list[dict]:
    """The candidates of a fitted search, best first: ``rank``, ``params``, ``mean``, ``std``
    (of the test score over the folds) and ``fit_time`` (mean seconds per fit); ``top``: the
    first ``top`` only."""
    if top is not None and not _whole(top, 1):
        raise ConfigError(f"top must be a number of rows ≥ 1, got {top!r}")
    r = search.cv_results_
    order = np.argsort(r["rank_test_score"], kind="stable")[:top]
    return [{"rank": int(r["rank_test_score"][i]), "params": r["params"][i],
             "mean": float(r["mean_test_score"][i]), "std": float(r["std_test_score"][i]),
             "fit_time": float(r["mean_fit_time"][i])} for i in order]
