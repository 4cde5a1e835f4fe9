"""Residual blocks: a = a_prev + F(a_prev), gradient-checked, and the skip carries δ back."""

import numpy as np
import pytest

from mlplab import ConfigError, Network, gradcheck
from mlplab.layers import BatchNorm, Dense, Dropout, Input, Residual


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
    with pytest.raises(ConfigError, match="maps 3 units to 4"):  # found when the network builds
        Network.from_layers([Input(3), Residual([Dropout(None), Dense(None, 4)]), Dense(4, 1)])


def _dropout_block_net():
    rng = np.random.default_rng(3)
    return Network.from_layers([
        Input(4), Residual([Dense(4, 4, "tanh", "xavier_normal", rng), Dropout(4, 0.3, seed=1)]),
        Residual([Dropout(None, 0.5, seed=2), BatchNorm(None, "sigmoid"), Dense(None, 4, "identity")]),
        Dense(4, 2, "softmax", "xavier_normal", rng)], loss="cross_entropy", seed=3)


def test_dropout_inside_a_block_trains_checks_saves_and_exports(tmp_path):
    from mlplab import load, save

    net = _dropout_block_net()
    assert [layer.in_shape for layer in net.layers[2].layers] == [(4,), (4,), (4,)]  # built
    assert "Dropout(4, p=0.5)" in repr(net)  # the layers, not Network([4, 4, 4, 2], ...)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 2, 40)
    Y = np.eye(2)[y]
    # the masks change at every forward: gradcheck must freeze those inside the blocks too
    result = gradcheck(net, X[:8], Y[:8])
    assert result.passed, str(result)
    first, second = net.forward(X, training=True), net.forward(X, training=True)
    assert not np.allclose(first, second)  # dropout is on while training
    net.fit(X, Y, optimizer="adam", learning_rate=0.01, batch_size=8, max_epochs=5)
    save(net, tmp_path / "r.safetensors")  # dropout: identity at prediction, not recorded
    back = load(tmp_path / "r.safetensors")
    np.testing.assert_allclose(back.forward(X), net.forward(X))
    torch = pytest.importorskip("torch")
    from mlplab.io.export import from_torch, to_torch

    module = to_torch(net).eval()
    assert any(isinstance(m, torch.nn.Dropout) for m in module.modules())
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(X)).numpy(), net.forward(X))
    assert repr(from_torch(module).layers) == repr(net.layers)


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
