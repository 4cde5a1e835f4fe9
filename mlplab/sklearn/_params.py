"""The estimators' parameter rules: scikit-learn's, raised as mlplab's :class:`ConfigError`.

scikit-learn checks each parameter against a declared rule when ``fit`` starts
(``_parameter_constraints``); mlplab's estimators check the same rules here, so a value
scikit-learn refuses is refused (naming the parameter, the rule and the value), and a value
it accepts is accepted, except where mlplab keeps the lecture's stricter range (a learning
rate α ∈ (0, 1]; momentum below 1 where it is used). ``tests/test_sklearn_params.py`` reads
scikit-learn's declared rules from the installed package and checks both directions.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..core.validation import MAX_SEED  # scikit-learn's random_state: an int up to it
from ..errors import ConfigError


class ParamCheck:
    """The checks of one estimator's parameters: each raises a ConfigError that names
    the estimator, the parameter, its rule and the value it got."""

    def __init__(self, estimator):
        self.est, self.owner = estimator, type(estimator).__name__

    def bad(self, name: str, rule: str):
        raise ConfigError(f"{self.owner}: {name} must be {rule}, "
                          f"got {getattr(self.est, name)!r}")

    def number(self, name: str, low: float, high: float = np.inf, open_ends: str = "",
               note: str = "") -> None:
        """A finite real number in [low, high]; ``open_ends`` ("low", "high") opens an end."""
        v = getattr(self.est, name)
        if (isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v)
                or not low <= v <= high or ("low" in open_ends and v == low)
                or ("high" in open_ends and v == high)):
            right = ")" if "high" in open_ends or high == np.inf else "]"
            self.bad(name, f"a number in {'(' if 'low' in open_ends else '['}{low}, {high}"
                           f"{right}{note}")

    def integer(self, name: str, minimum: int = 1, allow_inf: bool = False) -> None:
        v = getattr(self.est, name)
        if allow_inf and v == np.inf:
            return
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            self.bad(name, f"an integer ≥ {minimum}" + (" or numpy.inf" if allow_inf else ""))

    def flags(self, *names: str) -> None:
        """True or False (a NumPy bool too); 1, 0 or 'yes' are refused, as scikit-learn does."""
        for name in names:
            if not isinstance(getattr(self.est, name), (bool, np.bool_)):
                self.bad(name, "True or False")

    def verbose(self) -> None:
        v = self.est.verbose
        if not isinstance(v, (bool, np.bool_)) and (
                not isinstance(v, numbers.Integral) or v < 0):
            self.bad("verbose", "True, False or an integer ≥ 0")

    def random_state(self) -> None:
        v = self.est.random_state
        if v is None or isinstance(v, np.random.RandomState):
            return
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v <= MAX_SEED:
            self.bad("random_state", f"None, an integer in [0, {MAX_SEED}] or a "
                                     "numpy.random.RandomState")

    def n_jobs(self) -> None:
        v = self.est.n_jobs
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            self.bad("n_jobs", "None or an integer (-1: every core)")
