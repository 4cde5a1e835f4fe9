"""Residual blocks: a = a_prev + F(a_prev), gradient-checked, and the skip carries δ back."""

import numpy as np
import pytest

from mlplab import ConfigError, Network, gradcheck
from mlplab.layers import BatchNorm, Dense, Input, Residual


def test_residual_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    net = Network.from_layers([
        Input(3), Dense(3, 4, "tanh", "xavier_normal", rng),
        Residual([Dense(4, 4, "sigmoid", "lecun_normal", rng)]),
        Residual([Dense(4, 5, "tanh", "xavier_normal", rng), Dense(5, 4, "identity", "xavier_normal", rng)]),
        Residual([Dense(4, 4, "identity", "xavier_normal", rng), BatchNorm(4, "sigmoid")]),
        Dense(4, 2, "sigmoid", "xavier_normal", rng)], loss="mse", seed=2)
    X, Y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)
    assert len(net.params) == 2 + 2 + 4 + 4 + 2


def test_forward_adds_the_input():
    rng = np.random.default_rng(0)
    dense = Dense(3, 3, "sigmoid", "normal", rng)
    block = Residual([dense])
    X = rng.normal(size=(2, 3))
    np.testing.assert_allclose(block.forward(X), X + 1 / (1 + np.exp(-(X @ dense.W.T + dense.b))))


def test_the_skip_passes_the_gradient_back_undiminished():
    # F with weights 0 contributes nothing to ∂C/∂a_prev: the block passes dA through unchanged
    dense = Dense(3, 3, "sigmoid", "normal", np.random.default_rng(0))
    dense.W[...] = 0
    block = Residual([dense])
    block.forward(np.ones((2, 3)), training=True)
    dA = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(block.backward(dA), dA)


def test_a_block_that_changes_the_width_is_refused():
    with pytest.raises(ConfigError, match="keep the width"):
        Residual([Dense(3, 4, "relu")])
    with pytest.raises(ConfigError, match="receives"):
        Residual([Dense(3, 3, "relu"), Dense(4, 3, "relu")])
    with pytest.raises(ConfigError, match="non-empty"):
        Residual([])


def test_float32_data_trains_a_residual_batchnorm_network_in_float32():
    rng = np.random.default_rng(0)
    net = Network.from_layers([
        Input(2), Dense(2, 8, "identity", "he_normal", rng), BatchNorm(8, "relu"),
        Residual([Dense(8, 8, "relu", "he_normal", rng), Dense(8, 8, "identity", "he_normal", rng)]),
        Dense(8, 1, "sigmoid", "xavier_normal", rng)], loss="binary_cross_entropy", seed=0)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.float32)  # XOR of the signs
    history = net.fit(X, y, optimizer="adam", learning_rate=0.02, batch_size=16, max_epochs=200,
                      epsilon=None, seed=0)
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.layers[2].running_var.dtype == np.float32
    assert history.loss[-1] < 0.5 * history.loss[0] and net.score(X, y) > 0.9
