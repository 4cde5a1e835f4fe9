"""The safetensors container of model and checkpoint files, read header first.

A safetensors file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON (the
tensor table: each tensor's dtype, shape and byte range; and ``__metadata__``, string to
string), then the tensors' raw bytes. :func:`read_container` reads the length and the header
first, checks them (and lets the caller check the records inside and the tensor table
against the network they declare) and only then reads the tensors, whose bytes must exactly
fill the rest of the file: a padded, truncated or sparse file is refused before its body is
read.
"""

from __future__ import annotations

import math
import struct
from typing import Callable

import numpy as np

from ..errors import ModelFileError
from .files import open_regular, read_exactly
from .records import parse_json

MAX_HEADER_BYTES = 16 * 2**20  # a header is a few KB; anything huge is not ours
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
DTYPE_NAMES = {"float64": "F64", "float32": "F32"}


def header_length(head: bytes, size: int, path) -> int:
    """The header length from the first 8 bytes of a file of ``size`` bytes."""
    if size < 8 or len(head) < 8:
        raise ModelFileError(f"{path} is not an mlplab model file: only {size} bytes")
    (n,) = struct.unpack("<Q", head[:8])
    if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
        raise ModelFileError(f"{path} is truncated or not a safetensors file "
                             f"(header claims {n} bytes, file has {size})")
    return n


def parse_header(raw: bytes, path) -> dict:
    header = parse_json(raw, path, "header")
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} has a corrupt header: not a JSON object")
    return header


def tensor_table(header: dict, path) -> tuple[dict, int]:
    """``{name: (dtype, shape, nbytes)}`` and the body length, after checking that the byte
    ranges are well formed and tile the body with no gap or overlap."""
    table, ranges = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            if (dtype not in ITEMSIZE or not isinstance(shape, list)
                    or not all(type(d) is int and d >= 0 for d in shape)
                    or type(start) is not int or type(end) is not int or not 0 <= start <= end):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(f"{path} has corrupt tensor data: tensor {str(name)[:60]!r} "
                                 "has a malformed entry") from None
        nbytes = math.prod(shape) * ITEMSIZE[dtype]
        if end - start != nbytes:
            raise ModelFileError(f"{path} has corrupt tensor data: tensor {str(name)[:60]!r} "
                                 f"of shape {tuple(shape)} spans {end - start} bytes, not {nbytes}")
        table[name] = (dtype, tuple(shape), nbytes)
        ranges.append((start, end))
    at = 0
    for start, end in sorted(ranges):
        if start != at:
            raise ModelFileError(f"{path} has corrupt tensor data: tensors overlap or leave a "
                                 f"gap at byte {at}")
        at = end
    return table, at


def check_table(table: dict, expected, path, net_dtype) -> None:
    """Every ``(name, array)`` of ``expected`` is in the table with its shape and dtype."""
    want = DTYPE_NAMES[str(net_dtype)]
    for key, ref in expected:
        entry = table.get(key)
        if entry is None:
            raise ModelFileError(f"{path} lacks tensor {key}")
        dtype, shape, _ = entry
        if shape != ref.shape:
            raise ModelFileError(f"{path}: tensor {key} has shape {shape}, the architecture "
                                 f"needs {ref.shape}")
        if dtype != want:
            name = {v: k for k, v in DTYPE_NAMES.items()}.get(dtype, dtype)
            raise ModelFileError(f"{path}: tensor {key} has dtype {name}, expected {net_dtype}")


def read_container(path, what: str, plan: Callable[[dict, dict, int], object]):
    """Read the file at ``path`` header first; returns ``(plan's result, the file's bytes)``.

    ``plan(header, table, size)`` checks the header's records and tensor table (and may build
    the network they declare, no larger than the file's ``size`` in bytes) before a byte of
    the body is read.
    """
    with open_regular(path, what) as (f, size):
        head = f.read(8)
        n = header_length(head, size, path)
        raw = read_exactly(f, n, path, what)
        header = parse_header(raw, path)
        table, body = tensor_table(header, path)
        if 8 + n + body != size:
            raise ModelFileError(f"{path} has corrupt tensor data: its header accounts for "
                                 f"{8 + n + body} bytes, the file holds {size} (truncated, "
                                 "padded, or not ours)")
        planned = plan(header, table, size)
        return planned, head + raw + read_exactly(f, body, path, what)


def split_bytes(data: bytes, path) -> tuple[dict, dict, int]:
    """The header, tensor table and size of a whole file already in memory."""
    n = header_length(data[:8], len(data), path)
    header = parse_header(data[8:8 + n], path)
    table, body = tensor_table(header, path)
    if 8 + n + body != len(data):
        raise ModelFileError(f"{path} has corrupt tensor data: its header accounts for "
                             f"{8 + n + body} bytes, the data holds {len(data)}")
    return header, table, len(data)


def check_metadata(header: dict, path, fmt: str, versions: tuple[int, ...]) -> dict:
    """The ``__metadata__`` of an mlplab file, after checking its format name and version."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        kind = "an mlplab model" if fmt == "mlplab" else f"an {fmt} file"
        raise ModelFileError(f"{path} is not {kind} (no {fmt!r} format metadata); "
                             "was it written by mlplab?")
    if not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{path} has a corrupt header: metadata values must be strings")
    if meta.get("format_version") not in [str(v) for v in versions]:
        raise ModelFileError(f"{path} has format version {str(meta.get('format_version'))[:20]!r};"
                             f" this mlplab reads version {max(versions)}: upgrade mlplab or "
                             "re-save the file")
    return meta


def load_tensors(data: bytes, path) -> dict:
    """Every tensor of a safetensors body (raw little-endian bytes; nothing is executed)."""
    from safetensors.numpy import load as st_load

    try:
        return st_load(data)
    except Exception as exc:
        raise ModelFileError(f"{path} has corrupt tensor data: {str(exc)[:160]}") from None


def tensor_problem(name: str, a) -> str | None:
    """What no file may hold in tensor ``name`` (the reader and the writers ask the same):
    NaN or inf, or a negative running variance; None when ``a`` is fine."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return "contains NaN or inf"
    if name.endswith("running_var") and (a < 0).any():
        return "holds a negative variance"
    return None


def refuse_unloadable(tensors: dict, path, what: str) -> None:
    """Before writing: a tensor the reader refuses (:func:`tensor_problem`) is a
    :class:`NonFiniteState`, so that a good file is never replaced by one nothing can read."""
    for name, a in tensors.items():
        problem = tensor_problem(name, a)
        if problem is not None:
            hint = " (did training diverge? train with a smaller learning rate)" \
                if "NaN" in problem else ""
            raise NonFiniteState(f"cannot write {what} {path}: {name} {problem}{hint}; "
                                 "nothing was written")


class NonFiniteState(ModelFileError):
    """A network or optimizer state that no file may hold (see :func:`refuse_unloadable`)."""
