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


def _arrows(monkeypatch, name, tmp_path):
    """The flow figure's arrows of lab ``name``, as (from x, to x) per panel."""
    from matplotlib.text import Annotation

    import mlplab.lab.plots.diagram as diagram
    from mlplab.experiments import run_experiment

    drawn, save = [], diagram.save
    monkeypatch.setattr(diagram, "save", lambda fig, path: (drawn.append(fig), save(fig, path))[1])
    run_experiment(name, tmp_path / name, quick=True)
    (fig,) = drawn
    return [(a.xyann[0], a.xy[0]) for ax in fig.axes for a in ax.texts
            if isinstance(a, Annotation)]


def test_forward_figure_points_forward_in_both_panels_and_backprop_back(monkeypatch, tmp_path):
    forward = _arrows(monkeypatch, "forward", tmp_path)
    assert len(forward) == 2 and all(x0 < x1 for x0, x1 in forward)  # a and z: one forward pass
    monkeypatch.undo()
    (top_from, top_to), (bottom_from, bottom_to) = _arrows(monkeypatch, "backprop", tmp_path)
    assert top_from < top_to and bottom_from > bottom_to  # δ flows right to left



def test_line_points_clip_to_the_box_and_a_line_that_misses_it_is_none():
    box = ((0, 1), (0, 1))
    assert line_points(np.array([1.0, 1.0]), -5.0, *box) is None  # x₁ + x₂ = 5: off the view
    assert line_points(np.array([1.0, 1.0]), 0.0, *box) is None   # touches the corner only
    pts = line_points(np.array([1.0, -2.0]), 0.2, *box)           # steep part leaves the top
    assert np.all((pts >= -1e-12) & (pts <= 1 + 1e-12))
    np.testing.assert_allclose(pts @ [1.0, -2.0] + 0.2, 0, atol=1e-12)


def _legend_and_lines(monkeypatch, draw):
    import mlplab.lab.plots.perceptron as perceptron

    drawn, save = [], perceptron.save
    monkeypatch.setattr(perceptron, "save", lambda fig, path: (drawn.append(fig), save(fig, path))[1])
    draw()
    (ax,) = drawn[0].axes
    return [t.get_text() for t in ax.get_legend().get_texts()], ax


def test_perceptron_still_counts_only_lines_it_draws_and_marks_those_outside(monkeypatch, tmp_path):
    """On XOR the final line may leave the view: the legend says so, and the count of earlier
    lines is the count of grey lines on the plot."""
    import re

    from mlplab.datasets import truth_table
    from mlplab.lab.experiments._rules import perceptron_rule
    from mlplab.lab.plots.perceptron import drawn_updates, lines_in_view
    from mlplab.lab.text import language

    Xt, Yt = truth_table("xor")
    yt = Yt.ravel().astype(int)
    dance = perceptron_rule(Xt, yt, eta=0.5, max_epochs=30, seed=0)  # the one-cut lab's quick run
    n = dance.n_updates_
    shown = lines_in_view(dance, Xt, drawn_updates(n))
    assert n not in lines_in_view(dance, Xt, [n]) and len(shown) < len(drawn_updates(n))
    with language("en"):
        legend, ax = _legend_and_lines(monkeypatch, lambda: dancing_line_still(
            dance, Xt, yt, tmp_path / "xor.png", highlight=0, highlight_label="start again"))
    assert "final line (outside the view)" in legend
    grey = [line for line in ax.get_lines() if len(line.get_xdata()) == 2
            and line.get_label().startswith("_")]  # the unlabelled earlier lines
    label = next(t for t in legend if "earlier lines" in t)
    assert int(re.match(r"(\d+) of the (\d+)", label).group(1)) == len(grey) == len(shown)
    assert f"of the {n} earlier lines (of 40 sampled, {40 - len(shown)} outside the view)" in label


def test_perceptron_lab_counts_the_lines_in_view(tmp_path):
    from mlplab.experiments import run_experiment
    from mlplab.lab.experiments.perceptron import separable_blobs
    from mlplab.lab.experiments._rules import perceptron_rule
    from mlplab.lab.plots.perceptron import drawn_updates, lines_in_view

    numbers = run_experiment("perceptron", tmp_path, quick=True).numbers
    X, y = separable_blobs(100, 0)
    dance = perceptron_rule(X, y, eta=numbers["eta"], max_epochs=1000, seed=0)
    assert 1 not in lines_in_view(dance, X, [1])  # the first update's line leaves the view
    assert numbers["lines_drawn"] == len(lines_in_view(dance, X, drawn_updates(dance.n_updates_)))
    assert numbers["lines_drawn"] < min(numbers["updates"], 40)


def test_a_hidden_units_cut_outside_the_view_is_marked_in_the_warp_legend(tmp_path):
    from mlplab.lab.plots.warp import _draw_line
    from mlplab.plots.style import figure

    from mlplab.lab.text import language

    fig, ax = figure()
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    with language("en"):
        assert not _draw_line(ax, np.array([1.0, 0.5]), -3.0, label="hidden unit 1's cut")
        assert _draw_line(ax, np.array([1.0, 0.5]), 0.0, label="hidden unit 2's cut")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["hidden unit 1's cut (outside the view)", "hidden unit 2's cut"]
    assert ax.get_lines()[0].get_xdata().size == 0 and ax.get_xlim() == (-1, 1)
    X, y = circles(200, noise=0.05, seed=0)  # the boundaries lab's circles, quick mode
    from mlplab.lab.experiments.boundaries import CIRCLES_HIDDEN, L2_PENALTY, _fit

    wide = _fit(X, y, [CIRCLES_HIDDEN], "tanh", 0, 800, L2_PENALTY)
    warp = warp_figure(wide, X, y, tmp_path / "circles.png")
    first, (xx, yy) = wide.layers[1], (X.min(0), X.max(0))
    from mlplab.lab.plots.boundary import grid

    gx, gy = grid(X, steps=200, margin=0.15)
    box = ((gx.min(), gx.max()), (gy.min(), gy.max()))
    expected = tuple(i + 1 for i in range(first.n_out)
                     if line_points(first.W[i], float(first.b[i]), *box) is None)
    assert warp.cuts_outside == expected and expected  # this run: one cut is off the view
