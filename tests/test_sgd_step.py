"""Plain gradient descent's whole step in one call (mlplab.accel.dense_updates.SGDStep): fits
that take it end where the core's fits end (softmax with cross-entropy, the unit-wise outputs,
one to three dense layers, shuffled and sliced batches, float32 and float64, a learning rate
changed after each batch, weights, activations and the loss replaced between epochs); a
diverging batch is not stepped; a batch of the wrong width is refused; the layers' caches
hold each batch's values; what it does not take (scikit-learn's losses among it) runs the
usual passes."""

import numpy as np
import pytest

import mlplab
from mlplab.accel import dense_updates, products
from mlplab.callbacks import Callback
from mlplab.core import plugins

from divergence import assert_a_diverging_batch_is_not_stepped

pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")


def _spied(monkeypatch):
    """Fits with MKL's products and numba's kernels whatever their size; returns the list of
    what each SGDStep call returned (None: declined)."""
    if products.mkl_kernels() is None:
        pytest.skip("needs numba and MKL with threads (pip install 'mlplab[mkl]')")
    monkeypatch.setenv("MLPLAB_MKL", "on")
    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    calls = []
    step = dense_updates.SGDStep.__call__
    monkeypatch.setattr(dense_updates.SGDStep, "__call__",
                        lambda self, *a: calls.append(step(self, *a)) or calls[-1])
    return calls


def _same(fast, core, rtol):
    for p, q in zip(fast, core):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)


def _data(loss, n_out, dtype, rows=90, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5)).astype(dtype)
    if loss == "mse":
        return X, rng.normal(size=(rows, n_out)).astype(dtype)
    return X, (rng.integers(0, 3, rows) if n_out == 3 else rng.integers(0, 2, rows).astype(dtype))


@pytest.mark.parametrize("activation, loss, n_out", [
    ("relu", "cross_entropy", 3), ("leaky_relu", "mse", 2), ("relu", "cross_entropy", 1),
    ("identity", "mse", 1)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("hidden", [[8, 7], [6], []])
@pytest.mark.parametrize("shuffle", [True, False])
def test_a_fit_ends_where_the_cores_ends(activation, loss, n_out, dtype, rtol, hidden, shuffle,
                                        monkeypatch):
    """Softmax with cross-entropy (3 outputs), sigmoid with binary cross-entropy (1 output), the
    identity with MSE; 90 rows in batches of 16 (the last of 10: a second set of arrays)."""
    calls = _spied(monkeypatch)
    X, Y = _data(loss, n_out, dtype)
    rate = 0.01 if activation == "identity" else 0.05  # a linear net diverges at 0.05
    nets, histories = [], []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, *hidden, n_out], activation=activation, loss=loss,
                             dtype=dtype, seed=5)
        histories.append(net.fit(X, Y, optimizer="sgd", learning_rate=rate, batch_size=16,
                                 max_epochs=5, epsilon=None, seed=6, shuffle=shuffle,
                                 accelerate=accelerate))
        nets.append(net)
    assert histories[0].backend.endswith("+sgd-step") and histories[1].backend == "core"
    assert len(calls) == 5 * 6 and all(c is not None and np.isfinite(c) for c in calls)
    _same(nets[0].params, nets[1].params, rtol)
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=rtol)


class _Changes(Callback):
    """Between epochs: a smaller learning rate, and every weight matrix a new array (the old
    ones dropped: the step must not write where they were)."""

    def on_epoch_end(self, trainer, epoch, logs):
        trainer.optimizer.learning_rate *= 0.5
        for layer in trainer.net.layers[1:]:
            layer.W = layer.W.copy()
            layer.b = layer.b.copy()


def test_a_learning_rate_and_weights_changed_between_epochs_are_taken(monkeypatch):
    calls = _spied(monkeypatch)
    X, Y = _data("cross_entropy", 3, np.float64)
    nets = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 3], activation="relu", loss="cross_entropy", seed=2)
        net.fit(X, Y, optimizer="sgd", learning_rate=0.2, batch_size=32, max_epochs=4,
                epsilon=None, seed=3, callbacks=[_Changes()], accelerate=accelerate)
        nets.append(net)
    assert len(calls) == 4 * 3 and all(c is not None for c in calls)
    _same(nets[0].params, nets[1].params, 1e-9)


