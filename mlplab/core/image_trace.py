"""One image through a convolutional network, forward and backward, every map named.

:func:`trace_image` is :func:`mlplab.trace` for networks whose input is an image
``(C, H, W)``: the same :class:`~mlplab.core.trace.Trace` of named steps, in the order a student
derives them, whose values are feature maps ``(channels, height, width)`` where the layer keeps
maps and vectors where it keeps vectors:

- forward, layer by layer: ``z⁽ˡ⁾ = W⁽ˡ⁾ ⋆ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾`` and ``a⁽ˡ⁾ = g(z⁽ˡ⁾)`` (convolution),
  the pooled and flattened ``a⁽ˡ⁾``, the dense layers as in the lecture;
- backward, from the output down: the ``∂C/∂a⁽ˡ⁾`` each layer receives (through a dense layer
  ``(W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾``; through a convolution the full correlation of ``δ⁽ˡ⁺¹⁾`` with the flipped
  kernel; through max pooling ``δ`` routed to each window's maximum), the ``δ⁽ˡ⁾`` maps, and
  ``∂C/∂W⁽ˡ⁾``, ``∂C/∂b⁽ˡ⁾``;
- the gradient-descent update ``W − α ∂C/∂W`` of every layer with weights.

:func:`mlplab.lab.plots.cnn.trace_figure` draws the maps.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import DataError
from .layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from .trace_steps import Trace, TraceStep, _sup

Array = np.ndarray


def _forward_formula(layer, l: int) -> list[tuple[str, str]]:
    """(symbol, formula) of what layer l computes in the forward pass."""
    up, this = _sup(l - 1), _sup(l)
    if isinstance(layer, Conv2D):
        return [("z" + this, f"W{this} ⋆ a{up} + b{this}"),
                ("a" + this, f"{layer.g.name}(z{this})")]
    if isinstance(layer, Dense):
        return [("z" + this, f"W{this}a{up} + b{this}"), ("a" + this, f"{layer.g.name}(z{this})")]
    if isinstance(layer, BatchNorm):
        return [("z" + this, f"γ{this} (a{up} − μ) / σ + β{this}"),
                ("a" + this, f"{layer.g.name}(z{this})")]
    names = {MaxPool2D: "maxpool", AvgPool2D: "avgpool", Flatten: "flatten"}
    name = names.get(type(layer), type(layer).__name__)
    return [("a" + this, f"{name}(a{up})")]


PASSED_DOWN = {  # how a layer turns what it receives into ∂C/∂a for the layer below
    Conv2D: "full correlation of δ{l} with W{l} flipped", Dense: "(W{l})ᵀδ{l}",
    MaxPool2D: "∂C/∂a{l} at each window's maximum, 0 elsewhere",
    AvgPool2D: "∂C/∂a{l} shared equally over each window", Flatten: "∂C/∂a{l} reshaped to maps",
    BatchNorm: "γ{l}δ{l} / σ (the running statistics)",
}


def _passed_down(layer, l: int) -> str:
    """The formula of ``∂C/∂a⁽ˡ⁻¹⁾`` as layer l passes it down."""
    return PASSED_DOWN.get(type(layer), "back through layer {l}").format(l=_sup(l))


def _backward_steps(net, Y) -> list[TraceStep]:
    """The δ recursion run layer by layer, recording what each layer receives and keeps."""
    out, L = net.layers[-1], net.L
    steps = []
    delta = net.loss.output_delta(out.Z, out.A, Y, out.g)
    dA = out.backward_delta(delta, need_dA_prev=L > 1)
    steps += _delta_steps(net, L)
    for l in range(L - 1, 0, -1):  # as Network.backward, keeping what each layer receives
        steps.append(TraceStep("∂C/∂a" + _sup(l), _passed_down(net.layers[l + 1], l + 1), dA[0]))
        dA = net.layers[l].backward(dA, need_dA_prev=l > 1)
        steps += _delta_steps(net, l)
    return steps


def _delta_steps(net, l: int) -> list[TraceStep]:
    """δ⁽ˡ⁾ of a layer that has one, and its weight gradients."""
    layer, this = net.layers[l], _sup(l)
    if getattr(layer, "delta", None) is None:
        return []
    if l == net.L:
        formula = (f"(a{this} − y) ⊙ {layer.g.name}'(z{this})" if net.loss.name == "mse"
                   else f"a{this} − y ({net.loss.name} after {layer.g.name})")
    else:
        formula = f"∂C/∂a{this} ⊙ {layer.g.name}'(z{this})"
    steps = [TraceStep("δ" + this, formula, layer.delta[0])]
    if isinstance(layer, Conv2D):
        steps += [TraceStep(f"∂C/∂W{this}", f"δ{this} ⋆ a{_sup(l - 1)} (each filter's "
                                            "correlation)", layer.dW),
                  TraceStep(f"∂C/∂b{this}", f"Σ over positions of δ{this}", layer.db)]
    elif isinstance(layer, Dense):
        steps += [TraceStep(f"∂C/∂W{this}", f"δ{this}(a{_sup(l - 1)})ᵀ", layer.dW),
                  TraceStep(f"∂C/∂b{this}", f"δ{this}", layer.db)]
    return steps


def trace_image(net, x, y, learning_rate: float = 0.5) -> Trace:
    """Forward and backward for one image, and the gradient-descent update.

    Parameters
    ----------
    net : Network whose input is ``(C, H, W)`` images (dropout layers, identity at prediction
        time, are left out; batch norm uses its running statistics)
    x : (C, H, W) array, one image
    y : (n_outputs,) array, or a class label for a softmax output
    learning_rate : float in (0, 1], the α of the update shown

    Returns
    -------
    Trace
        ``trace["a⁽¹⁾"]`` is layer 1's feature maps ``(channels, height, width)``,
        ``trace["δ⁽¹⁾"]`` its δ maps, and so on.
    """
    from .validation import check_learning_rate

    alpha = check_learning_rate(learning_rate)
    net = copy.deepcopy(net).to("cpu").astype(np.float64)
    net.layers = [layer for layer in net.layers if not isinstance(layer, Dropout)]
    try:
        X = np.asarray(x, dtype=float).reshape(1, *net.input_shape)
    except (TypeError, ValueError) as exc:
        raise DataError(f"trace needs one image x of shape {net.input_shape} ({exc})") from None
    Y = np.asarray(y, dtype=float)
    Y = Y.reshape(1) if Y.size == 1 and net.output == "softmax" else Y.reshape(1, -1)
    X, Y = net.check_XY(X, Y.astype(np.int64) if Y.ndim == 1 else Y)
    net.require_trainable()
    cost = float(net.loss.value(net.forward(X), Y, net.layers[-1].Z))
    steps = [TraceStep("a" + _sup(0), "x (the input image)", X[0]),
             TraceStep("y", "the target", Y[0])]
    for l, layer in enumerate(net.layers[1:], start=1):
        for symbol, formula in _forward_formula(layer, l):
            steps.append(TraceStep(symbol, formula, getattr(layer, symbol[0].upper())[0]))
    steps += _backward_steps(net, Y)
    for l, layer in enumerate(net.layers):
        if "W" in layer.param_names:
            this = _sup(l)
            steps.append(TraceStep(f"W{this} new", f"W{this} − α ∂C/∂W{this}, α = {alpha:g}",
                                   layer.W - alpha * layer.dW))
            steps.append(TraceStep(f"b{this} new", f"b{this} − α ∂C/∂b{this}",
                                   layer.b - alpha * layer.db))
    return Trace(steps, cost)
