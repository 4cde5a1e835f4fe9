"""Architecture files: a network's layers written down in TOML or JSON (``mlplab train --arch``).

A file names the input's shape, the loss, and the layers in order, one table each, keyed by
its kind (the value after the kind is the layer's main size)::

    input = [1, 8, 8]            # one sample: (channels, height, width), or [n] for vectors
    loss = "cross_entropy"

    [[layers]]
    conv = 16                    # out_channels; in_channels come from the layer below
    kernel = 3                   # default 3
    padding = "same"             # "valid" (default 0), "same", or a number
    activation = "relu"          # default relu

    [[layers]]
    maxpool = 2                  # pool size; stride defaults to it

    [[layers]]
    flatten = true

    [[layers]]
    dense = 10
    activation = "softmax"

Kinds and their options: ``conv`` (kernel, stride, padding, activation, init), ``maxpool`` /
``avgpool`` (stride), ``flatten``, ``dense`` (activation, init), ``dropout`` (the drop
probability p), ``batchnorm`` (activation, momentum, eps; its value is ignored: the width comes
from below). The same structure as JSON: ``{"input": [1, 8, 8], "layers": [{"conv": 16, ...}]}``.
Every unknown kind or option, and every bad value, is a ConfigError naming the layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPool2D)
from ..core.network import Network
from ..errors import ConfigError

OPTIONS = {  # kind: the options it takes besides its own key
    "conv": {"kernel", "stride", "padding", "activation", "init"},
    "maxpool": {"stride"}, "avgpool": {"stride"}, "flatten": set(),
    "dense": {"activation", "init"}, "dropout": set(),
    "batchnorm": {"activation", "momentum", "eps"},
}


def read_architecture(path) -> dict:
    """The architecture record of a ``.toml`` or ``.json`` file, read but not yet checked."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"architecture file {path} does not exist")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        if path.suffix.lower() == ".json":
            spec = json.loads(text)
        else:
            import tomllib

            spec = tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError, TOMLDecodeError
        raise ConfigError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: "
                          f"{exc}") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{path} must hold a table with 'input' and 'layers'")
    return spec


def _layer(spec, i: int, dtype, rng):
    """The layer of one table (``i``: its place, for messages)."""
    if not isinstance(spec, dict):
        raise ConfigError(f"layer {i} must be a table like {{conv = 16}}, got {spec!r}")
    kinds = [k for k in spec if k in OPTIONS]
    if len(kinds) != 1:
        raise ConfigError(f"layer {i} needs exactly one kind ({', '.join(OPTIONS)}); it has "
                          f"{', '.join(map(str, spec)) or 'nothing'}")
    kind = kinds[0]
    unknown = sorted(set(spec) - {kind} - OPTIONS[kind])
    if unknown:
        raise ConfigError(f"layer {i} ({kind}) has no option {unknown[0]!r}; it takes "
                          f"{', '.join(sorted(OPTIONS[kind])) or 'no options'}")
    value, o = spec[kind], {k: v for k, v in spec.items() if k != kind}
    if kind == "conv":
        padding = o.get("padding", 0)
        return Conv2D(None, value, _size(o.get("kernel", 3)), o.get("activation", "relu"),
                      _size(o.get("stride", 1)), _size(padding) if isinstance(padding, list)
                      else padding, o.get("init", "he_normal"), rng, dtype)
    if kind in ("maxpool", "avgpool"):
        stride = o.get("stride")
        return (MaxPool2D if kind == "maxpool" else AvgPool2D)(
            _size(value), None if stride is None else _size(stride))
    if kind == "dense":
        return Dense(None, value, o.get("activation", "relu"), o.get("init", "he_normal"), rng,
                     dtype)
    if kind == "dropout":
        return Dropout(None, value, rng)
    if kind == "batchnorm":
        return BatchNorm(None, o.get("activation", "identity"), o.get("momentum", 0.9),
                         o.get("eps", 1e-5), dtype)
    return Flatten()


def _size(value):
    return tuple(value) if isinstance(value, list) else value


def network_from_architecture(spec: dict, seed=None, dtype="float32", where="") -> Network:
    """A :class:`~mlplab.Network` from an architecture record (see the module docstring).

    Parameters
    ----------
    spec : dict
        ``{"input": [...], "loss": ..., "layers": [...]}``, as :func:`read_architecture` gives.
    seed : int, optional
        Seeds the initial weights, dropout and shuffling.
    dtype : "float32" or "float64"
    where : str
        The file's name, for messages.
    """
    where = f"{where}: " if where else ""
    unknown = sorted(set(spec) - {"input", "loss", "layers"})
    if unknown:
        raise ConfigError(f"{where}unknown key {unknown[0]!r}; an architecture has input, loss "
                          "and layers")
    shape, layers = spec.get("input"), spec.get("layers")
    if not isinstance(shape, (list, int)) or isinstance(shape, bool):
        raise ConfigError(f"{where}'input' must give one sample's shape, e.g. [1, 8, 8] or [64]")
    if not isinstance(layers, list) or not layers:
        raise ConfigError(f"{where}'layers' must list the layers ([[layers]] tables in TOML)")
    rng = np.random.default_rng(seed)
    try:
        built = [Input(tuple(shape) if isinstance(shape, list) else shape)]
        built += [_layer(layer, i, np.dtype(dtype), rng) for i, layer in enumerate(layers, 1)]
        return Network.from_layers(built, loss=spec.get("loss", "cross_entropy"), seed=rng)
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
