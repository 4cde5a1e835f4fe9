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
