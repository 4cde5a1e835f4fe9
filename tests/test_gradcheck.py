"""Backprop against central finite differences on many random networks (float64)."""

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mlplab
from mlplab import Network, gradcheck

HIDDEN = ["sigmoid", "tanh", "identity", "relu", "leaky_relu"]
# (loss, output) pairs; None lets the network choose its default output.
HEADS = [("mse", "sigmoid"), ("mse", "identity"), ("mse", "tanh"),
         ("cross_entropy", None), ("binary_cross_entropy", "sigmoid")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
       hidden=st.sampled_from(HIDDEN), head=st.sampled_from(HEADS),
       m=st.integers(1, 6), seed=st.integers(0, 2**16),
       init=st.sampled_from(["normal", "xavier_normal", "he_uniform", "lecun_normal"]))
def test_backprop_matches_finite_differences(sizes, hidden, head, m, seed, init):
    loss, output = head
    net = Network(sizes, activation=hidden, output=output, loss=loss, init=init, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, sizes[0]))
    if net.output == "softmax":
        Y = rng.integers(0, sizes[-1], m)
    elif net.output == "sigmoid":
        Y = rng.integers(0, 2, (m, sizes[-1])).astype(float)
    else:
        Y = rng.normal(size=(m, sizes[-1]))
    if hidden in ("relu", "leaky_relu"):
        # a finite difference straddling a kink (z = 0) is no derivative: skip such draws
        assume(not _steps_cross_a_kink(net, X))
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)
    assert set(result.errors) == set(range(1, len(sizes)))


def _steps_cross_a_kink(net, X, h: float = 1e-3) -> bool:
    """True when one of gradcheck's steps (±h, ±2h on one parameter) flips the sign of some
    hidden z: a margin on |z| alone misses steps that move z by 2h·|a| with a large a."""
    def signs():
        net.forward(X)
        return [np.signbit(layer.Z) for layer in net.layers[1:-1]]

    base = signs()
    for layer in net.layers[1:]:
        for p in layer.params:
            for i in np.ndindex(p.shape):
                old = p[i]
                for step in (2 * h, h, -h, -2 * h):
                    p[i] = old + step
                    flipped = any((a != b).any() for a, b in zip(signs(), base))
                    p[i] = old
                    if flipped:
                        return True
    return False


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    """The check can fail: break σ' and it must notice."""
    from mlplab import activations

    broken = activations.Activation("sigmoid", activations.sigmoid,
                                    lambda z: 0.9 * activations.sigmoid_prime(z))
    net = Network([2, 3, 1], activation=broken, seed=0)
    result = gradcheck(net, np.ones((2, 2)), np.ones((2, 1)))
    assert not result.passed and result.errors[1] > 1e-3
    assert "FAIL" in str(result)


def test_gradcheck_runs_in_float64_and_leaves_the_network_alone():
    net = Network([2, 2, 1], seed=0, dtype="float32")
    W = net.layers[1].W.copy()
    result = gradcheck(net, np.ones((3, 2), np.float32), np.ones((3, 1), np.float32))
    assert result.passed
    assert net.dtype == np.float32 and np.array_equal(net.layers[1].W, W)


def test_gradcheck_on_xor_after_training():
    X, Y = mlplab.datasets.xor()
    net = Network([2, 2, 1], seed=1)
    net.fit(X, Y, learning_rate=1.0, max_epochs=500)
    assert gradcheck(net, X, Y).max_error < 1e-6


def test_a_kink_within_the_step_is_checked_with_smaller_steps():
    """A ReLU whose z is 1e-3 from its kink: steps of ±2e-3 on its bias cross it (their chord
    is no derivative, and the check failed on a healthy trained model); smaller steps agree."""
    net = Network([2, 3, 1], activation="relu", loss="mse", output="identity", seed=0)
    X, Y = np.array([[1.0, -0.5], [0.3, 0.8]]), np.array([[0.2], [-0.4]])
    hidden = net.layers[1]
    hidden.b[0] = 1e-3 - X[0] @ hidden.W[0]  # unit 0's z for the first sample: 1e-3
    net.forward(X)
    assert abs(hidden.Z[0, 0] - 1e-3) < 1e-12
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)
    # smaller steps are tried only after a failure: h = 1e-3 failed there, 1e-4 passed
    assert result.steps == {1: 1e-4} and "h = 0.0001" in str(result)
    assert gradcheck(net, X, Y, h=1e-4).steps == {}  # that step alone passes at once

    from mlplab import activations  # a wrong derivative still fails at every step
    broken = activations.Activation("relu", activations.relu,
                                    lambda z: 0.9 * activations.relu_prime(z))
    hidden.g = broken
    assert not gradcheck(net, X, Y).passed


def test_a_z_exactly_at_the_kink_is_moved_off_it_and_said():
    """A fresh convolution (b = 0) on zero-padded digits: 160 of its z are exactly 0, where
    every step crosses the kink (the check failed with 3.8e-2 on a correct backprop). Its b is
    moved off the kink on the check's copy, and the report says so; a wrong g' still fails."""
    from mlplab import activations
    from mlplab.layers import Conv2D, Dense, Flatten, Input, MaxPool2D

    X, y = mlplab.datasets.load_digits_images()
    net = Network.from_layers([Input((1, 8, 8)), Conv2D(1, 4, 3, "relu", padding="same"),
                               MaxPool2D(2), Flatten(), Dense(None, 10, "softmax")],
                              loss="cross_entropy", seed=0)
    b = net.layers[1].b.copy()
    result = gradcheck(net, X[:5], y[:5])
    assert result.passed and result.moved == {1: 160}, str(result)
    assert "160 z exactly at the kink z = 0" in str(result)
    np.testing.assert_array_equal(net.layers[1].b, b)  # the user's network is not touched
    net.layers[1].g = activations.Activation("relu", activations.relu,
                                             lambda z: 0.9 * activations.relu_prime(z))
    assert not gradcheck(net, X[:5], y[:5]).passed


def test_dropout_masks_are_frozen_for_the_check():
    """A new mask at every forward gave FAIL 1.0 on every layer; one draw is kept instead."""
    from mlplab.layers import Dense, Dropout, Input

    net = Network.from_layers([Input(3), Dense(None, 5, "tanh"), Dropout(None, 0.4, seed=1),
                               Dense(None, 2, "softmax")], loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).normal(size=(6, 3))
    result = gradcheck(net, X, [0, 1] * 3)
    assert result.passed, str(result)
    assert not net.layers[2].frozen  # the user's network is left as it was


def test_kinks_inside_a_residual_block_are_left_too():
    from mlplab.layers import Dense, Input, Residual

    net = Network.from_layers([Input(3), Residual([Dense(3, 3, "relu"),
                                                   Dense(3, 3, "identity")]),
                               Dense(None, 1, "identity")], loss="mse", seed=0)
    X = np.zeros((4, 3))  # every z of the block's ReLU is its b: 0 at the kink
    net.layers[1].layers[0].b[:] = 0
    result = gradcheck(net, X, np.ones(4))
    assert result.passed and result.moved == {1: 12}, str(result)
    assert f"b moved by up to {result.shifts[1]:.3g}" in str(result) and 0.005 <= result.shifts[1] <= 0.01