class _Schedule(Callback):
    """After every batch a smaller learning rate; after every epoch the hidden layers' ReLU
    becomes leaky (another activation the step computes) or, with ``to="sigmoid"``, the
    sigmoid (one it does not: the usual passes run from then on)."""

    def __init__(self, to="leaky_relu"):
        self.to = to

    def on_batch_end(self, trainer, logs):
        trainer.optimizer.learning_rate *= 0.97

    def on_epoch_end(self, trainer, epoch, logs):
        for layer in trainer.net.layers[1:-1]:
            layer.g = mlplab.activations.get_activation(self.to)


@pytest.mark.parametrize("to", ["leaky_relu", "sigmoid"])
def test_a_schedule_and_activations_changed_during_a_fit_are_taken(to, monkeypatch):
    calls = _spied(monkeypatch)
    X, Y = _data("cross_entropy", 3, np.float64)
    nets = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 7, 3], activation="relu", loss="cross_entropy", seed=2)
        net.fit(X, Y, optimizer="sgd", learning_rate=0.2, batch_size=32, max_epochs=3,
                epsilon=None, seed=3, callbacks=[_Schedule(to)], accelerate=accelerate)
        nets.append(net)
    taken = 9 if to == "leaky_relu" else 3  # a sigmoid from the second epoch on: declined
    assert len(calls) == 9 and sum(c is not None for c in calls) == taken
    _same(nets[0].params, nets[1].params, 1e-9)


class _SwitchLoss(Callback):
    """After the first epoch, binary cross-entropy instead of MSE (both pair with a sigmoid
    output: another output kernel's flag)."""

    def on_epoch_end(self, trainer, epoch, logs):
        trainer.net.loss = mlplab.losses.get_loss("binary_cross_entropy", 1)


def test_a_loss_changed_during_a_fit_is_taken(monkeypatch):
    calls = _spied(monkeypatch)
    X, Y = _data("cross_entropy", 1, np.float64)
    nets, histories = [], []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 1], activation="relu", output="sigmoid", loss="mse",
                             seed=2)
        histories.append(net.fit(X, Y, optimizer="sgd", learning_rate=0.2, batch_size=32,
                                 max_epochs=3, epsilon=None, seed=3, callbacks=[_SwitchLoss()],
                                 accelerate=accelerate))
        nets.append(net)
    assert len(calls) == 9 and all(c is not None for c in calls)
    _same(nets[0].params, nets[1].params, 1e-9)
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=1e-9)


class _Narrow(Callback):
    """Hands the step a batch of fewer inputs than the first layer takes."""

    def on_batch_begin(self, trainer, Xb, Yb):
        return np.ascontiguousarray(Xb[:, :4]), Yb


class _Unchained(Callback):
    """After the first epoch, the output layer's W takes one input fewer than the layer before
    it gives."""

    def on_epoch_end(self, trainer, epoch, logs):
        out = trainer.net.layers[-1]
        out.W = np.ascontiguousarray(out.W[:, :-1])


@pytest.mark.parametrize("callback, calls_seen", [(_Narrow, [None]),
                                                   (_Unchained, [1, 1, None])])
def test_arrays_that_do_not_fit_are_refused_as_the_core_refuses_them(callback, calls_seen,
                                                                     monkeypatch):
    """The kernel reads arrays by their addresses: a batch narrower than W, or a W whose inputs
    are not the previous layer's outputs, is declined (not read past its end), and the usual
    passes raise the core's error."""
    calls = _spied(monkeypatch)
    X, Y = _data("mse", 2, np.float64, rows=32)
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=2)
        with pytest.raises(ValueError, match="mismatch"):
            net.fit(X, Y, optimizer="sgd", batch_size=16, max_epochs=2, epsilon=None,
                    callbacks=[callback()], accelerate=accelerate)
    assert [c if c is None else 1 for c in calls] == calls_seen


class _Caches(Callback):
    """Each batch's ``A_prev``, ``Z``, ``A`` and ``delta`` of every layer, as copies."""

    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, logs):
        self.seen.append([getattr(layer, name).copy() for layer in trainer.net.layers[1:]
                          for name in ("A_prev", "Z", "A", "delta")])


