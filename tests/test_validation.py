"""Bad input gets a clear mlplab error naming the problem and its fix."""

import numpy as np
import pytest

import mlplab
from mlplab import ConfigError, DataError, MlplabError, Network

X, Y = mlplab.datasets.xor()


def net():
    return Network([2, 2, 1], seed=0)


@pytest.mark.parametrize("call,error,message", [
    (lambda: net().fit(X, Y[:3]), DataError, "X has 4 rows but Y has 3"),
    (lambda: net().predict(np.ones((2, 3))), DataError, "3 features but the network expects 2"),
    (lambda: net().fit(np.where(X == 1, np.nan, X), Y), DataError, "X contains NaN or inf"),
    (lambda: net().fit(X, np.full((4, 1), np.inf)), DataError, "Y contains NaN or inf"),
    (lambda: net().fit(np.ones((0, 2)), np.ones((0, 1))), DataError, "X is empty"),
    (lambda: net().fit(X, Y, learning_rate=0), ConfigError, r"α must be in \(0, 1\]"),
    (lambda: net().fit(X, Y, learning_rate=1.01), ConfigError, r"α must be in \(0, 1\]"),
    (lambda: net().fit(X, Y, epsilon=0), ConfigError, "epsilon ε must be > 0"),
    (lambda: net().fit(X, Y, epsilon=-1e-3), ConfigError, "epsilon ε must be > 0"),
    (lambda: Network([2, 2, 1], activation="swish"), ConfigError, "unknown activation 'swish'"),
    (lambda: Network([2, 2, 1], loss="hinge"), ConfigError, "unknown loss 'hinge'"),
    (lambda: net().fit(X, Y, optimizer="lbfgs"), ConfigError, "unknown optimizer 'lbfgs'"),
    (lambda: Network([2, 2, 1], activation="step").fit(X, Y), ConfigError, "derivative is 0"),
    (lambda: Network([2, 2, 1], init="orthogonal"), ConfigError, "unknown init 'orthogonal'"),
    (lambda: Network([2]), ConfigError, "at least two layer sizes"),
    (lambda: Network([2, 0, 1]), ConfigError, "every layer size must be an integer ≥ 1"),
    (lambda: net().fit(X[:, 0], Y), DataError, "must be 2-D.*reshape"),
    (lambda: net().fit(np.array([["a", "b"]] * 4), Y), DataError, "must be numeric"),
    (lambda: net().fit(X, np.ones((4, 2))), DataError, "Y has 2 columns but the network has 1"),
    (lambda: net().fit(X, Y, max_epochs=0), ConfigError, "max_epochs must be an integer ≥ 1"),
    (lambda: net().fit(X, Y, batch_size=-4), ConfigError, "batch_size must be an integer ≥ 1"),
    (lambda: Network([2, 3], loss="cross_entropy").fit(X, np.array([0, 1, 2, 5])), DataError,
     "labels must be 0..2"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, MlplabError) and isinstance(info.value, ValueError)


def test_errors_leave_the_network_unchanged():
    n = net()
    before = [p.copy() for p in n.params]
    with pytest.raises(DataError):
        n.fit(X, Y[:2])
    assert all(np.array_equal(a, b) for a, b in zip(before, n.params))
