"""The network against a 2-2-2 example worked by hand, and its structure."""

import numpy as np
import pytest

import mlplab
from mlplab import Network
from mlplab.errors import ConfigError
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense


def worked_example() -> Network:
    """The classic hand-worked example (M. Mazur, "A step by step backpropagation example").

    x = (0.05, 0.10), y = (0.01, 0.99), sigmoid everywhere, C = ½‖a⁽²⁾ − y‖².
    """
    net = Network([2, 2, 2], activation="sigmoid", loss="mse", seed=0)
    net.layers[1].W[:] = [[0.15, 0.20], [0.25, 0.30]]
    net.layers[1].b[:] = [0.35, 0.35]
    net.layers[2].W[:] = [[0.40, 0.45], [0.50, 0.55]]
    net.layers[2].b[:] = [0.60, 0.60]
    return net


X = np.array([[0.05, 0.10]])
Y = np.array([[0.01, 0.99]])


def test_forward_by_hand():
    net = worked_example()
    a2 = net.forward(X)
    # z⁽¹⁾₁ = 0.15·0.05 + 0.20·0.10 + 0.35 = 0.3775;  a⁽¹⁾₁ = σ(0.3775) = 0.593269992
    # z⁽¹⁾₂ = 0.25·0.05 + 0.30·0.10 + 0.35 = 0.3925;  a⁽¹⁾₂ = σ(0.3925) = 0.596884378
    np.testing.assert_allclose(net.layers[1].Z[0], [0.3775, 0.3925])
    np.testing.assert_allclose(net.layers[1].A[0], [0.593269992, 0.596884378], rtol=1e-9)
    # z⁽²⁾₁ = 0.40·0.593269992 + 0.45·0.596884378 + 0.60 = 1.105905967 → σ = 0.75136507
    # z⁽²⁾₂ = 0.50·0.593269992 + 0.55·0.596884378 + 0.60 = 1.224921404 → σ = 0.772928465
    np.testing.assert_allclose(a2[0], [0.75136507, 0.772928465], rtol=1e-8)
    # C = ½(0.01 − 0.75136507)² + ½(0.99 − 0.772928465)² = 0.274811083 + 0.023560026
    assert net.cost(X, Y) == pytest.approx(0.298371109, rel=1e-8)


def test_backward_by_hand():
    net = worked_example()
    grads = net.gradients(X, Y)
    # δ⁽²⁾₁ = (0.75136507 − 0.01)·σ'(z) = 0.74136507 · 0.186815602 = 0.138498562
    # ∂C/∂w⁽²⁾₁₁ = δ⁽²⁾₁ · a⁽¹⁾₁ = 0.138498562 · 0.593269992 = 0.082167041
    np.testing.assert_allclose(net.layers[2].delta[0, 0], 0.138498562, rtol=1e-8)
    np.testing.assert_allclose(grads[2][0][0, 0], 0.082167041, rtol=1e-8)
    # δ⁽¹⁾₁ = (0.40·δ⁽²⁾₁ + 0.50·δ⁽²⁾₂)·σ'(z⁽¹⁾₁) = 0.036350306 · 0.241300709 = 0.008771354
    # ∂C/∂w⁽¹⁾₁₁ = δ⁽¹⁾₁ · x₁ = 0.008771354 · 0.05 = 0.000438568
    np.testing.assert_allclose(grads[1][0][0, 0], 0.000438568, rtol=1e-6)
    # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾ for one sample
    np.testing.assert_allclose(grads[1][1], net.layers[1].delta[0])
    # one update with α = 0.5: w⁽²⁾₁₁ = 0.40 − 0.5·0.082167041 = 0.35891648,
    #                         w⁽¹⁾₁₁ = 0.15 − 0.5·0.000438568 = 0.149780716
    assert 0.40 - 0.5 * grads[2][0][0, 0] == pytest.approx(0.35891648, rel=1e-8)
    assert 0.15 - 0.5 * grads[1][0][0, 0] == pytest.approx(0.149780716, rel=1e-8)


