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

Loading never unpickles or evaluates anything: the header is JSON, the tensors are raw bytes,
and every shape is checked against the declared architecture before a network is built.
Saving writes a temporary file in the same folder, fsyncs it and renames it over the target,
so a crash mid-save never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ..core.activations import get_activation
from ..core.xp import to_numpy
from ..errors import ConfigError, ModelFileError
from ..core.layers import BatchNorm, Dense, Dropout, Input, Residual
from . import image_layers

FORMAT = "mlplab"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 2**20  # a header is a few KB; anything huge is not ours
MAX_LAYER_UNITS = 1_000_000
MAX_LAYERS = 1000
MAX_FILE_BYTES = 4 * 2**30  # 4 GiB: far beyond any network this NumPy engine trains
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
        if len(net.input_shape) > 1:  # images: Input((C, H, W))
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
    return all(isinstance(layer, (Dense, Dropout, Input)) for layer in net.layers)


def _kept(layers) -> list:
    """The layers a model file records: all but dropout (identity at prediction time)."""
    return [layer for layer in layers if not isinstance(layer, Dropout)]


def _stack_record(layers) -> list[dict]:
    records = []
    for layer in _kept(layers):
        if image_layers.is_image_layer(layer):
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
                     else f"{r['kind']} {r.get('n_out', r.get('n', r.get('out_channels', '')))}"
                     .rstrip() for r in records)


def save(net, path: str | os.PathLike, extra: dict | None = None) -> Path:
    """Write ``net`` to ``path`` (conventionally ``*.safetensors``), atomically.

    ``extra`` is any JSON-serializable dict stored beside the architecture (read back as
    ``net.extra``). Returns the path written.
    """
    from safetensors.numpy import save as st_save

    from ..core.network import Network

    if not isinstance(net, Network):
        raise ConfigError(f"save expects a Network, got {type(net).__name__}")
    path = _as_path(path)
    tensors = {name: np.ascontiguousarray(to_numpy(a)) for name, a in state_arrays(net)}
    history = None
    if net.history is not None:
        history = {"epochs": net.history.epochs, "stop_reason": net.history.stop_reason,
                   "loss": net.history.loss[-1] if net.history.loss else None}
    config = {"network": network_config(net), "history": history,
              "extra": extra if extra is not None else getattr(net, "extra", None)}
    try:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "config": json.dumps(config)}
    except TypeError as exc:
        raise ModelFileError(f"cannot save: extra metadata is not JSON-serializable ({exc})") from None
    data = st_save(tensors, metadata=meta)
    atomic_write_bytes(path, data)
    return path


def _as_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"a file path must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def _new_file_mode() -> int:
    """0o666 less the umask: the mode ``open(path, "w")`` gives a new file."""
    try:  # Linux shows the umask without setting it (setting it races with other threads)
        umask = int(Path("/proc/self/status").read_text().split("Umask:")[1].split()[0], 8)
    except (OSError, IndexError, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync, then rename over ``path``."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModelFileError(f"cannot save to {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise ModelFileError(f"cannot save to {path}: it is a folder; give a file name inside it")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.fchmod(fd, _new_file_mode())  # mkstemp makes 0600; a saved file is shared as open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ModelFileError(f"cannot save to {path}: {exc.strerror or exc}; check the "
                                 "folder's permissions and free space") from None
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _read_header(data: bytes, path) -> dict:
    if len(data) < 8:
        raise ModelFileError(f"{path} is not an mlplab model file: only {len(data)} bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n < 2 or n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise ModelFileError(f"{path} is truncated or not a safetensors file "
                             f"(header claims {n} bytes, file has {len(data)})")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path} has a corrupt header: bad JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} has a corrupt header: not a JSON object")
    return header


