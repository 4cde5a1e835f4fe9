"""Bad input gets a clear mlplab error naming the problem and its fix."""

import warnings

import numpy as np
import pytest

import mlplab
from mlplab import ConfigError, DataError, MlplabError, Network
from mlplab.layers import Dense, Input

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


@pytest.mark.parametrize("values, bad_rows", [
    ([[1.0, 2.0], [np.nan, 0.0], [3.0, 4.0]], "row 1"),  # a NaN: the sum is NaN
    ([[1.0, np.inf], [0.0, -np.inf], [3.0, 4.0]], "row 0 and 1 more"),  # inf − inf: NaN
    ([[3e38, 3e38], [3e38, 3e38], [np.inf, 0.0]], "row 2"),  # the sum overflows anyway
    ([[3e38, 3e38], [3e38, 3e38], [3e38, 0.0]], None),  # finite, whose float32 sum overflows
])
@pytest.mark.parametrize("sum_first", [True, False])  # the sum's path, and the element-wise one
def test_the_finiteness_check_names_rows_and_lets_large_finite_values_through(values, bad_rows,
                                                                           sum_first,
                                                                           monkeypatch):
    from mlplab.core import validation
    from mlplab.core.validation import check_finite

    if sum_first:  # small arrays go element-wise: take the sum's path from one value on
        monkeypatch.setattr(validation, "SUM_FIRST", 1)
    X = np.array(values, dtype=np.float32)
    if bad_rows is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nor a warning of the sum's overflow
            check_finite(X)  # the sum is inf, every value finite: no error
        with np.errstate(over="ignore"):
            assert not np.isfinite(np.sum(X))
    else:
        with pytest.raises(DataError, match=f"X contains NaN or inf \\({bad_rows}\\)"):
            check_finite(X)


def test_the_finiteness_check_of_large_data_makes_no_temporary_of_its_size():
    """Above SUM_FIRST values, finite data is summed, not compared element by element into a
    boolean array as large as X (47 MB for 60,000 × 784 floats); NumPy reports its
    allocations to tracemalloc."""
    import tracemalloc

    from mlplab.core.validation import SUM_FIRST, check_finite

    X = np.random.default_rng(0).standard_normal((SUM_FIRST // 100 + 1, 100))
    tracemalloc.start()
    try:
        check_finite(X)
        peak = tracemalloc.get_traced_memory()[1]
        X[-1, -1] = np.nan  # and NaN still found, by the element-wise check
        with pytest.raises(DataError, match=f"row {len(X) - 1}"):
            check_finite(X)
        assert tracemalloc.get_traced_memory()[1] >= X.size  # which makes the temporary
    finally:
        tracemalloc.stop()
    assert peak < X.size // 10


@pytest.mark.parametrize("make,message", [
    (lambda: mlplab.Network([2, 2, 1], dtype="float16x"),
     "dtype must be float32 or float64, got 'float16x'"),
    (lambda: mlplab.Network([2, 2, 1], dtype=object()), "dtype must be float32 or float64"),
    (lambda: mlplab.Network.from_layers([Input(2), "dense", Dense(None, 1)]),
     "item 1 is str 'dense', not a layer"),
    (lambda: mlplab.Network([2, 2, 1]).fit(np.eye(2), np.ones((2, 1)), max_epochs=1,
                                           callbacks=5), "callbacks must be a list"),
])
def test_arguments_of_the_wrong_kind_are_config_errors(make, message):
    with pytest.raises(mlplab.errors.ConfigError, match=message):
        make()


@pytest.mark.parametrize("output,Y,message", [
    ("softmax", np.full((8, 2), 2.0), r"Y holds values outside \[0, 1\]"),
    ("softmax", -np.eye(2)[[0, 1] * 4], r"Y holds values outside \[0, 1\]"),
    ("softmax", np.zeros((8, 2)), r"rows must each sum to 1 .*\(8 do not\)"),
    ("softmax", np.ones((8, 2)), r"rows must each sum to 1"),
    ("sigmoid", np.full(8, 3.0), r"Y holds values outside \[0, 1\]"),
])
def test_cross_entropy_refuses_targets_that_are_not_probabilities(output, Y, message):
    """Beyond probabilities the cross-entropy has no minimum: y = 2 drives z to infinity."""
    X = np.random.default_rng(0).random((8, 3))
    net = Network([3, 4, Y.shape[1] if Y.ndim == 2 else 1], activation="relu", output=output,
                  loss="cross_entropy", seed=0)
    before = [p.copy() for p in net.params]
    with pytest.raises(DataError, match=message):
        net.fit(X, Y, max_epochs=2)
    with pytest.raises(DataError, match="validation Y"):  # the held-out targets too
        ok = np.eye(2)[[0, 1] * 4] if output == "softmax" else np.ones(8)
        net.fit(X, ok, max_epochs=2, validation_data=(X, Y))
    assert all(np.array_equal(a, b) for a, b in zip(before, net.params))  # nothing trained


@pytest.mark.parametrize("output,Y", [
    ("softmax", np.tile([0.3, 0.7], (8, 1))),       # soft labels
    ("softmax", np.array([0, 1] * 4)),              # class labels
    ("sigmoid", np.linspace(0, 1, 8)),             # probabilities
])
def test_cross_entropy_takes_labels_and_soft_labels(output, Y):
    X = np.random.default_rng(0).random((8, 3))
    net = Network([3, 4, 2 if output == "softmax" else 1], activation="relu", output=output,
                  loss="cross_entropy", seed=0)
    assert len(net.fit(X, Y, max_epochs=2).loss) == 2
