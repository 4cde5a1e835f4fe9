"""mlplab networks to and from ``torch.nn.Sequential``, weights and outputs unchanged.

=====================================  ================================================
mlplab layer                           PyTorch modules
=====================================  ================================================
``Dense(n_in, n_out, g)``              ``nn.Linear(n_in, n_out)`` (``weight`` is W,
                                       ``(n_out, n_in)``, ``bias`` is b) then g's module
``BatchNorm(n, g, momentum, eps)``     ``nn.BatchNorm1d(n, eps, 1 − momentum)`` then g
                                       (PyTorch's momentum weighs the *new* statistics);
                                       ``nn.BatchNorm2d`` on feature maps
``Residual([...])``                    :class:`~.torch_modules.Residual`
``Dropout(n, p)``                      ``nn.Dropout(p)``
g: sigmoid, tanh, relu, leaky_relu,    ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``,
softmax, step, identity                ``nn.LeakyReLU(0.01)``, ``nn.Softmax(dim=1)``,
                                       :class:`~.torch_modules.Step`, nothing
=====================================  ================================================

Conversions in each direction are registries keyed by type (:data:`TO_TORCH`,
:data:`FROM_TORCH`), so a new layer kind adds one entry per direction (the image layers':
:mod:`.image_layers`). The module is in the
network's dtype (float64 stays float64) and in evaluation mode, as mlplab predicts.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...core.activations import LEAKY_SLOPE
from ...core.layers import BatchNorm, Dense, Dropout, Input, Layer, Residual
from ...core.network import Network
from ...errors import ConfigError
from ...extras import require

# mlplab layer type → fn(layer) -> list of torch modules
TO_TORCH: dict[type, Callable[[Layer], list]] = {}
# torch module type name → fn(module, activation name, n_in) -> mlplab layer
FROM_TORCH: dict[str, Callable] = {}
# torch module type names that take the activation module after them as their g
TAKES_ACTIVATION = {"Linear", "BatchNorm1d"}
# activation name ↔ torch module type name (softmax over dim 1, the row of a sample)
ACTIVATION_MODULES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
                      "leaky_relu": "LeakyReLU", "softmax": "Softmax", "step": "Step"}


def _activation_module(name: str) -> list:
    from torch import nn

    from . import torch_modules

    if name == "identity":
        return []
    if name == "leaky_relu":
        return [nn.LeakyReLU(LEAKY_SLOPE)]
    if name == "softmax":
        return [nn.Softmax(dim=1)]
    if name == "step":
        return [torch_modules.Step()]
    return [getattr(nn, ACTIVATION_MODULES[name])()]


def _tensor(array: np.ndarray):
    import torch

    return torch.nn.Parameter(torch.from_numpy(np.array(array)))


def _dense_to_torch(layer: Dense) -> list:
    from torch import nn

    linear = nn.Linear(layer.n_in, layer.n_out, dtype=_torch_dtype(layer.W.dtype))
    linear.weight, linear.bias = _tensor(layer.W), _tensor(layer.b)  # W⁽ˡ⁾ is (n_out, n_in)
    return [linear] + _activation_module(layer.g.name)


def _batchnorm_to_torch(layer: BatchNorm) -> list:
    import torch
    from torch import nn

    kind = nn.BatchNorm2d if len(layer.in_shape) == 3 else nn.BatchNorm1d  # per channel on maps
    bn = kind(layer.n, eps=layer.eps, momentum=_flip(layer.momentum),
              dtype=_torch_dtype(layer.gamma.dtype))
    bn.weight, bn.bias = _tensor(layer.gamma), _tensor(layer.beta)
    with torch.no_grad():
        bn.running_mean.copy_(torch.from_numpy(layer.running_mean))
        bn.running_var.copy_(torch.from_numpy(layer.running_var))
    return [bn] + _activation_module(layer.g.name)


def _residual_to_torch(layer: Residual) -> list:
    from .torch_modules import Residual as TorchResidual

    return [TorchResidual(*_modules(layer.layers))]


def _dropout_to_torch(layer: Dropout) -> list:
    from torch import nn

    return [nn.Dropout(layer.p)]


TO_TORCH.update({Input: lambda layer: [], Dense: _dense_to_torch, BatchNorm: _batchnorm_to_torch,
                 Residual: _residual_to_torch, Dropout: _dropout_to_torch})


def _flip(momentum: float) -> float:
    """mlplab's momentum weighs the old running statistics, PyTorch's the new: 1 − m (rounded
    to 12 digits, so that 0.9 becomes 0.1, not 0.09999999999999998)."""
    return round(1 - momentum, 12)


def _torch_dtype(dtype):
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]


def _modules(layers) -> list:
    modules = []
    for layer in layers:
        convert = next((TO_TORCH[k] for k in type(layer).__mro__ if k in TO_TORCH), None)
        if convert is None:
            raise ConfigError(f"cannot convert a {type(layer).__name__} layer to PyTorch: no "
                              "converter is registered in mlplab.io.export.pytorch.TO_TORCH")
        modules += convert(layer)
    return modules


def to_torch(net: Network):
    """A ``torch.nn.Sequential`` computing what ``net.forward(X)`` computes.

    Parameters
    ----------
    net : Network
        Any network of mlplab's layer kinds (see the module docstring).

    Returns
    -------
    torch.nn.Sequential
        In ``net``'s dtype and in evaluation mode (``.train()`` switches dropout and batch
        statistics on); input ``(m, n_inputs)``, output ``(m, n_outputs)``. Its weights are
        copies: training it leaves ``net`` unchanged.
    """
    require("torch", "torch")
    from torch import nn

    if not isinstance(net, Network):
        raise ConfigError(f"to_torch expects an mlplab Network, got {type(net).__name__} "
                          "(for a fitted estimator pass its net_)")
    return nn.Sequential(*_modules(net.layers)).eval()


# ------------------------------------------------------------------------- from PyTorch
def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _linear_from_torch(module, activation: str, n_in: int, dtype) -> Dense:
    if module.bias is None:
        raise ConfigError("from_torch: an nn.Linear without bias has no mlplab layer; "
                          "build it with bias=True")
    layer = Dense(module.in_features, module.out_features, activation, dtype=dtype)
    layer.W[...], layer.b[...] = _numpy(module.weight), _numpy(module.bias)
    return layer


def _batchnorm_from_torch(module, activation: str, n_in: int, dtype) -> BatchNorm:
    if module.momentum is None or not module.affine or not module.track_running_stats:
        raise ConfigError("from_torch: BatchNorm1d needs affine=True, track_running_stats=True "
                          "and a momentum (not None) to become an mlplab BatchNorm")
    layer = BatchNorm(module.num_features, activation, _flip(module.momentum), module.eps,
                      dtype=dtype)
    for name, tensor in (("gamma", module.weight), ("beta", module.bias),
                         ("running_mean", module.running_mean),
                         ("running_var", module.running_var)):
        getattr(layer, name)[...] = _numpy(tensor)
    return layer


def _residual_from_torch(module, activation: str, n_in: int, dtype) -> Residual:
    return Residual(_layers(list(module.block), n_in, dtype))


def _dropout_from_torch(module, activation: str, n_in: int, dtype) -> Dropout:
    return Dropout(n_in, module.p)


FROM_TORCH.update({"Linear": _linear_from_torch, "BatchNorm1d": _batchnorm_from_torch,
                   "Residual": _residual_from_torch, "Dropout": _dropout_from_torch})


def _activation_name(module) -> str | None:
    """mlplab's name for an activation module, or None when ``module`` is not one."""
    kind = type(module).__name__
    if kind == "Identity":
        return "identity"
    name = {v: k for k, v in ACTIVATION_MODULES.items()}.get(kind)
    if name == "leaky_relu" and module.negative_slope != LEAKY_SLOPE:
        raise ConfigError(f"from_torch: mlplab's leaky_relu has slope {LEAKY_SLOPE}, this "
                          f"LeakyReLU has {module.negative_slope}")
    if name == "softmax" and module.dim not in (1, -1):
        raise ConfigError(f"from_torch: Softmax(dim={module.dim}) is not row-wise; use dim=1")
    return name


