"""BatchNorm: the forward normalizes, running statistics, eval mode, and a gradient check."""

import numpy as np
import pytest

from mlplab import ConfigError, Network, gradcheck
from mlplab.layers import BatchNorm, Dense, Input


def bn_net(seed=0, activation="tanh"):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(5, activation)
    bn.gamma[...] = rng.uniform(0.5, 2.0, 5)  # away from γ = 1, β = 0 so both gradients matter
    bn.beta[...] = rng.normal(size=5)
    net = Network.from_layers([Input(4), Dense(4, 5, "identity", "xavier_normal", rng), bn,
                               Dense(5, 3, "softmax", "xavier_normal", rng)],
                              loss="cross_entropy", seed=seed)
    return net, bn


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh"])
def test_batchnorm_gradients_match_finite_differences(activation):
    net, _ = bn_net(1, activation)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    result = gradcheck(net, X, y)
    assert result.passed, str(result)
    assert result.errors[2] < 1e-6  # γ and β


def test_training_forward_normalizes_each_unit_over_the_batch():
    bn = BatchNorm(3)  # identity g, γ = 1, β = 0: the output is x̂ itself
    X = np.random.default_rng(0).normal(5.0, 3.0, (50, 3))
    A = bn.forward(X, training=True)
    np.testing.assert_allclose(A.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(A.std(axis=0), 1, atol=1e-4)  # ε = 1e-5 in the variance


def test_running_statistics_converge_and_drive_eval_mode():
    bn = BatchNorm(2, momentum=0.5)
    rng = np.random.default_rng(0)
    for _ in range(40):
        bn.forward(rng.normal([1.0, -2.0], [2.0, 0.5], (200, 2)), training=True)
    np.testing.assert_allclose(bn.running_mean, [1.0, -2.0], atol=0.2)
    np.testing.assert_allclose(bn.running_var, [4.0, 0.25], rtol=0.2)
    # eval mode uses the running statistics: one sample alone is normalized the same way
    x = np.array([[3.0, -1.0]])
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(bn.forward(x, training=False), expected)
    before = bn.running_mean.copy()
    bn.forward(x, training=False)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval never updates them


def test_eval_mode_backward_is_the_affine_map():
    bn = BatchNorm(3)
    bn.running_var[...] = [4.0, 1.0, 0.25]
    bn.gamma[...] = [1.0, 2.0, 3.0]
    bn.forward(np.zeros((2, 3)), training=False)
    dX = bn.backward(np.ones((2, 3)))
    np.testing.assert_allclose(dX[0], bn.gamma / np.sqrt(bn.running_var + bn.eps))


def test_a_network_with_batchnorm_trains_and_keeps_its_gradient_arrays():
    net, bn = bn_net(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    gamma_before = bn.gamma.copy()
    history = net.fit(X, y, optimizer="adam", learning_rate=0.05, batch_size=20,
                      max_epochs=60, epsilon=None, seed=0)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert not np.array_equal(bn.gamma, gamma_before)  # γ was trained in place
    assert net.score(X, y) > 0.8


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="momentum"):
        BatchNorm(3, momentum=1.0)
    with pytest.raises(ConfigError, match="softmax"):
        BatchNorm(3, "softmax")
    with pytest.raises(ConfigError, match="cannot be step"):
        BatchNorm(3, "step")
    with pytest.raises(ConfigError, match="width"):
        BatchNorm(0)


def test_a_batchnorm_network_saves_and_a_custom_layer_is_refused_with_a_reason(tmp_path):
    from mlplab import ModelFileError, load, save
    from mlplab.layers import Layer

    net, _ = bn_net(0)
    X = np.random.default_rng(2).normal(size=(10, 4))
    back = load(save(net, tmp_path / "bn.safetensors"))
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))

    class Scale(Layer):  # a layer of the user's own: the file format cannot rebuild it
        n_in = n_out = 5

        def forward(self, A_prev, training=False):
            return 2 * A_prev

    net.layers.insert(2, Scale())
    with pytest.raises(ModelFileError, match="cannot save this network.*Scale"):
        save(net, tmp_path / "custom.safetensors")
    assert not (tmp_path / "custom.safetensors").exists()


def test_batchnorm_after_a_sequence_names_the_fix():
    """It advised BatchNorm(T) or BatchNorm(None), T being the sequence length."""
    from mlplab.layers import LSTM, TimeDense

    with pytest.raises(ConfigError, match=r"receives samples of shape \(5, 4\); put Flatten"
                                                 r"\(\) before it, or, .* return_sequences=False"):
        Network.from_layers([Input((5, 2)), LSTM(None, 4, return_sequences=True),
                             BatchNorm(None), TimeDense(None, 3, "softmax")],
                            loss="cross_entropy", seed=0)
