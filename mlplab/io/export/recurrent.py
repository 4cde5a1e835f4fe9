"""ONNX and PyTorch converters for SimpleRNN, LSTM, GRU and TimeDense (the per-layer registries
of :mod:`.onnx_layers` and :mod:`.pytorch`; importing this module registers them).

ONNX: the standard ``RNN``, ``LSTM`` and ``GRU`` operators, time-major, so the converter
transposes ``(N, T, features)`` to ``(T, N, features)`` and back. Their gate orders differ
from mlplab's: ONNX's LSTM stacks i, o, f, c and its GRU z (mlplab's u), r, h; its GRU with
``linear_before_reset=1`` is the form mlplab computes (``b_hn`` inside the reset gate's
product). Every operator takes two biases, input and hidden: mlplab's single ``b`` goes in the
first, zeros in the second (except ``b_hn``).

PyTorch: ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``batch_first=True``; mlplab's gate orders are
PyTorch's) inside :class:`~.torch_modules.Recurrent`, which returns every state or the last;
a TimeDense head is ``nn.Linear`` (it acts on the last axis) with its activation, softmax
along the last axis. ``from_torch`` does not read recurrent modules back: an mlplab network
fixes its sequence length in ``Input((T, features))``, which a PyTorch module does not know.

Neither format has mlplab's padding rule, so a layer with ``mask_value`` is refused.
"""

from __future__ import annotations

import numpy as np

from ...core.layers import GRU, LSTM, Recurrent, SimpleRNN, TimeDense
from ...errors import ConfigError
from .onnx_layers import OnnxGraph, register_layer
from .pytorch import TO_TORCH, _activation_module, _tensor, _torch_dtype

ONNX_ORDER = {LSTM: ("i", "o", "f", "c"), GRU: ("u", "r", "n"), SimpleRNN: ("",)}
ONNX_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


def _check(layer: Recurrent, what: str) -> None:
    if layer.mask_value is not None:
        raise ConfigError(f"cannot export {layer!r} to {what}: its padding rule (mask_value="
                          f"{layer.mask_value}) has no equivalent there; export a network "
                          "built without mask_value")


def _stacked(layer: Recurrent, order) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """W_x and W_h row blocks in ``order``, the input-side and hidden-side biases."""
    W = np.concatenate([getattr(layer, f"W_x{g}") for g in order])
    R = np.concatenate([getattr(layer, f"W_h{g}") for g in order])
    b_in = np.concatenate([getattr(layer, f"b_{g}" if g else "b") for g in order])
    b_hidden = np.concatenate([layer.b_hn if g == "n" else np.zeros(layer.n_hidden)
                               for g in order])
    return W, R, b_in, b_hidden


@register_layer(Recurrent)
def recurrent_to_onnx(graph: OnnxGraph, layer: Recurrent, a_prev: str) -> str:
    from onnx import helper

    _check(layer, "ONNX")
    kind = type(layer)
    attributes = {"hidden_size": layer.n_hidden}
    if kind is SimpleRNN:
        if layer.g.name not in ONNX_ACTIVATIONS:
            raise ConfigError(f"cannot export {layer!r} to ONNX: its RNN operator has no "
                              f"{layer.g.name!r}; use tanh, relu or sigmoid")
        attributes["activations"] = [ONNX_ACTIVATIONS[layer.g.name]]
    elif kind is GRU:
        attributes["linear_before_reset"] = 1  # b_hn and W_hn hₜ₋₁ inside the reset gate
    W, R, b_in, b_hidden = _stacked(layer, ONNX_ORDER[kind])
    x = graph.node("Transpose", [a_prev], hint="time_major", perm=[1, 0, 2])
    inputs = [x, graph.constant("W", W[None]), graph.constant("R", R[None]),
              graph.constant("B", np.concatenate([b_in, b_hidden])[None])]
    Y, Y_h = graph.name("Y"), graph.name("Y_h")
    graph.nodes.append(helper.make_node(kind.__name__ if kind is not SimpleRNN else "RNN",
                                        inputs, [Y, Y_h], name=graph.name("rnn_node"),
                                        **attributes))
    if not layer.return_sequences:  # h_T: (1, N, H) → (N, H)
        return graph.node("Squeeze", [Y_h, graph.constant("axes", [0], np.int64)], hint="h")
    steps = graph.node("Squeeze", [Y, graph.constant("axes", [1], np.int64)], hint="h_all")
    return graph.node("Transpose", [steps], hint="h", perm=[1, 0, 2])  # (T, N, H) → (N, T, H)


@register_layer(TimeDense)
def time_dense_to_onnx(graph: OnnxGraph, layer: TimeDense, a_prev: str) -> str:
    # zₜ = W hₜ + b at every step: a batched MatMul with Wᵀ, then the activation
    z = graph.node("MatMul", [a_prev, graph.constant("Wt", layer.W.T)], hint="zW")
    z = graph.node("Add", [z, graph.constant("b", layer.b)], hint="z")
    return graph.activation(layer.g, z)


def recurrent_to_torch(layer: Recurrent) -> list:
    import torch

    from .torch_modules import Recurrent as TorchRecurrent

    _check(layer, "PyTorch")
    options = {}
    if isinstance(layer, SimpleRNN):
        if layer.g.name not in ("tanh", "relu"):
            raise ConfigError(f"cannot convert {layer!r} to PyTorch: nn.RNN has tanh and relu")
        options["nonlinearity"] = layer.g.name
    dtype = _torch_dtype(layer.params[0].dtype)
    cls = {SimpleRNN: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}[type(layer)]
    module = cls(layer.n_in, layer.n_hidden, batch_first=True, dtype=dtype, **options)
    W, R, b_in, b_hidden = _stacked(layer, layer.GATES)  # PyTorch's order is mlplab's
    for name, value in (("weight_ih_l0", W), ("weight_hh_l0", R), ("bias_ih_l0", b_in),
                        ("bias_hh_l0", b_hidden)):
        setattr(module, name, _tensor(value.astype(layer.params[0].dtype)))
    return [TorchRecurrent(module, layer.return_sequences)]


def time_dense_to_torch(layer: TimeDense) -> list:
    from torch import nn

    linear = nn.Linear(layer.n_in, layer.n_units, dtype=_torch_dtype(layer.W.dtype))
    linear.weight, linear.bias = _tensor(layer.W), _tensor(layer.b)
    g = [nn.Softmax(dim=-1)] if layer.g.name == "softmax" else _activation_module(layer.g.name)
    return [linear] + g


for _kind in (SimpleRNN, LSTM, GRU):
    TO_TORCH[_kind] = recurrent_to_torch
TO_TORCH[TimeDense] = time_dense_to_torch