def _layers(modules: list, n_in: int, dtype) -> list[Layer]:
    """mlplab layers from modules, each Linear/BatchNorm1d taking the activation after it."""
    layers, i = [], 0
    while i < len(modules):
        module, kind = modules[i], type(modules[i]).__name__
        if kind not in FROM_TORCH:
            what = "an activation must follow a Linear or BatchNorm1d" if _activation_name(
                module) else f"known modules: {', '.join(sorted(FROM_TORCH))}"
            raise ConfigError(f"from_torch cannot convert module {i} ({module!r}): {what}")
        following = _activation_name(modules[i + 1]) if i + 1 < len(modules) else None
        takes_g = kind in TAKES_ACTIVATION and following is not None
        layer = FROM_TORCH[kind](module, following if takes_g else "identity", n_in, dtype)
        layers.append(layer)
        out = layer.build(n_in if isinstance(n_in, tuple) else (n_in,))
        n_in = out[0] if len(out) == 1 else out  # a width, or the shape of feature maps
        i += 2 if takes_g else 1
    return layers


def from_torch(module, loss: str | None = None, seed=None, input_shape=None) -> Network:
    """A :class:`~mlplab.Network` from a ``torch.nn.Sequential`` of mlplab's layer kinds.

    Parameters
    ----------
    module : torch.nn.Sequential
        ``nn.Linear`` (with bias) and ``nn.BatchNorm1d``, each optionally followed by one
        activation module; ``nn.Dropout``; :class:`~.torch_modules.Residual` blocks. The last
        layer must be a Linear (mlplab's output layer).
    loss : str, optional
        The network's loss; default ``"cross_entropy"`` for a softmax output, else ``"mse"``.
    seed : int, optional
        Seeds the network's generator (dropout masks, shuffling when it is trained).
    input_shape : tuple, optional
        The shape of one sample, needed when the module starts with a ``nn.Conv2d``:
        ``(channels, height, width)``.

    Returns
    -------
    Network
        In the module's dtype (float32 or float64), weights copied.
    """
    torch = require("torch", "torch")

    if not isinstance(module, torch.nn.Sequential) or not len(module):
        raise ConfigError(f"from_torch expects a non-empty torch.nn.Sequential, got "
                          f"{type(module).__name__}")
    first = next((m for m in module.modules()
                  if type(m).__name__ in ("Linear", "BatchNorm1d", "Conv2d", "BatchNorm2d")), None)
    if first is None:
        raise ConfigError("from_torch: the module has no nn.Linear; mlplab's output layer is one")
    n_inputs = getattr(first, "in_features", None) or getattr(first, "num_features", None)
    if input_shape is not None or type(first).__name__ in ("Conv2d", "BatchNorm2d"):
        n_inputs = _input_shape(input_shape)
    dtype = first.weight.dtype
    if dtype not in (torch.float32, torch.float64):
        raise ConfigError(f"from_torch: weights must be float32 or float64, got {dtype}")
    dtype = np.float64 if dtype == torch.float64 else np.float32
    layers = _layers(list(module), n_inputs, dtype)
    if not isinstance(layers[-1], Dense):
        raise ConfigError("from_torch: the last layer must be an nn.Linear (with its activation)")
    if loss is None:
        loss = "cross_entropy" if layers[-1].g.name == "softmax" else "mse"
    return Network.from_layers([Input(n_inputs)] + layers, loss=loss, seed=seed)


def _input_shape(input_shape) -> tuple:
    if not isinstance(input_shape, (tuple, list)) or not all(
            isinstance(n, int) and n > 0 for n in input_shape):
        raise ConfigError(f"from_torch: a module of images needs input_shape=(channels, height, "
                          f"width), got {input_shape!r}")
    return tuple(input_shape)
