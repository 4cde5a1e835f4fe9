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
  scikit-learn's own order, so ``cv_results_`` is the same as one call would give.

A fit is a pure function of its parameters, fold and seed, so a sweep on any cluster gives
the ``cv_results_`` of the serial run (``n_jobs=1``), apart from the timing columns. A worker
that dies mid-sweep loses nothing: the scheduler reruns its fits on the other workers (up to
``distributed.scheduler.allowed-failures`` deaths per fit), and a search whose fits lost
inputs with the worker (``X`` and ``y`` where no other worker held them yet, or joblib's
per-call scatter of fold indices) runs again with its data scattered anew
(:func:`_fit_on_dask`).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.model_selection import (GridSearchCV, ParameterGrid, ParameterSampler,
                                     RandomizedSearchCV)

from ..errors import ConfigError
from .dask_cluster import ClusterInfo, dask_client

LOST_DATA_RETRIES = 3
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
        for start in range(0, len(candidates), group):
            results = evaluate_candidates(candidates[start:start + group])
            if self._progress is not None:
                best = int(np.argmin(results["rank_test_score"]))
                self._progress(SweepProgress(
                    len(results["params"]) * self._n_folds, len(candidates) * self._n_folds,
                    float(results["mean_test_score"][best]), results["params"][best]))

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        state.pop("_progress", None)
        return state


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
        if not hasattr(values, "rvs") and (isinstance(values, str) or not len(values)):
            raise ConfigError(f"grid[{name!r}] must list the values to try, got {values!r}")
    return grid


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
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import check_cv
    from sklearn.utils import indexable

    estimator = clone(estimator)
    if "random_state" in estimator.get_params() and estimator.random_state is None:
        estimator.set_params(random_state=seed)
    grid = _check_grid(estimator, grid)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs < 1):
        raise ConfigError(f"n_jobs must be 1 (serial) or a number of workers ≥ 2, got {n_jobs!r}")
    X, y = indexable(X, y)  # the very objects the search passes to each fit: scattered below
    folds = check_cv(cv, y, classifier=is_classifier(estimator))
    if n_iter is None:
        search = GroupedGridSearchCV(estimator, grid, scoring=scoring, cv=folds)
    else:
        search = GroupedRandomizedSearchCV(estimator, grid, n_iter=n_iter, scoring=scoring,
                                           cv=folds, random_state=seed)
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
        return _fit_on_dask(search, X, y, client, timeout)


def _fit_on_dask(search, X, y, client, timeout: float):
    # The scheduler reruns the fits of a worker that dies. But the data a fit needs may have
    # lived on that worker only (joblib scatters each call's fold indices to one worker): the
    # fits needing it are cancelled. Then the search runs again with its data scattered anew
    # to the workers alive; the same seeds give the same results.
    from joblib import parallel_config

    for attempt in range(LOST_DATA_RETRIES):
        try:
            with parallel_config(backend="dask", client=client,
                                 wait_for_workers_timeout=timeout) as config:
                _scatter_once(config["backend"], client, X, y, timeout)
                return search.fit(X, y)
        except CancelledError:
            if attempt == LOST_DATA_RETRIES - 1:
                raise
            time.sleep(1.0)  # the scheduler notices the dead worker first


def _scatter_once(backend, client, X, y, timeout: float) -> None:
    """Send X and y to the cluster once, and have joblib's Dask backend refer every fit's task
    to them. joblib's own ``scatter=`` broadcasts them (``Client.scatter(broadcast=True)``),
    whose replication between workers hung for good in our tests on a loaded 2-core machine
    (a known Dask issue: dask/distributed#4907). Here they go to one worker, within
    ``timeout``; each other worker fetches them from there when its first fit needs them, by
    Dask's ordinary dependency transfer. Sets the two attributes joblib's backend keeps its
    scattered data in (joblib 1.3–1.6), checked."""
    if not (hasattr(backend, "data_futures") and hasattr(backend, "_scatter")):
        raise ConfigError("this joblib's Dask backend keeps no data_futures (mlplab's sweep was "
                          "tested with joblib 1.3 to 1.6): pip install 'joblib<1.7'")
    holder = next(iter(client.scheduler_info()["workers"]))  # both on one worker
    futures = client.scatter([X, y], workers=[holder], hash=False, timeout=timeout)
    backend._scatter = [X, y]  # keeps the objects alive, so their ids stay theirs
    backend.data_futures = {id(X): futures[0], id(y): futures[1]}


def ranked(search, top: int | None = None) -> list[dict]:
    """The candidates of a fitted search, best first: ``rank``, ``params``, ``mean``, ``std``
    (of the test score over the folds) and ``fit_time`` (mean seconds per fit)."""
    r = search.cv_results_
    order = np.argsort(r["rank_test_score"], kind="stable")[:top]
    return [{"rank": int(r["rank_test_score"][i]), "params": r["params"][i],
             "mean": float(r["mean_test_score"][i]), "std": float(r["std_test_score"][i]),
             "fit_time": float(r["mean_fit_time"][i])} for i in order]


@dataclass
class CsvSweep:
    """A sweep over a CSV table (:func:`sweep_csv`).

    Attributes
    ----------
    search : the fitted GridSearchCV or RandomizedSearchCV
    encoder, target : the fitted :class:`~mlplab.preprocessing.TabularEncoder` and
        :class:`~mlplab.preprocessing.TargetEncoder` (fitted on every row of the file)
    scoring : str
        The score's name (``"accuracy"``, ``"r2"``, or the one given).
    """

    search: object
    encoder: object
    target: object
    scoring: str

    def extra(self) -> dict:
        """The JSON saved beside the best network, as ``mlplab train --csv`` saves it."""
        from ..datasets.csv_model import CsvRun

        metrics = {f"cv_{self.scoring}": float(self.search.best_score_)}
        return CsvRun(self.search.best_estimator_.net_, self.encoder, self.target,
                      np.empty(0), metrics=metrics).extra()


def sweep_csv(path, target: str, grid: dict, *, task: str = "auto",
              estimator_params: dict | None = None, scoring: str | None = None,
              **options) -> CsvSweep:
    """:func:`sweep` over any CSV table, encoded as ``mlplab train --csv`` encodes it.

    Parameters
    ----------
    path : str or path-like
    target : str
        The column to predict; classification or regression as ``task`` says (``"auto"``:
        text or few integers are classes).
    grid : dict
        Parameters of :class:`mlplab.MLPClassifier` / :class:`mlplab.MLPRegressor`.
    estimator_params : dict, optional
        The estimator's fixed parameters (those not swept).
    scoring : str, optional
        Default: accuracy for classification, R² for regression.
    **options
        Passed to :func:`sweep` (``cv``, ``n_iter``, ``seed``, ``scheduler``, ``n_jobs``,
        ``progress``, ``on_cluster``, ``timeout``).
    """
    from ..datasets.csv_model import encode_csv
    from ..datasets.preprocessing import _plain
    from . import MLPClassifier, MLPRegressor

    X, y, encoder, y_enc = encode_csv(path, target, task)
    regression = y_enc.task == "regression"
    estimator = (MLPRegressor if regression else MLPClassifier)(**(estimator_params or {}))
    search = sweep(estimator, grid, X, y, scoring=scoring, **options)
    if not regression:
        y_enc.classes = [_plain(c) for c in search.best_estimator_.classes_]
    return CsvSweep(search, encoder, y_enc, scoring or ("r2" if regression else "accuracy"))
