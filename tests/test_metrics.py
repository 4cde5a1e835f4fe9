"""Metrics: scikit-learn's numbers, reached from every shape a Network produces."""

import numpy as np
import pytest
from sklearn import metrics as sk

import mlplab
from mlplab import Network, metrics

Y_TRUE = np.array([1, 0, 1, 1, 0, 0, 1, 0])
Y_PRED = np.array([1, 0, 0, 1, 1, 0, 1, 0])
# TP = 3 (rows 0, 3, 6), FN = 1 (row 2), FP = 1 (row 4), TN = 3


def test_binary_metrics_by_hand():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == 6 / 8
    assert metrics.precision(Y_TRUE, Y_PRED) == 3 / 4  # TP / (TP + FP)
    assert metrics.recall(Y_TRUE, Y_PRED) == 3 / 4  # TP / (TP + FN)
    assert metrics.f1(Y_TRUE, Y_PRED) == pytest.approx(3 / 4)
    assert metrics.confusion_matrix(Y_TRUE, Y_PRED).tolist() == [[3, 1], [1, 3]]


def test_network_shapes_are_understood():
    column = Y_PRED.reshape(-1, 1)  # net.predict of a sigmoid network
    proba = np.where(column == 1, 0.8, 0.3)  # net.predict_proba
    onehot = np.eye(2)[Y_PRED]  # softmax output or one-hot targets
    for pred in (column, proba, onehot, Y_PRED.astype(float)):
        assert metrics.accuracy(Y_TRUE.reshape(-1, 1), pred) == 6 / 8
        assert metrics.confusion_matrix(np.eye(2)[Y_TRUE], pred).tolist() == [[3, 1], [1, 3]]


def test_multiclass_defaults_to_macro_average_like_sklearn():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    assert metrics.f1(t, p) == pytest.approx(sk.f1_score(t, p, average="macro"))
    assert metrics.precision(t, p, average="micro") == pytest.approx(
        sk.precision_score(t, p, average="micro"))
    assert metrics.confusion_matrix(t, p, n_classes=4).shape == (4, 4)


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(30, 2))
    p = t + 0.1 * rng.normal(size=(30, 2))
    assert metrics.mse(t, p) == pytest.approx(sk.mean_squared_error(t, p))
    assert metrics.r2(t, p) == pytest.approx(sk.r2_score(t, p))
    assert metrics.r2(t, t) == 1.0
    assert metrics.mse(t[:, 0], t[:, 0]) == 0.0


def test_evaluate_a_trained_classifier_and_regressor():
    X, y = mlplab.datasets.moons(80, 0.1, seed=0)
    net = Network([2, 16, 1], activation="tanh", loss="cross_entropy", seed=0)
    net.fit(X, y, optimizer="adam", learning_rate=0.05, max_epochs=300, epsilon=None)
    report = metrics.evaluate(net, X, y)
    assert report["accuracy"] == pytest.approx(net.score(X, y))
    assert np.trace(report["confusion_matrix"]) == round(report["accuracy"] * 80)
    assert report["f1"] == pytest.approx(sk.f1_score(y, net.predict(X)[:, 0]))

    soft = Network([2, 16, 3], activation="tanh", loss="cross_entropy", seed=0)
    report = metrics.evaluate(soft, X, y)  # untrained; 3 classes even if class 2 never occurs
    assert np.array(report["confusion_matrix"]).shape == (3, 3)

    reg = Network([2, 8, 1], activation="tanh", output="identity", loss="mse", seed=0)
    target = X[:, :1] * 2
    reg.fit(X, target, optimizer="adam", learning_rate=0.05, max_epochs=300, epsilon=None)
    report = metrics.evaluate(reg, X, target)
    assert set(report) == {"mse", "r2"} and report["r2"] > 0.9


@pytest.mark.parametrize("t, p, match", [
    (np.array([0, 1, 1]), np.array([0, 1]), "3 samples but y_pred has 2"),
    (np.array([0, 1]), np.array([0.2, 1.7]), "neither labels nor probabilities"),
    (np.array([0, np.nan]), np.array([0, 1]), "NaN"),
    (np.array([]), np.array([]), "non-empty"),
    (np.array(["a", "b"], dtype=object), np.array([0, 1]), "numeric"),
])
def test_bad_inputs_are_data_errors(t, p, match):
    with pytest.raises(mlplab.DataError, match=match):
        metrics.accuracy(t, p)


def test_regression_shape_mismatch_is_a_data_error():
    with pytest.raises(mlplab.DataError, match="must match"):
        metrics.mse(np.zeros((4, 2)), np.zeros((4, 1)))