def test_batch_gradient_is_the_mean_of_per_sample_gradients():
    net = Network([3, 4, 2], activation="tanh", loss="mse", seed=3)
    rng = np.random.default_rng(0)
    Xb, Yb = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    batch = net.gradients(Xb, Yb)
    singles = [net.gradients(Xb[i:i + 1], Yb[i:i + 1]) for i in range(6)]
    for l in batch:
        np.testing.assert_allclose(batch[l][0], np.mean([s[l][0] for s in singles], axis=0))
        np.testing.assert_allclose(batch[l][1], np.mean([s[l][1] for s in singles], axis=0))


def test_shapes_follow_the_lecture():
    net = Network([4, 5, 3, 2], activation="relu", loss="cross_entropy", seed=0)
    assert isinstance(net.layers[0], Input) and net.L == 3
    assert [layer.W.shape for layer in net.layers[1:]] == [(5, 4), (3, 5), (2, 3)]
    assert [layer.b.shape for layer in net.layers[1:]] == [(5,), (3,), (2,)]
    assert net.output == "softmax"
    A = net.forward(np.zeros((7, 4)))
    assert A.shape == (7, 2) and net.layers[2].Z.shape == (7, 3)


def test_default_outputs():
    assert Network([2, 2, 1]).output == "sigmoid"  # the lecture: σ in every layer
    assert Network([2, 2, 1], activation="relu").output == "identity"  # regression
    assert Network([2, 2, 1], loss="cross_entropy", activation="tanh").output == "sigmoid"


def test_predict_and_predict_proba():
    net = Network([2, 3, 3], loss="cross_entropy", seed=0)
    P = net.predict_proba(np.ones((4, 2)))
    np.testing.assert_allclose(P.sum(1), 1)
    np.testing.assert_array_equal(net.predict(np.ones((4, 2))), P.argmax(1))
    reg = Network([2, 3, 1], activation="relu", seed=0)
    with pytest.raises(ConfigError, match="predict_proba needs"):
        reg.predict_proba(np.ones((1, 2)))
    np.testing.assert_array_equal(reg.predict(np.ones((2, 2))), reg.forward(np.ones((2, 2))))


def test_summary_prints_every_W_and_b():
    net = Network([2, 2, 1], seed=0)
    text = net.summary()
    for l in (1, 2):
        assert f"W({l})" in text and f"b({l})" in text
    assert f"{net.layers[2].b[0]:.4f}" in text
    assert "9 parameters" in text


def test_from_layers_matches_the_sizes_constructor():
    a = Network([3, 4, 1], activation="tanh", output="sigmoid", seed=5)
    rng = np.random.default_rng(5)
    b = Network.from_layers([Input(3), Dense(3, 4, "tanh", "normal", rng),
                             Dense(4, 1, "sigmoid", "normal", rng)], loss="mse")
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(a.forward(X), b.forward(X))


def test_step_hidden_layer_refuses_to_train():
    net = Network([2, 2, 1], activation="step", seed=0)
    X, Y = mlplab.datasets.xor()
    with pytest.raises(ConfigError, match="derivative is 0"):
        net.fit(X, Y)
    with pytest.raises(ConfigError, match="derivative is 0"):
        net.gradients(X, Y)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = (Network([3, 5, 2], seed=s) for s in (7, 7, 8))
    for la, lb, lc in zip(a.layers[1:], b.layers[1:], c.layers[1:]):
        assert np.array_equal(la.W, lb.W) and np.array_equal(la.b, lb.b)
        assert not np.array_equal(la.W, lc.W)


