"""Records of the image layers in a model file's layer stack (:mod:`mlplab.io.model`).

``{"kind": "conv2d", "in_channels", "out_channels", "kernel": [kh, kw], "stride": [sh, sw],
"pads": [top, bottom, left, right], "padding": what the user gave, "activation"}`` with tensors
``W`` ``(out, in, kh, kw)`` and ``b``; ``{"kind": "maxpool2d" | "avgpool2d", "kernel",
"stride"}`` and ``{"kind": "flatten"}`` without tensors. A file is untrusted: every number is
checked, and the parameters a record declares are counted, before any layer is built.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D
from ..errors import ModelFileError

KINDS = {"conv2d": Conv2D, "maxpool2d": MaxPool2D, "avgpool2d": AvgPool2D, "flatten": Flatten}
MAX_CHANNELS = 100_000
MAX_WINDOW = 1024  # kernel, stride and padding sizes


def is_image_layer(layer) -> bool:
    return type(layer) in KINDS.values()


def handles(kind) -> bool:
    return isinstance(kind, str) and kind in KINDS


def record(layer) -> dict:
    """The JSON record of an image layer."""
    kind = next(k for k, cls in KINDS.items() if type(layer) is cls)
    if kind == "flatten":
        return {"kind": kind}
    rec = {"kind": kind, "kernel": list(layer.kernel), "stride": list(layer.stride)}
    if kind == "conv2d":
        padding = layer.padding if isinstance(layer.padding, (str, int)) else list(layer.padding)
        rec.update(in_channels=layer.in_channels, out_channels=layer.out_channels,
                   pads=list(layer.pads), padding=padding, activation=layer.g.name)
    return rec


def _ints(values, n: int, low: int, high: int) -> bool:
    return (isinstance(values, list) and len(values) == n
            and all(type(v) is int and low <= v <= high for v in values))


def count(rec: dict, path) -> int:
    """The numbers a record's tensors hold, after checking every field."""
    kind = rec["kind"]
    if kind == "flatten":
        return 0
    if not (_ints(rec.get("kernel"), 2, 1, MAX_WINDOW)
            and _ints(rec.get("stride"), 2, 1, MAX_WINDOW)):
        raise ModelFileError(f"{path} declares an impossible {kind} layer {str(rec)[:80]}")
    if kind != "conv2d":
        return 0
    channels = [rec.get("in_channels"), rec.get("out_channels")]
    if not (_ints(channels, 2, 1, MAX_CHANNELS) and _ints(rec.get("pads"), 4, 0, MAX_WINDOW)
            and isinstance(rec.get("activation"), str)):
        raise ModelFileError(f"{path} declares an impossible conv2d layer {str(rec)[:80]}")
    kh, kw = rec["kernel"]
    return channels[1] * (channels[0] * kh * kw + 1)


def build(rec: dict, dtype) -> object:
    """The layer a (counted, hence well-formed) record describes; weights left to the file."""
    kind = rec["kind"]
    if kind == "flatten":
        return Flatten()
    if kind != "conv2d":
        return KINDS[kind](tuple(rec["kernel"]), tuple(rec["stride"]))
    top, bottom, left, right = rec["pads"]
    padding = rec.get("padding")
    if not (padding in ("same", "valid") or type(padding) is int):  # as the user gave it
        if (top, left) != (bottom, right):
            raise ModelFileError(f"conv2d pads {rec['pads']} are neither symmetric nor 'same'")
        padding = (top, left)
    layer = Conv2D(rec["in_channels"], rec["out_channels"], tuple(rec["kernel"]),
                   rec["activation"], tuple(rec["stride"]), padding,
                   rng=np.random.default_rng(0), dtype=dtype)
    if list(layer.pads) != rec["pads"]:
        raise ModelFileError(f"conv2d padding {padding!r} does not give pads {rec['pads']}")
    return layer


def check_input_shape(shape, n_inputs: int, max_units: int) -> tuple:
    """An image's ``(C, H, W)`` (or any sample shape) from a record, checked against
    ``n_inputs``, the product the record also declares."""
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 3
            or not all(type(n) is int and 0 < n <= max_units for n in shape)
            or int(np.prod(shape)) != n_inputs):
        raise ModelFileError(f"input_shape {str(shape)[:40]} does not match {n_inputs} inputs")
    return tuple(shape)