def read_model_bytes(path: str | os.PathLike, what: str = "model file") -> bytes:
    """The bytes of ``path``; a missing or unreadable file is a :class:`ModelFileError`."""
    path = _as_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{what} {path} is {size} bytes, larger than any mlplab "
                                 f"{what} may be ({MAX_FILE_BYTES} bytes); it is not ours")
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{what} {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise ModelFileError(f"{what} {path} is a folder; give the file inside it") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def check_metadata(header: dict, path, fmt: str = FORMAT, version: int = FORMAT_VERSION) -> dict:
    """The ``__metadata__`` of an mlplab file, after checking its format name and version."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        kind = "an mlplab model" if fmt == FORMAT else f"an {fmt} file"
        raise ModelFileError(f"{path} is not {kind} (no {fmt!r} format metadata); "
                             "was it written by mlplab?")
    if meta.get("format_version") != str(version):
        raise ModelFileError(f"{path} has format version {meta.get('format_version')!r}; this "
                             f"mlplab reads version {version}: upgrade mlplab or re-save the file")
    return meta


def build_network(arch, path, n_bytes: int):
    """A network from an architecture record, refusing sizes the file cannot hold."""
    from ..core.network import Network

    if isinstance(arch, dict) and "stack" in arch:
        return _build_stack(arch, path, n_bytes)
    try:
        sizes = arch["sizes"]
        if (not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS
                or not all(type(n) is int and 0 < n <= MAX_LAYER_UNITS for n in sizes)):
            raise ModelFileError(f"{path} declares impossible layer sizes {str(sizes)[:80]}")
        if arch.get("dtype") not in ("float32", "float64"):
            raise ModelFileError(f"{path} declares dtype {str(arch.get('dtype'))[:40]!r}; "
                                 "expected float32 or float64")
        # W⁽ˡ⁾ and b⁽ˡ⁾ hold n_l·(n_{l-1} + 1) numbers: check before allocating any of them
        n_params = sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes, sizes[1:]))
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
    if type(n_inputs) is not int or not 0 < n_inputs <= MAX_LAYER_UNITS:
        raise ModelFileError(f"{path} declares {str(n_inputs)[:40]} inputs")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path} declares dtype {str(dtype)[:40]!r}; expected float32 or "
                             "float64")
    _, numbers = _count_stack(arch["stack"], path)
    if numbers * np.dtype(dtype).itemsize > n_bytes:
        raise ModelFileError(f"{path} declares {numbers} numbers but holds only {n_bytes} "
                             "bytes: truncated or inconsistent")
    try:
        shape = (n_inputs,) if arch.get("input_shape") is None else \
            image_layers.check_input_shape(arch["input_shape"], n_inputs, MAX_LAYER_UNITS)
        layers = _stack_layers(arch["stack"], shape, np.dtype(dtype))
        return Network.from_layers([Input(shape)] + layers, loss=arch["loss"], seed=0)
    except Exception as exc:  # ConfigError, KeyError, TypeError from the records
        raise ModelFileError(f"{path} has an invalid layer stack: {type(exc).__name__} "
                             f"{str(exc)[:120]}") from None


def load_tensors(data: bytes, path) -> dict:
    """Every tensor of a safetensors body (raw little-endian bytes; nothing is executed)."""
    from safetensors.numpy import load as st_load

    try:
        return st_load(data)
    except Exception as exc:
        raise ModelFileError(f"{path} has corrupt tensor data: {str(exc)[:160]}") from None


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
        if not np.isfinite(t).all():
            raise ModelFileError(f"{path}: tensor {key} contains NaN or inf")
        if key.endswith("running_var") and (t < 0).any():
            raise ModelFileError(f"{path}: tensor {key} holds a negative variance")
        np.copyto(ref, t)
    return expected


def loads(data: bytes, path="<bytes>"):
    """A :class:`~mlplab.Network` from the bytes of a model file (see :func:`load`)."""
    header = _read_header(data, path)
    meta = check_metadata(header, path)
    try:
        config = json.loads(meta["config"])
        if not isinstance(config, dict):
            raise TypeError("config is not a JSON object")
    except Exception as exc:
        raise ModelFileError(f"{path} has an invalid config record: {str(exc)[:120]}") from None
    net = build_network(config.get("network"), path, len(data))
    tensors = load_tensors(data, path)
    unknown = sorted(set(tensors) - fill_weights(net, tensors, path))
    if unknown:
        raise ModelFileError(f"{path} holds unexpected tensor {unknown[0]!r}")
    extra = config.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise ModelFileError(f"{path} has an invalid extra record: not a JSON object")
    net.extra = extra
    history = config.get("history")
    net.saved_history = history if isinstance(history, dict) else None
    return net


def load(path: str | os.PathLike):
    """Read a model file written by :func:`save`; returns a :class:`~mlplab.Network`.

    The file is untrusted: anything wrong with it (missing, truncated, bad JSON, unknown
    format version, impossible or inconsistent shapes, wrong dtype, NaN) is a
    :class:`ModelFileError`; nothing in it is unpickled or evaluated.
    """
    return loads(read_model_bytes(path), Path(path))
