"""Model files: weights in safetensors, architecture and training record as JSON metadata.

One file, ``*.safetensors``: tensors ``layers.{l}.W`` and ``layers.{l}.b`` (the lecture's
``W⁽ˡ⁾``, ``b⁽ˡ⁾``) and, in the safetensors header's ``__metadata__``, ``format = "mlplab"``,
``format_version`` and ``config`` (JSON: the network's constructor arguments, the training
history summary, and any ``extra`` the caller adds, such as CSV preprocessing).

A network with batch-norm, residual or image layers (``Network.from_layers``) is recorded as a
``stack`` instead: a list of layer records (``dense``, ``batchnorm``, ``residual`` holding its
own list, ``conv2d``, ``maxpool2d``, ``avgpool2d``, ``flatten``: :mod:`mlplab.io.image_layers`),
its tensors named by position, ``stack.{i}.W``, ``stack.{i}.running_var``, ``stack.{i}.{j}.W``
inside a residual block; an image's ``input_shape`` too. Dropout is identity at prediction
time and is left out, as in the plain format.

Loading never unpickles or evaluates anything: the header is JSON, the tensors are raw bytes.
It reads the header first (:mod:`mlplab.io.container`), checks every record in it
(:mod:`mlplab.io.records`: the architecture, the training summary, the ``extra`` records
``csv``, ``tabular`` and ``playground`` against the network) and the tensor table against the
architecture, and only then reads the tensors. Saving goes through
:func:`mlplab.io.files.atomic_write`, so a crash mid-save never leaves a half-written file
where a good one was, and a target that is not a regular file is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..core.activations import get_activation
from ..core.xp import to_numpy
from ..errors import ConfigError, ModelFileError
from ..core.layers import BatchNorm, Dense, Dropout, Input, Residual
from . import image_layers, recurrent
from .container import (check_metadata, check_table, load_tensors, read_container,
                        refuse_unloadable, split_bytes, tensor_problem)
from .files import as_path, atomic_write
from .records import (MAX_JSON_DEPTH, check_extra, check_names, check_saved_history, depth,
                      parse_json)

FORMAT = "mlplab"
FORMAT_VERSION = 1
MAX_LAYER_UNITS = 1_000_000
MAX_LAYERS = 1000
MAX_NESTING = 8  # residual blocks inside residual blocks
STACK_TENSORS = {"dense": ("W", "b"), "batchnorm": ("gamma", "beta", "running_mean", "running_var")}


def network_config(net) -> dict:
    """The constructor arguments that rebuild ``net``'s architecture (its dense layers).

    Hidden layers with different activations (``Network.from_layers``) add
    ``hidden_activations``: one name per hidden dense layer. Networks with batch-norm or
    residual layers are recorded as a ``stack`` of layer records (see the module docstring).
    """
    if not _is_plain(net):
        config = {"stack": _stack_record(net.layers[1:]), "n_inputs": net.n_inputs,
                  "loss": net.loss.name, "dtype": str(net.dtype)}
        if len(net.input_shape) > 1:  # images Input((C, H, W)), sequences Input((T, features))
            config["input_shape"] = list(net.input_shape)
        return config
    dense = _dense_layers(net)
    sizes = [net.n_inputs] + [layer.n_out for layer in dense]
    init = "normal" if net.init == "custom" else str(net.init)  # the saved weights replace it
    config = {"sizes": sizes, "activation": net.activation, "output": net.output,
              "loss": net.loss.name, "init": init, "dtype": str(net.dtype)}
    hidden = [layer.g.name for layer in dense[:-1]]
    if len(set(hidden)) > 1:
        config["hidden_activations"] = hidden
    return config


def _dense_layers(net) -> list:
    """The dense layers of a network of dense and dropout layers (the plain format).

    Dropout layers are identity at prediction time, so a network with dropout is saved as its
    prediction network; other layers need the stack format (checkpoints do not have it).
    """
    from ..core.layers import Dropout

    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    odd = [layer for layer in net.layers if not isinstance(layer, (Dense, Dropout, Input))]
    if odd:
        raise ModelFileError(f"this record holds dense and dropout layers only, not {odd[0]}")
    return dense


def _is_plain(net) -> bool:
    return all(isinstance(layer, (Dense, Dropout, Input)) and not recurrent.is_sequence_layer(layer)
               for layer in net.layers)


def _kept(layers) -> list:
    """The layers a model file records: all but dropout (identity at prediction time)."""
    return [layer for layer in layers if not isinstance(layer, Dropout)]


def _stack_record(layers) -> list[dict]:
    records = []
    for layer in _kept(layers):
        if recurrent.is_sequence_layer(layer):
            records.append(recurrent.record(layer))
        elif image_layers.is_image_layer(layer):
            records.append(image_layers.record(layer))
        elif isinstance(layer, Dense):
            records.append({"kind": "dense", "n_in": layer.n_in, "n_out": layer.n_out,
                            "activation": layer.g.name})
        elif isinstance(layer, BatchNorm):  # n: units, or channels of feature maps
            records.append({"kind": "batchnorm", "n": layer.n, "activation": layer.g.name,
                            "momentum": layer.momentum, "eps": layer.eps})
        elif isinstance(layer, Residual):
            records.append({"kind": "residual", "layers": _stack_record(layer.layers)})
        else:
            raise ModelFileError(f"cannot save this network: the model file holds dense, "
                                 f"batch-norm, residual, dropout and image layers, not "
                                 f"{layer!r}; keep the Network object in memory "
                                 "(copy.deepcopy) or rebuild it")
    return records


def _stack_arrays(layers, prefix: str = "stack."):
    """``(name, array)`` for every tensor of a stack, in the order of its record."""
    for i, layer in enumerate(_kept(layers), start=1):
        if isinstance(layer, Residual):
            yield from _stack_arrays(layer.layers, f"{prefix}{i}.")
        elif recurrent.is_sequence_layer(layer):
            for name in layer.param_names:
                yield f"{prefix}{i}.{name}", getattr(layer, name)
        else:  # dense and conv2d: W, b; batch norm with its statistics; pooling: none
            names = STACK_TENSORS["batchnorm"] if isinstance(layer, BatchNorm) else \
                layer.param_names
            for name in names:
                yield f"{prefix}{i}.{name}", getattr(layer, name)


def state_arrays(net) -> list[tuple[str, np.ndarray]]:
    """Every array a file holds for ``net``, by tensor name: ``layers.{l}.W``/``b`` for a
    network of dense (and dropout) layers, else the stack's names (batch-norm running
    statistics included). Raises ModelFileError, naming it, for a layer no file can hold."""
    if _is_plain(net):
        return [(f"layers.{l}.{name}", ref)  # W⁽ˡ⁾, b⁽ˡ⁾ for l = 1 … L
                for l, layer in enumerate(_dense_layers(net), start=1)
                for name, ref in (("W", layer.W), ("b", layer.b))]
    _stack_record(net.layers[1:])  # refuses layers the file cannot hold, naming them
    return list(_stack_arrays(net.layers[1:]))


def describe(config: dict) -> str:
    """A short name for a network record, for messages: its sizes or its layer stack."""
    if "sizes" in config:
        return str(config["sizes"])
    return f"[{config.get('n_inputs')}: {_describe_stack(config['stack'])}]"


def _describe_stack(records) -> str:
    return ", ".join(f"residual[{_describe_stack(r['layers'])}]" if r["kind"] == "residual"
                     else f"{r['kind']} {r.get('n_out', r.get('n', r.get('n_hidden', r.get('out_channels', ''))))}"
                     .rstrip() for r in records)


def save(net, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``net`` to ``path`` (conventionally ``*.safetensors``), atomically.

    ``extra`` is any JSON-serializable dict stored beside the architecture (read back as
    ``net.extra``). Returns the path written. What :func:`load` would refuse (NaN or inf
    weights, sizes or text beyond its limits) is a :class:`ModelFileError`, and the file
    already at ``path`` is kept.
    """
    from safetensors.numpy import save as st_save

    from ..core.network import Network

    if not isinstance(net, Network):
        hint = ("; for a scikit-learn estimator save its network, mlplab.save(est.net_, path), "
                "or the whole estimator with joblib.dump") if hasattr(net, "net_") else ""
        raise ConfigError(f"save expects a Network, got {type(net).__name__}{hint}")
    path = as_path(path)
    tensors = {name: np.ascontiguousarray(to_numpy(a)) for name, a in state_arrays(net)}
    history = None
    if net.history is not None:
        history = {"epochs": net.history.epochs, "stop_reason": net.history.stop_reason,
                   "loss": net.history.loss[-1] if net.history.loss else None}
    config = {"network": network_config(net), "history": history,
              "extra": extra if extra is not None else getattr(net, "extra", None)}
    if depth(config) > MAX_JSON_DEPTH:  # load would refuse it: refuse it now
        raise ModelFileError(f"cannot save: extra metadata nests deeper than {MAX_JSON_DEPTH} "
                             "levels")
    check_extra(config["extra"], net, path)  # a file load would refuse is never written
    try:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "config": json.dumps(config)}
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"cannot save: extra metadata is not JSON-serializable ({exc})") from None
    refuse_unloadable(tensors, path, "model file")
    try:  # the records as load checks them before any array (a file it refuses is never written)
        config = parse_json(meta["config"], path, "config record")
        declared_numbers(config["network"], path)
        check_names(config["network"], path)
        check_saved_history(config["history"], path)
    except ModelFileError as exc:
        raise ModelFileError(f"cannot save {path}: the file would not load back ({exc}); "
                             "nothing was written") from None
    return atomic_write(path, st_save(tensors, metadata=meta), "model file")


