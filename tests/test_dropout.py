"""Inverted dropout: masks, scaling, off in predict, seeded, and gradient-checked."""

import numpy as np
import pytest

import mlplab
from mlplab import Network, gradcheck
from mlplab.datasets import moons
from mlplab.layers import Dense, Dropout, frozen_masks, with_dropout


def test_training_mask_drops_about_p_and_keeps_the_mean():
    layer = Dropout(1000, p=0.3, seed=0)
    A = np.ones((200, 1000))
    out = layer.forward(A, training=True)
    kept = out != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01  # ≈ p of the units dropped
    np.testing.assert_allclose(out[kept], 1 / 0.7)  # survivors scaled by 1 / (1 − p)
    assert abs(out.mean() - 1.0) < 0.01  # E[a ⊙ mask] = a: no rescaling needed at test time


def test_eval_forward_is_the_identity():
    layer = Dropout(5, p=0.9, seed=0)
    A = np.arange(10.0).reshape(2, 5)
    assert layer.forward(A, training=False) is A
    assert np.array_equal(layer.backward(np.ones((2, 5))), np.ones((2, 5)))


def test_backward_multiplies_by_the_same_mask():
    layer = Dropout(6, p=0.5, seed=1)
    out = layer.forward(np.ones((4, 6)), training=True)
    dA = layer.backward(np.full((4, 6), 3.0))
    np.testing.assert_array_equal(dA, 3.0 * out)  # ∂C/∂a = ∂C/∂a_out ⊙ mask


def test_masks_are_seeded():
    a = Dropout(8, 0.5, seed=4).forward(np.ones((3, 8)), training=True)
    b = Dropout(8, 0.5, seed=4).forward(np.ones((3, 8)), training=True)
    c = Dropout(8, 0.5, seed=5).forward(np.ones((3, 8)), training=True)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_dropout_is_off_in_predict_and_training_is_reproducible():
    X, y = moons(60, 0.2, seed=0)

    def trained():
        net = with_dropout(Network([2, 32, 32, 1], activation="relu", loss="cross_entropy",
                                   init="he_normal", seed=0), p=0.5, seed=0)
        net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=50, epsilon=None)
        return net

    net = trained()
    p1, p2 = net.predict_proba(X), net.predict_proba(X)
    assert np.array_equal(p1, p2)  # no randomness at prediction time
    # the same dense layers without the dropout layers give the same outputs: dropout is off
    plain = Network.from_layers([layer for layer in net.layers if not isinstance(layer, Dropout)],
                                loss=net.loss.name)
    assert np.array_equal(plain.predict_proba(X), p1)
    # while in training mode the output is random
    assert not np.array_equal(net.forward(X, training=True), net.forward(X, training=True))
    assert np.array_equal(trained().predict_proba(X), p1)  # same seeds, same network


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu"])
def test_gradcheck_with_frozen_masks(hidden):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 2, 7)
    net = with_dropout(Network([3, 6, 5, 1], activation=hidden, loss="cross_entropy", seed=1),
                       p=0.4, seed=2, input_p=0.2)
    # a new mask per forward would make finite differences noise: gradcheck freezes one draw
    assert gradcheck(net, X, y).passed
    assert not any(layer.frozen for layer in net.layers if isinstance(layer, Dropout))
    with frozen_masks(net, X):  # or the user's own draw
        result = gradcheck(net, X, y)
    assert result.passed, str(result)
    assert set(result.errors) == {2, 4, 6}  # the three dense layers
    assert not any(layer.frozen for layer in net.layers if isinstance(layer, Dropout))


def test_with_dropout_shares_dense_layers_and_puts_dropout_between():
    base = Network([2, 4, 3, 1], activation="relu", loss="cross_entropy", seed=0)
    net = with_dropout(base, p=0.25, seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Input", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer for layer in net.layers if isinstance(layer, Dense)] == base.layers[1:]
    assert net.output == "sigmoid" and net.loss.name == base.loss.name


def test_fit_in_float32_keeps_the_mask_dtype():
    X, y = moons(20, 0.2, seed=0)
    net = with_dropout(Network([2, 8, 1], activation="tanh", loss="cross_entropy", seed=0), 0.5, 0)
    net.fit(X.astype(np.float32), y, optimizer="adam", learning_rate=0.01, max_epochs=3,
            epsilon=None)
    assert net.layers[2].mask.dtype == np.float32
    assert net.layers[1].W.dtype == np.float32


@pytest.mark.parametrize("p", [1.0, -0.1, "0.5", True])
def test_bad_probability_is_a_config_error(p):
    with pytest.raises(mlplab.ConfigError, match="dropout probability"):
        Dropout(4, p)


def test_a_network_with_dropout_saves_as_its_prediction_network(tmp_path):
    X, y = moons(30, 0.2, seed=0)
    net = with_dropout(Network([2, 8, 8, 1], activation="relu", loss="cross_entropy", seed=0),
                       p=0.5, seed=0)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=20, epsilon=None)
    mlplab.save(net, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.sizes == [2, 8, 8, 1]
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))


def test_mixed_hidden_activations_round_trip(tmp_path):
    # the file records one activation per hidden layer (the playground builds such networks);
    # layers it cannot rebuild (BatchNorm, Residual) are refused: see test_batchnorm.py
    from mlplab.layers import Input

    rng = np.random.default_rng(0)
    mixed = Network.from_layers([Input(2), Dense(2, 3, "tanh", rng=rng), Dense(3, 3, "relu", rng=rng),
                                 Dense(3, 1, "sigmoid", rng=rng)], loss="cross_entropy")
    mlplab.save(mixed, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert [layer.g.name for layer in back.layers[1:]] == ["tanh", "relu", "sigmoid"]
    X = rng.normal(size=(4, 2))
    assert np.array_equal(back.forward(X), mixed.forward(X))