def test_one_activation_per_hidden_layer(tmp_path):
    net = Network([2, 5, 4, 1], activation=["tanh", "relu"], loss="cross_entropy", seed=0)
    assert [layer.g.name for layer in net.layers[1:]] == ["tanh", "relu", "sigmoid"]
    assert "activation=['tanh', 'relu']" in repr(net)
    X, y = mlplab.datasets.moons(60, seed=1)
    net.fit(X, y, optimizer="adam", learning_rate=0.05, batch_size=10, max_epochs=5)
    back = mlplab.load(mlplab.save(net, tmp_path / "m.safetensors"))
    assert [layer.g.name for layer in back.layers[1:]] == ["tanh", "relu", "sigmoid"]
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    with pytest.raises(ConfigError, match="one g per hidden layer: sizes .* have 2, got 1"):
        Network([2, 5, 4, 1], activation=["tanh"])
    with pytest.raises(ConfigError, match="softmax is only an output"):
        Network([2, 5, 4, 3], activation=["tanh", "softmax"], loss="cross_entropy")


@pytest.mark.parametrize("make", [
    lambda n: [Input(3), Dense(n and 3, 4, "relu"), Dense(n and 4, 2, "softmax")],
    lambda n: [Input((5, 3)), SimpleRNN(n and 3, 4), Dense(n and 4, 1, "identity")],
    lambda n: [Input((5, 3)), LSTM(n and 3, 4), Dense(n and 4, 1, "identity")],
    lambda n: [Input((5, 3)), GRU(n and 3, 4), Dense(n and 4, 1, "identity")],
    lambda n: [Input((5, 3)), GRU(n and 3, 4, True), TimeDense(n and 4, 2, "identity")],
])
def test_the_seed_decides_the_weights_of_layers_given_their_input_width(make):
    """Such a layer draws its weights when made (unseeded): the network's seed draws them again,
    the same numbers as for a layer that waits for its width."""
    loss = "cross_entropy" if make(None)[-1].g.name == "softmax" else "mse"
    given = [Network.from_layers(make(1), loss=loss, seed=7) for _ in range(2)]
    waiting = Network.from_layers(make(None), loss=loss, seed=7)
    for net in given[1:] + [waiting]:
        assert all(np.array_equal(p, q) for p, q in zip(given[0].params, net.params))
    other = Network.from_layers(make(1), loss=loss, seed=8)
    assert not np.array_equal(other.params[0], given[0].params[0])


def test_weights_set_by_hand_are_kept_by_a_seeded_network():
    in_place, assigned = Dense(2, 2, "sigmoid"), Dense(2, 2, "sigmoid")
    in_place.W[:] = [[1, 2], [3, 4]]
    assigned.W = np.array([[5.0, 6], [7, 8]])
    for layer, W in ((in_place, [[1, 2], [3, 4]]), (assigned, [[5, 6], [7, 8]])):
        net = Network.from_layers([Input(2), layer, Dense(2, 1, "sigmoid")], loss="mse", seed=0)
        np.testing.assert_array_equal(net.layers[1].W, W)
    seeded = Dense(2, 2, rng=np.random.default_rng(3))  # a generator of its own: its draw
    W = seeded.W.copy()
    Network.from_layers([Input(2), seeded, Dense(2, 1)], loss="mse", seed=0)
    np.testing.assert_array_equal(seeded.W, W)


def test_copies_residual_blocks_and_seedless_networks():
    """A deep copy of an untouched layer is untouched too; a Residual's layers are seeded;
    without a seed nothing is drawn again (the weights a user saw stay)."""
    import copy

    from mlplab.layers import Residual

    template = [Input(2), Dense(2, 4, "relu"), Dense(4, 1)]
    W = [Network.from_layers(copy.deepcopy(template), loss="mse", seed=s).layers[1].W
         for s in (0, 1, 0)]
    assert not np.array_equal(W[0], W[1]) and np.array_equal(W[0], W[2])
    inner = [Network.from_layers([Input(3), Residual([Dense(3, 3, "relu")]), Dense(3, 1)],
                                 loss="mse", seed=0).layers[1].layers[0].W for _ in range(2)]
    np.testing.assert_array_equal(*inner)
    layer = Dense(2, 3)
    seen = layer.W.copy()
    Network.from_layers([Input(2), layer, Dense(None, 1)], loss="mse")
    np.testing.assert_array_equal(layer.W, seen)