def declared_numbers(arch, path) -> int:
    """How many numbers an architecture record declares, refusing sizes beyond load's limits
    before any array is allocated."""
    if isinstance(arch, dict) and "stack" in arch:
        n_inputs = arch.get("n_inputs")
        if type(n_inputs) is not int or not 0 < n_inputs <= MAX_LAYER_UNITS:
            raise ModelFileError(f"{path} declares {str(n_inputs)[:40]} inputs")
        return _count_stack(arch["stack"], path)[1]
    sizes = arch.get("sizes") if isinstance(arch, dict) else None
    if (not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS
            or not all(type(n) is int and 0 < n <= MAX_LAYER_UNITS for n in sizes)):
        raise ModelFileError(f"{path} declares impossible layer sizes {str(sizes)[:80]}")
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes, sizes[1:]))  # W⁽ˡ⁾ and b⁽ˡ⁾


def build_network(arch, path, n_bytes: int):
    """A network from an architecture record, refusing sizes the file cannot hold."""
    from ..core.network import Network

    if isinstance(arch, dict) and "stack" in arch:
        return _build_stack(arch, path, n_bytes)
    try:
        n_params = declared_numbers(arch, path)  # checked before allocating any array
        sizes = arch["sizes"]
        if arch.get("dtype") not in ("float32", "float64"):
            raise ModelFileError(f"{path} declares dtype {str(arch.get('dtype'))[:40]!r}; "
                                 "expected float32 or float64")
        if n_params * np.dtype(arch["dtype"]).itemsize > n_bytes:
            raise ModelFileError(f"{path} declares {n_params} parameters but holds only "
                                 f"{n_bytes} bytes: truncated or inconsistent")
        net = Network(sizes, activation=arch["activation"], output=arch["output"],
                      loss=arch["loss"], init=arch.get("init", "normal"), seed=0,
                      dtype=arch["dtype"])
        hidden = arch.get("hidden_activations")
        if hidden is not None:
            if not isinstance(hidden, list) or len(hidden) != net.L - 1:
                raise ModelFileError(f"{path} declares {str(hidden)[:80]} as hidden activations "
                                     f"for {net.L - 1} hidden layers")
            for layer, name in zip(net.layers[1:-1], hidden):
                layer.g = get_activation(name)
        return net
    except ModelFileError:
        raise
    except Exception as exc:  # KeyError, TypeError, ConfigError from the names
        raise ModelFileError(f"{path} has an invalid architecture record: "
                             f"{type(exc).__name__} {str(exc)[:120]}") from None


