"""L1/L2 gradients against finite differences of the regularized cost; input noise; max-norm;
early stopping with a stratified validation split."""

import numpy as np
import pytest

import mlplab
from mlplab import EarlyStopping, Network
from mlplab.callbacks import Callback
from mlplab.datasets import moons, validation_split
from mlplab.layers import Dense
from mlplab.regularizers import L1, L2, InputNoise, MaxNorm


class _Trainer:
    def __init__(self, net):
        self.net = net


def _regularized_cost(net, X, Y, penalty):
    return net.cost(X, Y) + penalty.penalty(net)


@pytest.mark.parametrize("penalty", [L2(0.3), L1(0.05), L2(0.2, include_bias=True),
                                     L1(0.1, include_bias=True)], ids=repr)
def test_penalty_gradient_matches_finite_differences_of_regularized_cost(penalty):
    net = Network([3, 4, 2], activation="tanh", loss="cross_entropy", init="normal", seed=3)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    for p in net.params:  # keep every parameter away from L1's kink at 0 (|θ| ≥ 0.05 > 2h)
        p[np.abs(p) < 0.05] = 0.05
    net.gradients(X, Y)  # backprop: ∂C/∂θ
    penalty.on_gradients(_Trainer(net))  # + λ ∂Ω/∂θ
    analytic = [g.copy() for g in net.grads]
    h = 1e-5
    for p, g in zip(net.params, analytic):
        numeric = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            c_plus = _regularized_cost(net, X, Y, penalty)
            p[i] = old - h
            c_minus = _regularized_cost(net, X, Y, penalty)
            p[i] = old
            numeric[i] = (c_plus - c_minus) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_biases_are_not_penalized_unless_asked():
    net = Network([2, 3, 1], seed=0)
    for layer in net.layers[1:]:
        layer.b[:] = 5.0
    net.gradients(np.ones((2, 2)), np.ones(2))
    before = [layer.db.copy() for layer in net.layers[1:]]
    L2(1.0).on_gradients(_Trainer(net))
    assert all(np.array_equal(layer.db, b) for layer, b in zip(net.layers[1:], before))
    L2(1.0, include_bias=True).on_gradients(_Trainer(net))
    assert all(np.allclose(layer.db, b + 5.0) for layer, b in zip(net.layers[1:], before))
    assert L2(1.0).penalty(net) < L2(1.0, include_bias=True).penalty(net)


class _Spy(Callback):
    """Records every batch the loop trains on and the max row norm after every update."""

    def __init__(self):
        self.batches, self.norms = [], []

    def on_batch_begin(self, trainer, Xb, Yb):
        self.batches.append(Xb.copy())

    def on_batch_end(self, trainer, logs):
        self.norms.append(max(float(np.linalg.norm(layer.W, axis=1).max())
                              for layer in trainer.net.layers if isinstance(layer, Dense)))


def test_input_noise_changes_every_batch_but_never_the_stored_data():
    X, y = moons(32, 0.1, seed=0)
    X_copy = X.copy()
    spy = _Spy()
    net = Network([2, 8, 1], activation="tanh", loss="cross_entropy", seed=0)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=3, batch_size=32, epsilon=None,
            callbacks=[InputNoise(0.2, seed=1), spy])
    assert np.array_equal(X, X_copy)  # the caller's data untouched
    assert len(spy.batches) == 3
    for Xb in spy.batches:  # the loop trained on noisy copies, with σ ≈ 0.2
        diff = Xb - X
        assert 0.15 < diff.std() < 0.25
    assert not np.allclose(spy.batches[0], spy.batches[1])  # fresh noise each batch


def test_input_noise_is_seeded():
    def noisy(seed):
        out = InputNoise(0.5, seed=seed).on_batch_begin(None, np.zeros((4, 2)), np.zeros(4))
        return out[0]
    assert np.array_equal(noisy(7), noisy(7))
    assert not np.array_equal(noisy(7), noisy(8))


def test_input_noise_keeps_float32():
    Xb, _ = InputNoise(0.1, seed=0).on_batch_begin(None, np.zeros((3, 2), np.float32), None)
    assert Xb.dtype == np.float32


def test_max_norm_holds_after_every_step_and_binds():
    X, y = moons(40, 0.3, seed=0)
    free = _Spy()
    Network([2, 32, 1], activation="relu", loss="cross_entropy", init="he_normal", seed=0).fit(
        X, y, optimizer="adam", learning_rate=0.05, max_epochs=200, epsilon=None, callbacks=[free])
    assert max(free.norms) > 2.0  # unconstrained, some neuron's weights grow past c
    spy = _Spy()
    Network([2, 32, 1], activation="relu", loss="cross_entropy", init="he_normal", seed=0).fit(
        X, y, optimizer="adam", learning_rate=0.05, max_epochs=200, epsilon=None,
        callbacks=[MaxNorm(1.0, include_output=True), spy])
    assert len(spy.norms) == 200
    assert max(spy.norms) <= 1.0 + 1e-9  # after every single update
    assert max(spy.norms) > 0.99  # and it is active, not vacuous


def test_max_norm_leaves_the_output_layer_alone_by_default():
    net = Network([2, 3, 1], init="normal:10", seed=0)
    MaxNorm(1.0).apply(net)
    assert np.linalg.norm(net.layers[1].W, axis=1).max() <= 1 + 1e-12
    assert np.linalg.norm(net.layers[2].W, axis=1).max() > 1


@pytest.mark.parametrize("make", [lambda: L2(-1), lambda: L1("a"), lambda: InputNoise(0),
                                  lambda: InputNoise(-0.1), lambda: MaxNorm(0),
                                  lambda: MaxNorm(True)])
def test_bad_strengths_are_config_errors(make):
    with pytest.raises(mlplab.ConfigError):
        make()


def test_validation_split_is_stratified_and_seeded():
    X, y = moons(40, 0.3, seed=0)
    X_tr, y_tr, (X_val, y_val) = validation_split(X, y, 0.25, seed=0)
    assert len(X_val) == 10 and len(X_tr) == 30
    assert np.bincount(y_val).tolist() == [5, 5]
    again = validation_split(X, y, 0.25, seed=0)
    assert np.array_equal(again[0], X_tr)
    with pytest.raises(mlplab.ConfigError):
        validation_split(X, y, 1.5)


def test_early_stopping_on_a_validation_split_restores_the_best_weights():
    X, y = moons(40, 0.4, seed=0)
    X_tr, y_tr, val = validation_split(X, y, 0.25, seed=0)
    net = Network([2, 64, 64, 1], activation="relu", loss="cross_entropy", init="he_normal", seed=0)
    stop = EarlyStopping("val_loss", patience=50)
    history = net.fit(X_tr, y_tr, optimizer="adam", learning_rate=0.01, max_epochs=3000,
                      epsilon=None, validation_data=val, callbacks=[stop])
    assert history.epochs < 3000 and "early stopping" in history.stop_reason
    assert history.epochs == stop.best_epoch + 50
    assert history.best_epoch == stop.best_epoch
    # the network ends with the weights of its best epoch: its validation loss is the minimum
    assert net.cost(*val) == pytest.approx(min(history.val_loss), rel=1e-12)
    assert history.val_loss[-1] > min(history.val_loss)
