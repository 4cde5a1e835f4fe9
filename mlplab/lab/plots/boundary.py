"""Decision boundaries of any 2-D model: probability heat map, the 0.5 contour, the points."""

from __future__ import annotations

import numpy as np

from ..text import tr
from .style import CLASS_COLORS, PROBABILITY_CMAP

Array = np.ndarray


def probability(model, X: Array) -> Array:
    """P(class 1 | x) for the rows of ``X``, whatever the model offers.

    An :class:`mlplab.Network` (its single sigmoid output, or softmax column 1), a scikit-learn
    classifier with ``predict_proba``, one with only ``decision_function`` (its sign as 0/1,
    e.g. :class:`mlplab.Perceptron`), or a plain function ``X -> p``.
    """
    from ...core.network import Network

    if isinstance(model, Network):
        A = model.forward(X.astype(model.dtype))
        return A[:, -1] if A.shape[1] <= 2 else A.argmax(1).astype(float)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)[:, -1]
    if hasattr(model, "decision_function"):
        z = model.decision_function(X)
        return (np.asarray(z).reshape(len(X), -1)[:, 0] > 0).astype(float)
    if callable(model):
        return np.asarray(model(X), float).ravel()
    raise TypeError(f"cannot read class probabilities from {type(model).__name__}")


def grid(X: Array, steps: int = 200, margin: float = 0.15) -> tuple[Array, Array]:
    """A ``steps × steps`` mesh over the bounding box of ``X`` widened by ``margin``."""
    lo, hi = X.min(0), X.max(0)
    pad = (hi - lo) * margin + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
    return np.meshgrid(xs, ys)


def scatter_classes(ax, X: Array, y: Array, *, marker: str = "o", label: str = "",
                    hollow: bool = False, size: float = 28) -> None:
    """Class 0 blue, class 1 orange; ``hollow`` draws open markers (the test set)."""
    for k in (0, 1):
        pts = X[np.asarray(y).ravel() == k]
        color = CLASS_COLORS[k]
        style = dict(facecolors="none", edgecolors=color, linewidths=1.4) if hollow else \
            dict(c=color, edgecolors="white", linewidths=0.5)
        ax.scatter(pts[:, 0], pts[:, 1], s=size, marker=marker, zorder=3,
                   label=(label + tr(f"class {k}", f"类别 {k}")).strip(), **style)


def plot_decision_boundary(ax, model, X_train: Array, y_train: Array, X_test: Array | None = None,
                           y_test: Array | None = None, *, title: str = "", steps: int = 200):
    """Heat map of P(class 1), its 0.5 contour, train points (filled) and test points (open).

    Returns the mesh ``(xx, yy, P)`` so callers can measure what was drawn.
    """
    pts = X_train if X_test is None else np.vstack([X_train, X_test])
    xx, yy = grid(pts, steps)
    P = probability(model, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    mesh = ax.contourf(xx, yy, P, levels=np.linspace(0, 1, 11), cmap=PROBABILITY_CMAP, alpha=0.75)
    if P.min() < 0.5 < P.max():
        ax.contour(xx, yy, P, levels=[0.5], colors="black", linewidths=2)
    scatter_classes(ax, X_train, y_train,
                    label=tr("train ", "训练 ") if X_test is not None else "")
    if X_test is not None:
        scatter_classes(ax, X_test, y_test, marker="s", label=tr("test ", "测试 "), hollow=True)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="box")
    ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04, label=tr("P(class 1)", "P(类别 1)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4 if X_test is not None else 2,
              fontsize=8.5, frameon=False)
    return xx, yy, P


def decision_boundary_figure(model, X_train, y_train, X_test=None, y_test=None, *, title="",
                             path=None):
    """One decision-boundary panel as a figure; saved to ``path`` when given."""
    from .style import figure, save

    fig, ax = figure(figsize=(6.2, 5.2))
    plot_decision_boundary(ax, model, X_train, y_train, X_test, y_test, title=title)
    return save(fig, path) if path is not None else fig