def _count_stack(records, path, depth: int = 0) -> tuple[int, int]:
    """(layers, numbers) a stack record declares, refusing malformed records before any
    array is allocated."""
    if depth > MAX_NESTING or not isinstance(records, list) or not records:
        raise ModelFileError(f"{path} declares a malformed layer stack (empty, not a list, or "
                             f"nested deeper than {MAX_NESTING})")
    layers = numbers = 0
    for rec in records:
        kind = rec.get("kind") if isinstance(rec, dict) else None
        if kind == "residual":
            n_layers, n_numbers = _count_stack(rec.get("layers"), path, depth + 1)
            layers, numbers = layers + n_layers, numbers + n_numbers
            continue
        if recurrent.handles(kind):
            layers, numbers = layers + 1, numbers + recurrent.count(rec, path)
            continue
        if image_layers.handles(kind):
            layers, numbers = layers + 1, numbers + image_layers.count(rec, path)
            continue
        sizes = ([rec.get("n_in"), rec.get("n_out")] if kind == "dense"
                 else [rec.get("n")] if kind == "batchnorm" else None)
        if sizes is None or not all(type(n) is int and 0 < n <= MAX_LAYER_UNITS for n in sizes):
            raise ModelFileError(f"{path} declares an impossible layer {str(rec)[:80]}")
        layers += 1
        numbers += sizes[1] * (sizes[0] + 1) if kind == "dense" else 4 * sizes[0]
    if layers > MAX_LAYERS:
        raise ModelFileError(f"{path} declares more than {MAX_LAYERS} layers")
    return layers, numbers


