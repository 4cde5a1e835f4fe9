"""The trace of one sample matches the engine, number by number, with formulas named."""

import numpy as np
import pytest

from mlplab import ConfigError, Network, trace


def test_trace_matches_the_worked_example():
    net = Network([2, 2, 2], seed=0)
    net.layers[1].W[:] = [[0.15, 0.20], [0.25, 0.30]]
    net.layers[1].b[:] = 0.35
    net.layers[2].W[:] = [[0.40, 0.45], [0.50, 0.55]]
    net.layers[2].b[:] = 0.60
    t = trace(net, [0.05, 0.10], [0.01, 0.99], learning_rate=0.5)
    assert t.cost == pytest.approx(0.298371109, rel=1e-8)
    np.testing.assert_allclose(t["a⁽¹⁾"], [0.593269992, 0.596884378], rtol=1e-9)
    assert t["W⁽²⁾ new"][0, 0] == pytest.approx(0.35891648, rel=1e-8)
    assert t["W⁽¹⁾ new"][0, 0] == pytest.approx(0.149780716, rel=1e-8)
    np.testing.assert_array_equal(t["∂C/∂b⁽¹⁾"], t["δ⁽¹⁾"])
    # the network itself is untouched
    assert net.layers[2].W[0, 0] == 0.40


def test_trace_names_every_quantity_with_its_formula():
    net = Network([2, 3, 1], seed=1)
    t = trace(net, [1, 0], [1])
    symbols = [s.symbol for s in t.steps]
    for name in ["a⁽⁰⁾", "z⁽¹⁾", "a⁽¹⁾", "z⁽²⁾", "a⁽²⁾", "δ⁽²⁾", "δ⁽¹⁾", "∂C/∂W⁽¹⁾", "∂C/∂b⁽²⁾",
                 "W⁽¹⁾ new", "b⁽²⁾ new"]:
        assert name in symbols
    text = str(t)
    assert "(a⁽²⁾ − y) ⊙ sigmoid'(z⁽²⁾)" in text
    assert "(W⁽²⁾)ᵀδ⁽²⁾ ⊙ sigmoid'(z⁽¹⁾)" in text
    d = t.as_dict()
    assert d["steps"][0]["symbol"] == "W⁽¹⁾" and isinstance(d["steps"][0]["value"], list)


def test_trace_agrees_with_gradients():
    net = Network([3, 4, 2], activation="tanh", loss="cross_entropy", seed=2)
    x, y = np.array([0.3, -1.0, 2.0]), np.array([0.0, 1.0])
    t = trace(net, x, y)
    grads = net.gradients(x.reshape(1, -1), y.reshape(1, -1))
    np.testing.assert_allclose(t["∂C/∂W⁽¹⁾"], grads[1][0])
    assert "a⁽²⁾ − y" in str(t)


def test_trace_validates():
    net = Network([2, 2, 1], seed=0)
    with pytest.raises(ConfigError, match="learning rate"):
        trace(net, [1, 0], [1], learning_rate=3)
    with pytest.raises(Exception, match="features"):
        trace(net, [1, 0, 1], [1])


def test_trace_of_a_dropout_network_is_the_prediction_network():
    from mlplab.layers import with_dropout

    base = Network([2, 3, 1], seed=0)
    t = trace(with_dropout(base, p=0.5, seed=0), [1, 0], [1])
    np.testing.assert_array_equal(t["W⁽²⁾ new"], trace(base, [1, 0], [1])["W⁽²⁾ new"])


def test_trace_refuses_layers_outside_the_lecture():
    from mlplab.layers import BatchNorm, Dense, Input

    rng = np.random.default_rng(0)
    net = Network.from_layers([Input(2), Dense(2, 3, "identity", "normal", rng),
                               BatchNorm(3, "sigmoid"), Dense(3, 1, "sigmoid", "normal", rng)])
    with pytest.raises(ConfigError, match="dense layers only.*BatchNorm"):
        trace(net, [1, 0], [1])