def test_the_layers_hold_each_batchs_values(monkeypatch):
    """After each step, each layer's ``A_prev``, ``Z``, ``A`` and ``delta`` are the batch's, as
    the core's step leaves them (a callback may read them)."""
    calls = _spied(monkeypatch)
    X, Y = _data("cross_entropy", 3, np.float64, rows=48)
    seen = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 6, 3], activation="relu", loss="cross_entropy", seed=4)
        caches = _Caches()
        net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=16, max_epochs=2,
                epsilon=None, seed=2, callbacks=[caches], accelerate=accelerate)
        seen.append(caches.seen)
    assert len(calls) == 6 and all(c is not None for c in calls)
    assert len(seen[0]) == len(seen[1]) == 6
    for fast, core in zip(*seen):
        _same(fast, core, 1e-12)


def test_a_diverging_batch_is_not_stepped(monkeypatch):
    """The step finds the cost not finite: nothing is updated, the step is not counted, and the
    guard stops the fit (or raises) with the weights as they were, as the core's does."""
    calls = _spied(monkeypatch)
    assert_a_diverging_batch_is_not_stepped(lambda: mlplab.optimizers.GradientDescent(0.01))
    assert calls and not np.isfinite(calls[-1])  # it saw the cost, and went no further


def test_what_it_does_not_take_runs_the_usual_passes(monkeypatch):
    """A sigmoid hidden layer, a Dropout layer, a weight penalty, momentum, W column-major, the
    passes on every thread: no whole step. A column-major Y (the output's kernel reads rows):
    it declines each batch and the usual passes run, the fit as the core's."""
    calls = _spied(monkeypatch)
    X, Y = _data("mse", 2, np.float64, rows=40)
    L = mlplab.layers
    fits = [(mlplab.Network(sizes=[5, 8, 2], activation="sigmoid", loss="mse", seed=5), {}),
            (mlplab.Network.from_layers([L.Input(5), L.Dense(5, 8, "relu"), L.Dropout(8, 0.2),
                                         L.Dense(8, 2, "identity")], loss="mse", seed=5), {}),
            (mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5),
             {"callbacks": [mlplab.regularizers.L2(0.01)]}),
            (mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5),
             {"optimizer": "momentum"})]
    columns = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5)
    for layer in columns.layers[1:]:  # W column-major, as scikit-learn's coefs_ make it
        layer.W = np.asfortranarray(layer.W)
    fits.append((columns, {}))
    for net, options in fits:
        history = net.fit(X, Y, **{"optimizer": "sgd", **options}, batch_size=16, max_epochs=2,
                          epsilon=None, seed=1)
        assert "+sgd-step" not in history.backend and history.backend.startswith("numpy-dense")
    monkeypatch.setenv("MLPLAB_PARALLEL", "on")
    net = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5)
    assert "+sgd-step" not in net.fit(X, Y, optimizer="sgd", batch_size=16, max_epochs=1,
                                      epsilon=None).backend
    monkeypatch.delenv("MLPLAB_PARALLEL")
    assert calls == []
    nets = []
    for accelerate in (None, False):  # full batches as given (a callback: not the tiny loop)
        net = mlplab.Network(sizes=[5, 8, 2], activation="relu", loss="mse", seed=5)
        net.fit(X, np.asfortranarray(Y), optimizer="sgd", learning_rate=0.05, max_epochs=4,
                epsilon=None, callbacks=[Callback()], accelerate=accelerate)
        nets.append(net)
    assert calls == [None] * 4
    _same(nets[0].params, nets[1].params, 1e-9)


def test_scikit_learns_losses_are_declined(monkeypatch):
    """scikit-learn's output kernel reads each batch's sample weights: a Network fitted with
    one of its losses runs the usual passes, and ends where the core ends."""
    from mlplab.sklearn._losses import SklearnLoss

    calls = _spied(monkeypatch)
    X, Y = _data("mse", 1, np.float64, rows=40)
    nets = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 1], activation="relu", output="identity", seed=5,
                             loss=SklearnLoss("squared_error", "identity").as_loss())
        net.fit(X, Y, optimizer="sgd", learning_rate=0.05, batch_size=16, max_epochs=2,
                epsilon=None, seed=1, accelerate=accelerate)
        nets.append(net)
    assert calls == [None] * 6
    _same(nets[0].params, nets[1].params, 1e-9)