def _stack_layers(records, shape: tuple, dtype) -> list:
    """Layers from a (counted, hence well-formed) stack record, checking each one's width."""
    layers = []
    for rec in records:
        width = int(np.prod(shape))  # a dense layer's inputs (after a Flatten)
        if image_layers.handles(rec["kind"]):
            layer = image_layers.build(rec, dtype)
        elif recurrent.handles(rec["kind"]):
            layer = recurrent.build(rec, shape[-1], dtype)
        elif rec["kind"] == "residual":
            layer = Residual(_stack_layers(rec["layers"], shape, dtype))
        elif rec["kind"] == "dense":
            if rec["n_in"] != width:
                raise ConfigError(f"a dense layer of {rec['n_in']} inputs receives {width}")
            layer = Dense(rec["n_in"], rec["n_out"], rec["activation"],
                          rng=np.random.default_rng(0), dtype=dtype)  # weights: from the file
        else:
            if rec["n"] != shape[0]:
                raise ConfigError(f"a batch-norm layer of {rec['n']} units receives "
                                  f"{width if len(shape) == 1 else shape}")
            layer = BatchNorm(rec["n"], rec["activation"], rec.get("momentum", 0.9),
                              rec.get("eps", 1e-5), dtype=dtype)
        layers.append(layer)
        shape = layer.build(shape)  # raises ConfigError when the record's shapes disagree
    return layers


def _build_stack(arch, path, n_bytes: int):
    from ..core.network import Network

    n_inputs, dtype = arch.get("n_inputs"), arch.get("dtype")
    numbers = declared_numbers(arch, path)
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path} declares dtype {str(dtype)[:40]!r}; expected float32 or "
                             "float64")
    if numbers * np.dtype(dtype).itemsize > n_bytes:
        raise ModelFileError(f"{path} declares {numbers} numbers but holds only {n_bytes} "
                             "bytes: truncated or inconsistent")
    try:
        shape = recurrent.input_shape(arch, n_inputs) if len(arch.get("input_shape") or []) == 2 \
            else (n_inputs,) if arch.get("input_shape") is None else \
            image_layers.check_input_shape(arch["input_shape"], n_inputs, MAX_LAYER_UNITS)
        layers = _stack_layers(arch["stack"], shape, np.dtype(dtype))
        return Network.from_layers([Input(shape)] + layers, loss=arch["loss"], seed=0)
    except Exception as exc:  # ConfigError, KeyError, TypeError from the records
        raise ModelFileError(f"{path} has an invalid layer stack: {type(exc).__name__} "
                             f"{str(exc)[:120]}") from None


def fill_weights(net, tensors: dict, path) -> set:
    """Copy ``layers.{l}.W``/``b`` (or a stack's tensors) into ``net`` after checking shape,
    dtype and finiteness."""
    expected = set()
    for key, ref in state_arrays(net):
        expected.add(key)
        t = tensors.get(key)
        if t is None:
            raise ModelFileError(f"{path} lacks tensor {key}")
        if t.shape != ref.shape:
            raise ModelFileError(f"{path}: tensor {key} has shape {t.shape}, the architecture "
                                 f"needs {ref.shape}")
        if t.dtype != net.dtype:
            raise ModelFileError(f"{path}: tensor {key} has dtype {t.dtype}, expected {net.dtype}")
        problem = tensor_problem(key, t)
        if problem is not None:
            raise ModelFileError(f"{path}: tensor {key} {problem}")
        np.copyto(ref, t)
    return expected




def _plan(header: dict, table: dict, size: int, path):
    """The network a model file declares and its checked records, before its tensors are read."""
    meta = check_metadata(header, path, FORMAT, (FORMAT_VERSION,))
    config = parse_json(meta.get("config"), path, "config record")
    if not isinstance(config, dict):
        raise ModelFileError(f"{path} has an invalid config record: not a JSON object")
    net = build_network(config.get("network"), path, size)
    expected = state_arrays(net)
    check_table(table, expected, path, net.dtype)
    unknown = sorted(set(table) - {name for name, _ in expected})
    if unknown:
        raise ModelFileError(f"{path} holds unexpected tensor {unknown[0]!r}")
    net.extra = check_extra(config.get("extra"), net, path)
    net.saved_history = check_saved_history(config.get("history"), path)
    return net


def loads(data: bytes, path="<bytes>"):
    """A :class:`~mlplab.Network` from the bytes of a model file (see :func:`load`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ConfigError(f"loads expects the bytes of a model file, got {type(data).__name__}")
    net = _plan(*split_bytes(bytes(data), path), path)
    fill_weights(net, load_tensors(bytes(data), path), path)
    return net


def load(path: str | os.PathLike):
    """Read a model file written by :func:`save`; returns a :class:`~mlplab.Network`.

    The file is untrusted: anything wrong with it (missing, not a regular file, truncated,
    padded, bad or deeply nested JSON, unknown format version, impossible or inconsistent
    shapes, wrong dtype, NaN, malformed ``extra`` records) is a :class:`ModelFileError`;
    nothing in it is unpickled or evaluated, and its tensors are read only after its header
    has been checked.
    """
    path = as_path(path)
    net, data = read_container(path, "model file",
                               lambda header, table, size: _plan(header, table, size, path))
    fill_weights(net, load_tensors(data, path), path)
    return net
