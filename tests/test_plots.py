"""Figures: written, not blank, and the numbers behind them right."""

import numpy as np
import pytest

from mlplab import Network, Perceptron
from mlplab.datasets import blobs, circles, xor_clusters
from mlplab.plots.boundary import decision_boundary_figure, probability
from mlplab.plots.curves import loss_curves
from mlplab.plots.diagram import network_diagram
from mlplab.plots.perceptron import dancing_line_gif, dancing_line_still, line_points
from mlplab.plots.warp import hidden, warp_figure

from imagecheck import assert_not_blank, pixels


@pytest.fixture(scope="module")
def xor_net():
    X, y = xor_clusters(120, seed=0)
    for seed in range(10):  # 2 tanh units often stick in a local minimum on XOR; take a solver
        net = Network([2, 2, 1], activation="tanh", loss="cross_entropy", init="xavier_normal",
                      seed=seed)
        net.fit(X, y, optimizer="adam", learning_rate=0.05, epsilon=None, max_epochs=600)
        if net.score(X, y) > 0.9:
            break
    assert net.score(X, y) > 0.9
    return net, X, y


def test_warp_output_boundary_is_a_straight_line_in_hidden_space(xor_net, tmp_path):
    net, X, y = xor_net
    warp = warp_figure(net, X, y, tmp_path / "warp.png")
    assert_not_blank(warp.path)
    assert not warp.projected and warp.explained == 1.0
    np.testing.assert_allclose(warp.H, hidden(net, X))
    # the output layer's pre-activation z⁽ᴸ⁾ is affine in the hidden coordinates, so its zero
    # set (p = 0.5) is the straight line drawn: z = w·h + c for every sample
    net.forward(X)
    np.testing.assert_allclose(net.layers[-1].Z[:, 0], warp.H @ warp.w + warp.c, atol=1e-9)
    # and that line separates the classes as well as the network does
    assert np.mean((warp.H @ warp.w + warp.c > 0) == y) == net.score(X, y)


def test_warp_of_a_wider_hidden_layer_is_projected_keeping_the_boundary_exact(tmp_path):
    X, y = circles(150, noise=0.08, seed=1)
    net = Network([2, 5, 1], activation="tanh", loss="cross_entropy", init="xavier_normal", seed=0)
    net.fit(X, y, optimizer="adam", learning_rate=0.05, epsilon=None, max_epochs=600)
    warp = warp_figure(net, X, y, tmp_path / "wide.png")
    assert warp.projected and 0 < warp.explained <= 1
    assert warp.H.shape == (len(X), 2)
    net.forward(X)
    np.testing.assert_allclose(net.layers[-1].Z[:, 0], warp.H @ warp.w + warp.c, atol=1e-9)
    assert_not_blank(warp.path)


def test_decision_boundary_for_a_network_and_a_perceptron(xor_net, tmp_path):
    net, X, y = xor_net
    path = decision_boundary_figure(net, X[:90], y[:90], X[90:], y[90:], path=tmp_path / "n.png")
    assert_not_blank(path)
    Xb, yb = blobs(80, seed=0)
    clf = Perceptron().fit(Xb, yb)
    p = probability(clf, Xb)
    np.testing.assert_array_equal(p, clf.predict(Xb))  # the step's 0/1 as the "probability"
    assert_not_blank(decision_boundary_figure(clf, Xb, yb, path=tmp_path / "p.png"))


def test_network_diagram_with_and_without_bias_units(xor_net, tmp_path):
    net, _, _ = xor_net
    with_bias = network_diagram(net, tmp_path / "bias.png")
    without = network_diagram(net, tmp_path / "nobias.png", show_bias=False)
    assert_not_blank(with_bias) and assert_not_blank(without)
    assert pixels(with_bias).shape != pixels(without).shape or \
        np.abs(pixels(with_bias) - pixels(without)).mean() > 1
    wide = Network([3, 12, 6, 2], activation="relu", loss="cross_entropy", seed=0)
    assert_not_blank(network_diagram(wide, tmp_path / "wide.png"))


def test_dancing_line(tmp_path):
    X, y = blobs(40, noise=0.8, seed=2, centers=[(2, 5), (5, 3)])
    clf = Perceptron(random_state=0).fit(X, y)
    gif = dancing_line_gif(clf, X, y, tmp_path / "dance.gif", max_frames=10)
    from PIL import Image

    with Image.open(gif) as im:
        assert 2 <= im.n_frames <= 13
    assert_not_blank(dancing_line_still(clf, X, y, tmp_path / "still.png"))
    assert line_points(np.zeros(2), 0.0, (0, 1), (0, 1)) is None  # w = 0: no line yet
    pts = line_points(np.array([1.0, -1.0]), 0.5, (0, 1), (0, 1))
    np.testing.assert_allclose(pts @ [1.0, -1.0] + 0.5, 0)       # both ends on w·x + b = 0


def test_loss_curves(tmp_path):
    path = loss_curves({"a": np.geomspace(1, 1e-3, 50), "b": np.linspace(1, 0.5, 30)},
                       tmp_path / "loss.png")
    assert_not_blank(path)
