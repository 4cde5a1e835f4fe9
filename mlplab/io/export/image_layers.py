"""Converters of the image layers: to ONNX nodes, to PyTorch modules and back.

=====================================  ==============================  ======================
mlplab layer                           ONNX                            PyTorch
=====================================  ==============================  ======================
``Conv2D(c, o, k, g, stride, pad)``    ``Conv`` (W ``(o, c, kh, kw)``,  ``nn.Conv2d`` then g
                                       pads top, left, bottom, right)
``MaxPool2D(k, stride)``               ``MaxPool``                     ``nn.MaxPool2d``
``AvgPool2D(k, stride)``               ``AveragePool``                 ``nn.AvgPool2d``
``Flatten()``                          ``Flatten(axis=1)``             ``nn.Flatten``
=====================================  ==============================  ======================

Batch norm on feature maps needs nothing new in ONNX (``BatchNormalization`` normalizes axis 1,
the channels); in PyTorch it is ``nn.BatchNorm2d``. Importing this module registers them all.
"""

from __future__ import annotations

from ...core.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D
from ...errors import ConfigError
from .onnx_layers import OnnxGraph, register_layer
from .pytorch import (FROM_TORCH, TAKES_ACTIVATION, TO_TORCH, _activation_module,
                      _batchnorm_from_torch, _numpy, _tensor, _torch_dtype)


# ------------------------------------------------------------------------------ ONNX
@register_layer(Conv2D)
def conv2d(graph: OnnxGraph, layer: Conv2D, a_prev: str) -> str:
    top, bottom, left, right = layer.pads
    z = graph.node("Conv", [a_prev, graph.constant("W", layer.W), graph.constant("b", layer.b)],
                   hint="z", kernel_shape=list(layer.kernel), strides=list(layer.stride),
                   pads=[top, left, bottom, right])  # z = W ⋆ a + b
    return graph.activation(layer.g, z)


@register_layer(MaxPool2D)
def max_pool(graph: OnnxGraph, layer: MaxPool2D, a_prev: str) -> str:
    return graph.node("MaxPool", [a_prev], hint="a", kernel_shape=list(layer.kernel),
                      strides=list(layer.stride))


@register_layer(AvgPool2D)
def avg_pool(graph: OnnxGraph, layer: AvgPool2D, a_prev: str) -> str:
    return graph.node("AveragePool", [a_prev], hint="a", kernel_shape=list(layer.kernel),
                      strides=list(layer.stride))


@register_layer(Flatten)
def flatten(graph: OnnxGraph, layer: Flatten, a_prev: str) -> str:
    return graph.node("Flatten", [a_prev], hint="a", axis=1)  # row-major, as mlplab's


# --------------------------------------------------------------------------- PyTorch
def _conv_to_torch(layer: Conv2D) -> list:
    from torch import nn

    top, bottom, left, right = layer.pads
    padding = (top, left) if (top, left) == (bottom, right) else "same"  # even kernels
    conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel, layer.stride, padding,
                     dtype=_torch_dtype(layer.W.dtype))
    conv.weight, conv.bias = _tensor(layer.W), _tensor(layer.b)  # (out, in, kh, kw), as ours
    return [conv] + _activation_module(layer.g.name)


def _pool_to_torch(layer) -> list:
    from torch import nn

    kind = nn.MaxPool2d if isinstance(layer, MaxPool2D) else nn.AvgPool2d
    return [kind(layer.kernel, layer.stride)]


def _flatten_to_torch(layer: Flatten) -> list:
    from torch import nn

    return [nn.Flatten()]


TO_TORCH.update({Conv2D: _conv_to_torch, MaxPool2D: _pool_to_torch, AvgPool2D: _pool_to_torch,
                 Flatten: _flatten_to_torch})


def _conv_from_torch(module, activation: str, n_in, dtype) -> Conv2D:
    if module.bias is None or module.groups != 1 or module.dilation != (1, 1) \
            or module.padding_mode != "zeros":
        raise ConfigError("from_torch: an nn.Conv2d becomes an mlplab Conv2D with bias=True, "
                          "groups=1, dilation=1 and zero padding only")
    padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
    layer = Conv2D(module.in_channels, module.out_channels, tuple(module.kernel_size),
                   activation, tuple(module.stride), padding, dtype=dtype)
    layer.build(n_in)
    layer.W[...], layer.b[...] = _numpy(module.weight), _numpy(module.bias)
    return layer


def _pool_from_torch(module, activation: str, n_in, dtype):
    kind = MaxPool2D if type(module).__name__ == "MaxPool2d" else AvgPool2D
    if _pair(module.padding) != (0, 0) or getattr(module, "ceil_mode", False) \
            or _pair(getattr(module, "dilation", 1)) != (1, 1):
        raise ConfigError(f"from_torch: an nn.{type(module).__name__} becomes an mlplab "
                          f"{kind.__name__} without padding, dilation or ceil_mode only")
    return kind(_pair(module.kernel_size), _pair(module.stride))


def _flatten_from_torch(module, activation: str, n_in, dtype) -> Flatten:
    if module.start_dim != 1 or module.end_dim != -1:
        raise ConfigError("from_torch: only nn.Flatten() (start_dim=1, end_dim=-1) has an "
                          "mlplab layer")
    return Flatten()


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


FROM_TORCH.update({"Conv2d": _conv_from_torch, "MaxPool2d": _pool_from_torch,
                   "AvgPool2d": _pool_from_torch, "Flatten": _flatten_from_torch,
                   "BatchNorm2d": _batchnorm_from_torch})
TAKES_ACTIVATION.update({"Conv2d", "BatchNorm2d"})
