"""The last two dense layers' small work in one call (mlplab.accel.dense_updates.OutputTail):
fits whose tail takes it end where the core's fits end (scikit-learn's losses, softmax with
cross-entropy, the unit-wise outputs, sample weights, both layouts of W, float32 and float64);
a diverging batch is not stepped; and what it does not take runs the usual passes."""

import warnings

import numpy as np
import pytest

import mlplab
from mlplab.accel import dense, dense_updates, products
from mlplab.core import plugins

from divergence import assert_a_diverging_batch_is_not_stepped

pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")


def _spied(monkeypatch):
    """Fits as where MKL and numba share 2 TBB threads; returns the lists of what each
    OutputTail call and each GradientSteps call returned."""
    if products.mkl_kernels() is None:
        pytest.skip("needs numba and MKL with threads (pip install 'mlplab[mkl]')")
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread")
    monkeypatch.setenv("MLPLAB_MKL", "on")
    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    monkeypatch.setattr(dense, "shared_pool_threads", lambda: 2)
    tails, steps = [], []
    tail, step = dense_updates.OutputTail.__call__, dense_updates.GradientSteps.__call__
    monkeypatch.setattr(dense_updates.OutputTail, "__call__",
                        lambda self, *a: tails.append(tail(self, *a)) or tails[-1])
    monkeypatch.setattr(dense_updates.GradientSteps, "__call__",
                        lambda self, *a: steps.append(step(self, *a)) or steps[-1])
    return tails, steps


def _same(fast, core, rtol):
    for p, q in zip(fast, core):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("options", [{}, {"solver": "sgd"}, {"activation": "identity"},
                                     {"weights": True}])
def test_the_estimators_fits_end_where_the_cores_end(options, monkeypatch):
    tails, steps = _spied(monkeypatch)
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(300, 12)), rng.integers(0, 3, 300)
    weights = rng.random(300) + 0.5 if options.pop("weights", False) else None

    def fit():
        clf = mlplab.MLPClassifier(hidden_layer_sizes=(16, 9), max_iter=4, tol=0,
                                   random_state=0, batch_size=64, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return clf.fit(X, y, sample_weight=weights)

    fast = fit()
    assert len(tails) == 4 * 5 and all(t is not None for t in tails)  # every batch's tail
    assert steps == [True] * (4 * 5 * 2)  # and the two layers below it, by GradientSteps
    monkeypatch.setenv("MLPLAB_ACCEL", "off")
    core = fit()
    _same(fast.coefs_ + fast.intercepts_, core.coefs_ + core.intercepts_, 1e-9)
    np.testing.assert_allclose(fast.loss_curve_, core.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("activation, loss, n_out", [
    ("relu", "cross_entropy", 3), ("leaky_relu", "mse", 2), ("relu", "cross_entropy", 1)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
def test_a_networks_fit_ends_where_the_cores_ends(activation, loss, n_out, dtype, rtol, penalty,
                                                  monkeypatch):
    """Softmax with cross-entropy (3 outputs), a unit-wise output (identity with MSE; sigmoid
    with binary cross-entropy for 1 output), W row-major as mlplab's own layers have it."""
    tails, steps = _spied(monkeypatch)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 5)).astype(dtype)
    Y = rng.integers(0, 3, 90) if n_out == 3 else rng.normal(size=(90, 2)).astype(dtype) \
        if loss == "mse" else rng.integers(0, 2, 90).astype(dtype)
    cbs = {"l2": [mlplab.regularizers.L2(0.01)], "l1": [mlplab.regularizers.L1(0.001)],
           None: []}[penalty]
    nets, histories = [], []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 7, n_out], activation=activation, loss=loss,
                             dtype=dtype, seed=5)
        histories.append(net.fit(X, Y, optimizer="adam", learning_rate=0.05, batch_size=16,
                                 max_epochs=5, epsilon=None, seed=6, callbacks=cbs,
                                 accelerate=accelerate))
        nets.append(net)
    assert histories[0].backend.endswith("+tbb-updates") and histories[1].backend == "core"
    assert len(tails) == 5 * 6 and all(t is not None for t in tails)
    assert steps == [True] * (5 * 6 * 2)  # the two layers below the output layer
    _same(nets[0].params, nets[1].params, rtol)
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=rtol)


def test_a_diverging_batch_is_not_stepped(monkeypatch):
    """The tail finds the cost not finite: nothing after the cost is done, the step is not
    counted, and the guard stops the fit with the weights as they were, as the core's does."""
    tails, _ = _spied(monkeypatch)
    assert_a_diverging_batch_is_not_stepped(lambda: mlplab.optimizers.Adam(0.01))
    assert tails and not np.isfinite(tails[-1][0])  # it saw the cost, and went no further


def test_what_the_tail_does_not_take_runs_the_usual_passes(monkeypatch):
    """tanh in the hidden layer, Dropout before the output layer: no tail. A full batch of a
    column-major Y (the output's kernel reads rows): the tail declines each batch and the
    usual passes run, the step counted once."""
    tails, steps = _spied(monkeypatch)
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(40, 5)), np.asfortranarray(rng.normal(size=(40, 2)))
    L = mlplab.layers
    for net in (mlplab.Network(sizes=[5, 8, 2], activation="tanh", loss="mse", seed=5),
                mlplab.Network.from_layers([L.Input(5), L.Dense(5, 8, "relu"), L.Dropout(8, 0.2),
                                            L.Dense(8, 2, "identity")], loss="mse", seed=5)):
        net.fit(X[:32], Y[:32], optimizer="adam", batch_size=16, max_epochs=2, epsilon=None,
                seed=1)
        assert tails == [] and steps and all(steps)
    nets = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5)
        net.fit(X, Y, optimizer="adam", learning_rate=0.05, max_epochs=4, epsilon=None,
                accelerate=accelerate)
        nets.append(net)
    assert tails == [None] * 4
    _same(nets[0].params, nets[1].params, 1e-9)
    monkeypatch.setattr(dense, "TAIL_SIZE", 10)  # batches of more hidden values than this:
    net = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5)  # the usual
    net.fit(X, np.ascontiguousarray(Y), optimizer="adam", learning_rate=0.05, batch_size=16,
            max_epochs=2, epsilon=None, seed=1)  # passes, on every thread
    assert tails == [None] * 4


@pytest.mark.parametrize("estimator, dtype", [("MLPRegressor", np.float64),
                                              ("MLPRegressor", np.float32),
                                              ("MLPClassifier", np.float32)])
def test_scikit_learns_other_losses_and_float32_end_where_the_cores_end(estimator, dtype,
                                                                        monkeypatch):
    """Squared error (the regressor), binary log loss (two classes), float32 data."""
    tails, _ = _spied(monkeypatch)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 6)).astype(dtype)
    y = X[:, :2] @ [1.0, -2.0] if estimator == "MLPRegressor" else (X[:, 0] > 0).astype(int)

    def fit():
        est = getattr(mlplab, estimator)(hidden_layer_sizes=(12,), max_iter=3, tol=0,
                                         random_state=0, batch_size=50)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X, y)

    fast = fit()
    assert len(tails) == 3 * 4 and all(t is not None for t in tails)
    monkeypatch.setenv("MLPLAB_ACCEL", "off")
    core = fit()
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    _same(fast.coefs_ + fast.intercepts_, core.coefs_ + core.intercepts_, rtol)
    np.testing.assert_allclose(fast.loss_curve_, core.loss_curve_, rtol=rtol)
