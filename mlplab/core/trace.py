"""One sample through forward and backward, every number named (the lecture's homework 1).

``trace(net, x, y)`` returns a :class:`Trace`: a list of :class:`TraceStep` (symbol, the formula
it comes from, its value), in the order a student derives them by hand. ``str(trace)`` prints
them; ``trace.as_dict()`` gives plain data. The network itself is not changed: the "updated"
W and b are computed on the side, ``W − α ∂C/∂W``.

Vectors are printed as columns would be written in the lecture (``z⁽ˡ⁾`` has one entry per
neuron of layer l); ``∂C/∂W⁽ˡ⁾`` has W's shape ``(n_out, n_in)``.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import ConfigError, DataError
from .layers import Dense, Recurrent
from .sequence_trace import forward_backward, sequence_steps
from .trace_steps import Trace, TraceStep, _sup  # noqa: F401  (Trace, TraceStep: public here)
from .validation import check_learning_rate

Array = np.ndarray


def _prediction_network(net):
    """A float64 copy of ``net`` with only its Input and Dense layers, numbered 0 … L."""
    from .layers import Dropout, Input

    other = [layer for layer in net.layers if not isinstance(layer, (Input, Dense, Dropout))]
    if other:
        raise ConfigError(f"trace follows the lecture's dense layers only; this network has "
                          f"{other[0]!r}: trace a network of Dense (and Dropout) layers")
    net = copy.deepcopy(net).to("cpu").astype(np.float64)
    net.layers = [layer for layer in net.layers if not isinstance(layer, Dropout)]
    return net


def trace(net, x, y, learning_rate: float = 0.5) -> Trace:
    """Forward and backward for one sample, and the gradient-descent update.

    Parameters
    ----------
    net : Network of dense layers (dropout layers, identity at prediction time, are left out:
        the trace is of the prediction network)
    x : (n_inputs,) array, one sample
    y : (n_outputs,) array or scalar
    learning_rate : float in (0, 1], the α of the update shown

    A network with recurrent layers is traced through time instead (x is one sequence,
    ``(T, features)``; :func:`mlplab.core.sequence_trace.sequence_steps`), and one whose input
    is an image (``Input((C, H, W))``) map by map (:func:`mlplab.core.image_trace.trace_image`).
    """
    if len(net.input_shape) == 3:  # feature maps, not the lecture's column vectors
        from .image_trace import trace_image

        return trace_image(net, x, y, learning_rate)
    alpha = check_learning_rate(learning_rate)
    if any(isinstance(layer, Recurrent) for layer in net.layers):  # unrolled in time
        steps, cost = sequence_steps(net, x, y)
        return Trace([TraceStep(*step) for step in steps], cost)
    net = _prediction_network(net)
    try:
        X = np.asarray(x, dtype=float).reshape(1, -1)
        Y = np.asarray(y, dtype=float).reshape(1, -1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"trace needs one numeric sample x and its target y ({exc})") from None
    X, Y, cost = forward_backward(net, X, Y)
    L = net.L
    steps = []
    for l in range(1, L + 1):
        layer = net.layers[l]
        steps.append(TraceStep("W" + _sup(l), "given", layer.W.copy()))
        steps.append(TraceStep("b" + _sup(l), "given", layer.b.copy()))
    steps.append(TraceStep("a" + _sup(0), "x (the input)", X[0]))
    steps.append(TraceStep("y", "the target", Y[0]))
    for l in range(1, L + 1):
        layer = net.layers[l]
        steps.append(TraceStep("z" + _sup(l), f"W{_sup(l)}a{_sup(l - 1)} + b{_sup(l)}", layer.Z[0]))
        steps.append(TraceStep("a" + _sup(l), f"{layer.g.name}(z{_sup(l)})", layer.A[0]))
    for l in range(L, 0, -1):
        layer = net.layers[l]
        if l == L:
            if net.loss.name == "mse":
                formula = f"(a{_sup(L)} − y) ⊙ {layer.g.name}'(z{_sup(L)})"
            else:
                formula = f"a{_sup(L)} − y ({net.loss.name} after {layer.g.name})"
        else:
            formula = f"(W{_sup(l + 1)})ᵀδ{_sup(l + 1)} ⊙ {layer.g.name}'(z{_sup(l)})"
        steps.append(TraceStep("δ" + _sup(l), formula, layer.delta[0]))
        steps.append(TraceStep(f"∂C/∂W{_sup(l)}", f"δ{_sup(l)}(a{_sup(l - 1)})ᵀ", layer.dW))
        steps.append(TraceStep(f"∂C/∂b{_sup(l)}", f"δ{_sup(l)}", layer.db))
    for l in range(1, L + 1):
        layer = net.layers[l]
        if isinstance(layer, Dense):
            steps.append(TraceStep(f"W{_sup(l)} new", f"W{_sup(l)} − α ∂C/∂W{_sup(l)}, α = {alpha:g}",
                                   layer.W - alpha * layer.dW))
            steps.append(TraceStep(f"b{_sup(l)} new", f"b{_sup(l)} − α ∂C/∂b{_sup(l)}",
                                   layer.b - alpha * layer.db))
    return Trace(steps, cost)
