"""What :func:`mlplab.sklearn.sweep.sweep` checks before a cluster starts or any fit runs:
the options, the grid (each value by the estimator's own parameter check), the data and the
folds. Each problem is a ConfigError or DataError naming the fix."""

from __future__ import annotations

import math
import numbers
import warnings

from ..core.validation import check_seed
from ..errors import ConfigError, DataError


def check_grid(estimator, grid) -> dict:
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


def check_candidates(estimator, grid: dict, search) -> None:
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


def whole(value, low: int, high: float = math.inf) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
        low <= value <= high


def check_options(scoring, n_iter, seed, n_jobs) -> None:
    if n_jobs is not None and not whole(n_jobs, 1):
        raise ConfigError(f"n_jobs must be 1 (serial) or a number of workers ≥ 2, got {n_jobs!r}")
    if n_iter is not None and not whole(n_iter, 1):
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


def check_data(estimator, X, y, cv):
    """X and y as the search will pass them, and the folds, split once to see they can be."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv
    from sklearn.utils import indexable

    try:
        X, y = indexable(X, y)
    except ValueError as exc:
        raise DataError(f"X and y must have one row per sample: {exc}") from None
    if isinstance(cv, bool) or (isinstance(cv, numbers.Integral) and not whole(cv, 2)):
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
