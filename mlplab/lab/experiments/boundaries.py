"""Decision boundaries: curved in input space, straight in the hidden layer's space."""

from __future__ import annotations

from pathlib import Path

from . import ExperimentResult, Table

NAME = "boundaries"
ORDER = 40
TITLE = "Curved boundaries, straight in hidden space"
TITLE_ZH = "深度剖析"
CLAIM = ("A hidden layer bends the input space until the classes can be cut by a straight line: "
         "the network's boundary is curved in input space and a straight line (hyperplane) in the "
         "space of the last hidden layer.")


L2_PENALTY = 3e-3  # keeps the weights moderate: tanh units stay out of saturation, the warp visible


def _train(X, y, hidden: int, seed: int, epochs: int):
    from ...core.network import Network
    from ...train.regularizers import L2

    net = Network([2, hidden, 1], activation="tanh", loss="cross_entropy", init="xavier_normal",
                  seed=seed)
    history = net.fit(X, y, optimizer="adam", learning_rate=0.05, epsilon=None, max_epochs=epochs,
                      callbacks=[L2(L2_PENALTY)])
    return net, history


def run(out: Path, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    from ...datasets import circles, train_test_split, two_curves
    from ...core.network import Network
    from ..plots.boundary import decision_boundary_figure
    from ..plots.curves import loss_curves
    from ..plots.warp import warp_figure

    out = Path(out)
    epochs = 1500 if quick else 3000
    # the lecture's two-curve data: two cosine-shaped curves, one class each
    X, y = two_curves(200 if quick else 300, seed=seed)
    Xtr, Xte, ytr, yte = train_test_split(X, y, seed=seed)
    linear = Network([2, 1], loss="cross_entropy", init="xavier_normal", seed=seed)
    linear_history = linear.fit(Xtr, ytr, optimizer="adam", learning_rate=0.05, epsilon=None,
                                max_epochs=epochs)
    net, history = _train(Xtr, ytr, 2, seed, epochs)
    # a disc inside a ring needs at least 3 hidden units: the hidden space is then 3-D
    Xc, yc = circles(200 if quick else 300, noise=0.08, seed=seed)
    Xctr, Xcte, yctr, ycte = train_test_split(Xc, yc, seed=seed)
    wide, wide_history = _train(Xctr, yctr, 4, seed, epochs)

    warp = warp_figure(net, Xtr, ytr, out / "boundaries_warp.png",
                       title="two curves, 2-2-1 tanh network: curved here, straight there")
    wide_warp = warp_figure(wide, Xctr, yctr, out / "boundaries_warp_circles.png",
                            title="circles, 2-4-1 tanh network (4-D hidden space, projected to 2-D)")
    figures = [
        (warp.path, "The lecture's figure. Left: the input plane with its grid, the two curves and "
                    "the network's curved boundary. Right: the grid and the data carried through "
                    "the 2 hidden tanh units; the output neuron cuts there with a straight line."),
        (decision_boundary_figure(net, Xtr, ytr, Xte, yte, path=out / "boundaries_two_curves.png",
                                  title=f"2-2-1 tanh: train {net.score(Xtr, ytr):.1%}, "
                                        f"test {net.score(Xte, yte):.1%}"),
         "P(class 1) over the plane, the 0.5 contour (black), training points (filled) and test "
         "points (open squares)."),
        (decision_boundary_figure(linear, Xtr, ytr, Xte, yte, path=out / "boundaries_linear.png",
                                  title=f"no hidden layer: test {linear.score(Xte, yte):.1%}"),
         "Without a hidden layer the boundary can only be a straight line."),
        (wide_warp.path, f"A wider hidden layer: the 4-D hidden space is projected to 2-D, along the "
                         "output layer's normal w (horizontal: the output hyperplane is exactly the "
                         "vertical black line) and the main principal component of the rest "
                         f"(vertical); the view keeps {wide_warp.explained:.0%} of the variance."),
        (loss_curves({"2-2-1 tanh, two curves": history.loss,
                      "2-1 (no hidden layer), two curves": linear_history.loss,
                      "2-4-1 tanh, circles": wide_history.loss},
                     out / "boundaries_loss.png", title="Cross-entropy per epoch (Adam)",
                     ylabel="cost C (cross-entropy, mean)", log=False),
         f"Training cost per epoch (Adam, α = 0.05; the hidden networks with an L2 penalty "
         f"λ = {L2_PENALTY} that keeps the weights moderate)."),
    ]
    rows = [["two curves", "2-1 (no hidden layer)", linear.score(Xtr, ytr), linear.score(Xte, yte)],
            ["two curves", "2-2-1 tanh", net.score(Xtr, ytr), net.score(Xte, yte)],
            ["circles", "2-4-1 tanh", wide.score(Xctr, yctr), wide.score(Xcte, ycte)]]
    table = Table("Accuracy", ["data", "network", "train", "test"],
                  [[d, n, f"{a:.1%}", f"{b:.1%}"] for d, n, a, b in rows])
    numbers = {
        "epochs": epochs, "l2": L2_PENALTY,
        "two_curves": {"linear": {"train": rows[0][2], "test": rows[0][3]},
                       "hidden2": {"train": rows[1][2], "test": rows[1][3]},
                       "output_line": {"w": warp.w.tolist(), "c": warp.c}},
        "circles": {"train": rows[2][2], "test": rows[2][3], "projection_explained": wide_warp.explained},
    }
    findings = [
        f"Two curves: no straight line does it (test {linear.score(Xte, yte):.1%}); 2 tanh "
        f"hidden units reach {net.score(Xte, yte):.1%} on the test set.",
        f"In the hidden plane the output boundary is the straight line "
        f"{warp.w[0]:.2f}·h₁ {warp.w[1]:+.2f}·h₂ {warp.c:+.2f} = 0.",
        f"Circles with 4 hidden units: test {wide.score(Xcte, ycte):.1%}; the 2-D view of the "
        f"4-D hidden space keeps {wide_warp.explained:.0%} of its variance.",
    ]
    return ExperimentResult(NAME, TITLE, TITLE_ZH, CLAIM, numbers, figures, [table], findings)
