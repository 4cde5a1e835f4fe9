"""The estimators' parameters against scikit-learn's declared rules, read at run time.

For each parameter scikit-learn declares a rule (``_parameter_constraints``); its own helpers
make a value outside each rule and one inside it. Those, and a set of probes every parameter
gets ('yes', NaN, inf, -1, 1.5, ...), are given to scikit-learn's estimator and to mlplab's:
a value scikit-learn refuses must be refused by mlplab with a ConfigError naming the
parameter; a value it accepts must be accepted, except where mlplab keeps the lecture's
stricter range (``LECTURE_RANGE``).
"""

import math
import numbers
import warnings

import numpy as np
import pytest

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.utils._param_validation import (InvalidParameterError, generate_invalid_param_val,
                                             generate_valid_param, make_constraint)

from mlplab import MLPClassifier, MLPRegressor
from mlplab.errors import ConfigError
from mlplab.sklearn.perceptron import Perceptron

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RNG = np.random.RandomState(0)
X = RNG.rand(30, 3)
Y_CLASS = (X[:, 0] > 0.5).astype(int)
PAIRS = {"MLPClassifier": (MLPClassifier, SkClassifier, Y_CLASS),
         "MLPRegressor": (MLPRegressor, SkRegressor, X[:, 1]),
         "Perceptron": (Perceptron, SkPerceptron, Y_CLASS)}
PROBES = ["yes", math.nan, math.inf, -math.inf, -1, 0, 0.0, 0.5, 1, 1.0, 1.5, 2, True, None,
          np.float32(0.25), np.int64(3), 2**32]
# what scikit-learn accepts and mlplab refuses on purpose: the lecture's α ∈ (0, 1]
LECTURE_RANGE = {"learning_rate_init": lambda v: v > 1}


def mlplab_stricter(sk_class, name, value):
    """mlplab's refusals of values scikit-learn takes: a learning rate above the lecture's
    range, and True or False where a number goes (scikit-learn reads them as 1 and 0)."""
    if isinstance(value, (bool, np.bool_)):
        return not {"boolean", "verbose"} & {r for r in sk_class._parameter_constraints[name]
                                             if isinstance(r, str)}
    rule = LECTURE_RANGE.get(name)
    return rule is not None and isinstance(value, numbers.Real) and rule(value)


def probes(sk_class, name):
    values = list(PROBES)
    for rule in sk_class._parameter_constraints[name]:
        constraint = make_constraint(rule)
        for make in (generate_invalid_param_val, generate_valid_param):
            try:
                values.append(make(constraint))
            except (NotImplementedError, ValueError):
                pass  # no value of that kind for this rule
    return values


def sklearn_verdict(sk_class, kw, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sk_class(**kw).fit(X, y)
        except InvalidParameterError:
            return "refused"
        except Exception:  # accepted by the rules, failed later (e.g. no split for 0.0)
            return "failed"
    return "accepted"


CASES = [(est, name) for est, (_, sk, _) in PAIRS.items() for name in sk._parameter_constraints]


@pytest.mark.parametrize("estimator,name", CASES, ids=[f"{e}-{n}" for e, n in CASES])
def test_parameter_follows_sklearn_rule(estimator, name):
    ours, theirs, y = PAIRS[estimator]
    checked = 0
    for value in probes(theirs, name):
        kw = {"max_iter": 2, name: value} if name != "max_iter" else {name: value}
        verdict = sklearn_verdict(theirs, kw, y)
        if verdict == "failed":
            continue
        checked += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if verdict == "refused" or mlplab_stricter(theirs, name, value):
                with pytest.raises(ConfigError, match=f"{estimator}: {name} must be"):
                    ours(**kw).fit(X, y)
            else:
                try:
                    ours(**kw).fit(X, y)
                except ConfigError as exc:
                    pytest.fail(f"{name}={value!r}: scikit-learn accepts it, mlplab said {exc}")
    assert checked >= 5, f"{name}: only {checked} probes could be compared"
