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
checked before the cluster starts (:mod:`._sweep_checks`): a ConfigError or DataError names the
fix.

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
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.model_selection import (GridSearchCV, ParameterGrid, ParameterSampler,
                                     RandomizedSearchCV)

from ..errors import ConfigError
from ._sweep_checks import check_candidates, check_data, check_grid, check_options, whole
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

    check_options(scoring, n_iter, seed, n_jobs)
    estimator = clone(estimator)
    if "random_state" in estimator.get_params() and estimator.random_state is None:
        estimator.set_params(random_state=seed)
    grid = check_grid(estimator, grid)
    X, y, folds = check_data(estimator, X, y, cv)  # the very objects the fits get: scattered
    if n_iter is None:
        search = GroupedGridSearchCV(estimator, grid, scoring=scoring, cv=folds)
    else:
        search = GroupedRandomizedSearchCV(estimator, grid, n_iter=n_iter, scoring=scoring,
                                           cv=folds, random_state=seed)
    check_candidates(estimator, grid, search)
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
    if top is not None and not whole(top, 1):
        raise ConfigError(f"top must be a number of rows ≥ 1, got {top!r}")
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

        search = self.search
        metrics = {f"cv_{self.scoring}": float(search.best_score_)}
        plain = (bool, int, float, str, type(None))
        best = {name: value if isinstance(value, plain) else str(value)
                for name, value in search.best_params_.items()}  # what `mlplab show` lists
        settings = {"made by": "mlplab sweep", "candidates": len(search.cv_results_["params"]),
                    "folds": int(search.n_splits_), "scoring": self.scoring, **best}
        return {"training": settings,
                **CsvRun(search.best_estimator_.net_, self.encoder, self.target, np.empty(0),
                         metrics=metrics).extra()}


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
    from ..datasets.preprocessing import plain_label
    from . import MLPClassifier, MLPRegressor

    X, y, encoder, y_enc = encode_csv(path, target, task)
    regression = y_enc.task == "regression"
    estimator = (MLPRegressor if regression else MLPClassifier)(**(estimator_params or {}))
    search = sweep(estimator, grid, X, y, scoring=scoring, **options)
    if not regression:
        y_enc.classes = [plain_label(c) for c in search.best_estimator_.classes_]
    return CsvSweep(search, encoder, y_enc, scoring or ("r2" if regression else "accuracy"))
