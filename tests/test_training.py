"""The lecture's 7-step training: XOR/AND/OR, stopping, reproducibility, optimizers, callbacks."""

import numpy as np
import pytest

import mlplab
from mlplab import EarlyStopping, EpochHook, Network, TerminateOnNaN
from mlplab.callbacks import Callback


def lecture_xor(seed=1, **kw):
    X, Y = mlplab.datasets.xor()
    net = Network([2, 2, 1], activation="sigmoid", loss="mse", seed=seed)
    options = dict(optimizer="gd", learning_rate=1.0, epsilon=1e-4, max_epochs=50_000) | kw
    return net, net.fit(X, Y, **options), X, Y


def test_xor_learned_by_2_2_1_sigmoid_mse_gd():
    net, history, X, Y = lecture_xor()
    assert net.score(X, Y) == 1.0
    assert history.converged and "converged" in history.stop_reason
    assert str(history.epochs) in history.stop_reason
    assert history.max_change[-1] < 1e-4 <= max(history.max_change[:-1])
    assert history.loss[-1] < 0.01 < history.loss[0]


@pytest.mark.parametrize("name", ["and", "or"])
def test_and_or_learned(name):
    X, Y = mlplab.datasets.truth_table(name)
    net = Network([2, 2, 1], seed=1)
    net.fit(X, Y, learning_rate=1.0, epsilon=1e-4, max_epochs=50_000)
    assert net.score(X, Y) == 1.0


def test_stops_at_max_epochs_and_says_so():
    _, history, _, _ = lecture_xor(max_epochs=50)
    assert history.epochs == 50 and not history.converged
    assert history.stop_reason == "reached max_epochs = 50"


def test_full_batch_gd_is_one_update_per_epoch():
    """One epoch of "gd" equals W ← W − α ∂C/∂W computed on the whole data set."""
    X, Y = mlplab.datasets.xor()
    net = Network([2, 2, 1], seed=4)
    grads = net.gradients(X, Y)
    expected = {l: (net.layers[l].W - 0.5 * grads[l][0], net.layers[l].b - 0.5 * grads[l][1])
                for l in grads}
    net.fit(X, Y, learning_rate=0.5, max_epochs=1)
    for l, (W, b) in expected.items():
        np.testing.assert_allclose(net.layers[l].W, W, rtol=1e-15)
        np.testing.assert_allclose(net.layers[l].b, b, rtol=1e-15)


def test_same_seed_bit_identical_different_seed_differs():
    X, y = mlplab.datasets.moons(120, seed=3)
    runs = []
    for seed in (11, 11, 12):
        net = Network([2, 8, 1], activation="tanh", loss="cross_entropy", seed=seed)
        h = net.fit(X, y, optimizer="adam", learning_rate=0.01, batch_size=16, max_epochs=20,
                    epsilon=None)
        runs.append((np.concatenate([p.ravel() for p in net.params]), h.loss))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not np.array_equal(runs[0][0], runs[2][0]) and runs[0][1] != runs[2][1]


def test_shuffle_seed_of_fit_overrides_the_networks():
    X, y = mlplab.datasets.moons(64, seed=0)
    out = []
    for fit_seed in (1, 2):
        net = Network([2, 4, 1], loss="cross_entropy", seed=0)
        net.fit(X, y, optimizer="sgd", batch_size=8, max_epochs=3, seed=fit_seed, epsilon=None)
        out.append(net.layers[1].W.copy())
    assert not np.array_equal(*out)


@pytest.mark.parametrize("optimizer,options,lr", [
    ("sgd", {}, 0.5), ("momentum", {"momentum": 0.9}, 0.1),
    ("nesterov", {}, 0.1), ("adam", {}, 0.02)])
def test_minibatch_optimizers_learn_moons(optimizer, options, lr):
    X, y = mlplab.datasets.moons(200, noise=0.1, seed=0)
    net = Network([2, 16, 1], activation="tanh", loss="cross_entropy", seed=0)
    h = net.fit(X, y, optimizer=optimizer, learning_rate=lr, batch_size=20, max_epochs=150,
                epsilon=None, **options)
    assert net.score(X, y) >= 0.95
    assert h.loss[-1] < 0.5 * h.loss[0]


def test_softmax_cross_entropy_multiclass_with_integer_labels():
    X, y = mlplab.datasets.blobs(150, noise=0.5, seed=0,
                                 centers=[(-2, 0), (2, 0), (0, 3)])
    net = Network([2, 8, 3], activation="relu", loss="cross_entropy", init="he_normal", seed=0)
    net.fit(X, y, optimizer="adam", learning_rate=0.05, batch_size=32, max_epochs=60)
    assert net.score(X, y) >= 0.97


def test_float32_data_trains_in_float32():
    X, y = mlplab.datasets.moons(64, seed=0)
    net = Network([2, 4, 1], loss="cross_entropy", seed=0)
    net.fit(X.astype(np.float32), y.astype(np.float32), optimizer="adam", learning_rate=0.01,
            batch_size=16, max_epochs=3)
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.forward(X.astype(np.float32)).dtype == np.float32


