"""Layers to ONNX nodes: one converter per layer kind, one per activation, in two registries.

A converter takes the graph being built, the layer, and the name of the tensor that holds the
layer's input ``a⁽ˡ⁻¹⁾``; it adds nodes and initializers and returns the name of the tensor
holding its output ``a⁽ˡ⁾``::

    @register_layer(Dense)
    def dense(graph, layer, a_prev):
        z = graph.node("Gemm", [a_prev, graph.constant("W", layer.W),   # z = a W⁽ˡ⁾ᵀ + b⁽ˡ⁾:
                                graph.constant("b", layer.b)], transB=1)  # W is (n_out, n_in)
        return graph.activation(layer.g, z)                               # a = g(z)

The registry is looked up along the layer's class hierarchy, so a subclass reuses its parent's
converter unless it registers its own. Adding a layer kind (convolution, pooling, recurrence)
is one such function beside the layer; an unregistered kind is refused with a message naming
it. The tensors hold one sample per row, ``(m, n)``, as everywhere in mlplab; a network whose
input is not a row of features (an image) gives its Input layer an ``input_shape`` (say
``(3, 32, 32)``), which becomes the graph input's shape after the batch dimension.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from ...core.activations import LEAKY_SLOPE, Activation
from ...core.layers import BatchNorm, Dense, Dropout, Input, Layer, Residual
from ...errors import ConfigError

LayerConverter = Callable[["OnnxGraph", Layer, str], str]
ActivationConverter = Callable[["OnnxGraph", str], str]
LAYER_CONVERTERS: dict[type, LayerConverter] = {}
ACTIVATION_CONVERTERS: dict[str, ActivationConverter] = {}


def register_layer(kind: type):
    """Decorator: ``fn(graph, layer, a_prev) -> a`` converts layers of type ``kind``."""
    def add(fn: LayerConverter) -> LayerConverter:
        LAYER_CONVERTERS[kind] = fn
        return fn
    return add


def register_activation(name: str):
    """Decorator: ``fn(graph, z) -> a`` converts the activation called ``name``."""
    def add(fn: ActivationConverter) -> ActivationConverter:
        ACTIVATION_CONVERTERS[name] = fn
        return fn
    return add


class OnnxGraph:
    """The nodes and initializers of a graph under construction, in one float dtype.

    Parameters
    ----------
    dtype : numpy dtype
        float32 or float64: every float initializer is cast to it.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._used: Counter = Counter()

    def name(self, hint: str) -> str:
        """A tensor name not used before in this graph: ``hint``, ``hint_1``, …"""
        n = self._used[hint]
        self._used[hint] += 1
        return hint if n == 0 else f"{hint}_{n}"

    def constant(self, hint: str, value, dtype=None) -> str:
        """Add ``value`` as an initializer (floats in the graph's dtype); its name."""
        from onnx import numpy_helper

        array = np.asarray(value)
        if dtype is not None or array.dtype.kind == "f":
            array = array.astype(dtype or self.dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attributes) -> str:
        """Add one ``op`` node; returns the name of its (single) output."""
        from onnx import helper

        out = self.name(hint or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(f"{op}_node"),
                                           **attributes))
        return out

    def layer(self, layer: Layer, a_prev: str) -> str:
        """Convert one layer by its registered converter."""
        for kind in type(layer).__mro__:
            if kind in LAYER_CONVERTERS:
                return LAYER_CONVERTERS[kind](self, layer, a_prev)
        known = ", ".join(sorted(k.__name__ for k in LAYER_CONVERTERS))
        raise ConfigError(f"cannot export a {type(layer).__name__} layer to ONNX: no converter "
                          f"is registered for it (known: {known}); add one with "
                          "mlplab.io.export.onnx_layers.register_layer")

    def activation(self, g: Activation, z: str) -> str:
        """``a = g(z)`` by the activation's registered converter."""
        convert = ACTIVATION_CONVERTERS.get(g.name)
        if convert is None:
            raise ConfigError(f"cannot export the activation {g.name!r} to ONNX; known: "
                              f"{', '.join(sorted(ACTIVATION_CONVERTERS))}")
        return convert(self, z)


# ------------------------------------------------------------------------------ layers
@register_layer(Input)
@register_layer(Dropout)
def identity_layer(graph: OnnxGraph, layer: Layer, a_prev: str) -> str:
    """``a⁽⁰⁾ = x``; dropout is off at prediction (inverted dropout needs no rescaling)."""
    return a_prev


@register_layer(Dense)
def dense(graph: OnnxGraph, layer: Dense, a_prev: str) -> str:
    # z = a W⁽ˡ⁾ᵀ + b⁽ˡ⁾ for rows of samples: Gemm with transB reads W as (n_out, n_in)
    z = graph.node("Gemm", [a_prev, graph.constant("W", layer.W), graph.constant("b", layer.b)],
                   hint="z", transB=1)
    return graph.activation(layer.g, z)  # a⁽ˡ⁾ = g(z⁽ˡ⁾)


@register_layer(BatchNorm)
def batchnorm(graph: OnnxGraph, layer: BatchNorm, a_prev: str) -> str:
    # inference mode: x̂ = (x − running μ) / √(running σ² + ε), z = γ x̂ + β
    inputs = [a_prev] + [graph.constant(name, getattr(layer, name))
                         for name in ("gamma", "beta", "running_mean", "running_var")]
    z = graph.node("BatchNormalization", inputs, hint="z", epsilon=layer.eps)
    return graph.activation(layer.g, z)


@register_layer(Residual)
def residual(graph: OnnxGraph, layer: Residual, a_prev: str) -> str:
    F = a_prev
    for inner in layer.layers:
        F = graph.layer(inner, F)
    return graph.node("Add", [a_prev, F], hint="a")  # a = a_prev + F(a_prev)


# ------------------------------------------------------------------------- activations
@register_activation("identity")
def identity(graph: OnnxGraph, z: str) -> str:
    return z


def _unary(op: str, **attributes) -> ActivationConverter:
    return lambda graph, z: graph.node(op, [z], hint="a", **attributes)


for _name, _op in (("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("relu", "Relu")):
    register_activation(_name)(_unary(_op))
register_activation("leaky_relu")(_unary("LeakyRelu", alpha=LEAKY_SLOPE))
register_activation("softmax")(_unary("Softmax", axis=-1))  # row-wise, as mlplab's


@register_activation("step")
def step(graph: OnnxGraph, z: str) -> str:
    # the lecture's sgn as 0/1: 1 where z > 0, else 0, in the graph's float type
    from onnx import helper

    positive = graph.node("Greater", [z, graph.constant("zero", 0.0)], hint="positive")
    return graph.node("Cast", [positive], hint="a",
                      to=helper.np_dtype_to_tensor_dtype(graph.dtype))