def test_history_with_validation_data():
    X, y = mlplab.datasets.moons(100, seed=0)
    net = Network([2, 8, 1], activation="tanh", loss="cross_entropy", seed=0)
    h = net.fit(X[:80], y[:80], validation_data=(X[80:], y[80:]), optimizer="adam",
                learning_rate=0.01, max_epochs=5, epsilon=None)
    assert len(h.val_loss) == len(h.val_accuracy) == len(h.loss) == 5
    assert 0 <= h.val_accuracy[-1] <= 1 and h.time_s > 0
    assert net.history is h and "epochs=5" in repr(h)


def test_early_stopping_restores_the_best_weights():
    X, y = mlplab.datasets.moons(60, noise=0.4, seed=0)
    net = Network([2, 64, 64, 1], activation="relu", loss="cross_entropy", init="he_normal",
                  seed=0)
    snapshots = {}
    hook = EpochHook(lambda epoch, logs: snapshots.__setitem__(epoch, [p.copy() for p in net.params]))
    stop = EarlyStopping(monitor="val_loss", patience=5)
    h = net.fit(X[:40], y[:40], validation_data=(X[40:], y[40:]), optimizer="adam",
                learning_rate=0.05, max_epochs=500, epsilon=None, callbacks=[hook, stop])
    assert "early stopping" in h.stop_reason and h.epochs < 500
    best = int(np.argmin(h.val_loss)) + 1
    assert h.best_epoch == best
    for p, q in zip(net.params, snapshots[best]):
        np.testing.assert_array_equal(p, q)


def test_terminate_on_nan():
    X = np.array([[1e3, -1e3], [-1e3, 1e3]])
    net = Network([2, 4, 1], activation="identity", output="identity", init="normal:30", seed=0)
    h = net.fit(X, np.array([[1e6], [-1e6]]), learning_rate=1.0, max_epochs=1000,
                callbacks=[TerminateOnNaN()])
    assert "lower the learning rate" in h.stop_reason and h.epochs < 1000


def test_callback_hooks_are_called_in_order():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, trainer): calls.append("train_begin")
        def on_epoch_begin(self, trainer, epoch): calls.append(f"epoch_begin {epoch}")
        def on_batch_begin(self, trainer, Xb, Yb):
            calls.append(f"batch_begin {len(Xb)}")
            return Xb * 0, Yb  # augmentation sees (and may replace) the batch
        def on_gradients(self, trainer): calls.append("gradients")
        def on_batch_end(self, trainer, logs): calls.append("batch_end")
        def on_epoch_end(self, trainer, epoch, logs): calls.append(f"epoch_end {epoch}")
        def on_train_end(self, trainer): calls.append("train_end")

    X, Y = mlplab.datasets.xor()
    net = Network([2, 2, 1], seed=0)
    net.fit(X, Y, batch_size=2, shuffle=False, max_epochs=1, callbacks=[Recorder()])
    assert calls == ["train_begin", "epoch_begin 1", "batch_begin 2", "gradients", "batch_end",
                     "batch_begin 2", "gradients", "batch_end", "epoch_end 1", "train_end"]
    # inputs were replaced by zeros: W⁽¹⁾ got no gradient
    assert np.array_equal(net.layers[1].dW, np.zeros((2, 2)))


@pytest.mark.parametrize("accelerate", [None, False])
def test_a_callback_can_give_the_epochs_order_of_rows(accelerate):
    """``epoch_order``: the loop takes its batches from the callback's permutation (as
    scikit-learn's estimators draw theirs), on the accelerated step and the core's alike."""
    seen, orders = [], []

    class Shuffled(Callback):
        def on_epoch_begin(self, trainer, epoch):
            orders.append(np.random.default_rng(epoch).permutation(10))

        def epoch_order(self, trainer):
            return orders[-1]

        def on_batch_begin(self, trainer, Xb, Yb):
            seen.append(np.array(Xb[:, 0]))

    X = np.arange(20.0).reshape(10, 2)
    Y = np.zeros((10, 1))
    Network([2, 3, 1], seed=0).fit(X, Y, batch_size=4, max_epochs=2, callbacks=[Shuffled()],
                                   accelerate=accelerate)
    want = [X[order[i:i + 4], 0] for order in orders for i in (0, 4, 8)]
    assert len(seen) == 6 and all(np.array_equal(a, b) for a, b in zip(seen, want))


def test_an_epoch_order_that_is_not_a_permutation_is_a_clear_error():
    class Bad(Callback):
        def epoch_order(self, trainer):
            return np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10])  # 10 rows: index 10 is past them

    with pytest.raises(mlplab.ConfigError, match="permutation of the 10 row"):
        Network([2, 3, 1], seed=0).fit(np.zeros((10, 2)), np.zeros((10, 1)), batch_size=4,
                                       max_epochs=1, callbacks=[Bad()])


def test_callback_can_stop_training():
    class StopAt3(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 3:
                trainer.stop("enough")

    _, h, _, _ = lecture_xor(callbacks=[StopAt3()])
    assert h.epochs == 3 and h.stop_reason == "enough"
