"""Model-file records for the recurrent layers and their per-step dense head.

:mod:`mlplab.io.model` records a network of other layers as a ``stack`` of layer records; this
module gives the records of ``SimpleRNN``, ``LSTM``, ``GRU`` and ``TimeDense``::

    {"kind": "lstm", "n_in": 32, "n_hidden": 128, "return_sequences": false,
     "mask_value": null, "forget_bias": 1.0}
    {"kind": "simple_rnn", ..., "activation": "tanh"}
    {"kind": "time_dense", "n_in": 128, "n_out": 60, "activation": "softmax"}

Their tensors are the layers' own arrays by name (``stack.{i}.W_xi``, ``stack.{i}.b_hn``, …).
A record is checked (kinds, sizes, types) before any array is allocated, as every record of an
untrusted file is. An ``initial_state`` is a setting of one run, not part of the model: it is
not saved.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import GRU, LSTM, Recurrent, SimpleRNN, TimeDense
from ..errors import ModelFileError

KINDS = {"simple_rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
MAX_UNITS = 1_000_000


def is_sequence_layer(layer) -> bool:
    return isinstance(layer, (Recurrent, TimeDense))


def record(layer) -> dict:
    """The JSON record of a recurrent layer or a TimeDense head."""
    if isinstance(layer, TimeDense):
        return {"kind": "time_dense", "n_in": layer.n_in, "n_out": layer.n_units,
                "activation": layer.g.name}
    kind = next(k for k, cls in KINDS.items() if type(layer) is cls)
    rec = {"kind": kind, "n_in": layer.n_in, "n_hidden": layer.n_hidden,
           "return_sequences": layer.return_sequences, "mask_value": layer.mask_value}
    if kind == "simple_rnn":
        rec["activation"] = layer.g.name
    if kind == "lstm":  # the forget gate's starting bias (b_f itself is a tensor of the file)
        rec["forget_bias"] = layer.forget_bias
    return rec


def handles(kind) -> bool:
    """True for the kinds this module records (anything else is another module's, or wrong)."""
    return isinstance(kind, str) and (kind in KINDS or kind == "time_dense")


def input_shape(arch: dict, n_inputs: int) -> tuple:
    """One sample's shape: the recorded ``input_shape`` of a sequence network ``(T,
    features)``, else ``(n_inputs,)``."""
    shape = arch.get("input_shape")
    if shape is None:
        return (n_inputs,)
    if (not isinstance(shape, list) or len(shape) != 2 or not all(
            type(n) is int and n > 0 for n in shape) or shape[0] * shape[1] != n_inputs):
        raise ValueError(f"input_shape {str(shape)[:40]} does not match {n_inputs} inputs")
    return tuple(shape)


def count(rec: dict, path) -> int:
    """The numbers a record declares, refusing impossible sizes and options."""
    kind = rec["kind"]
    if kind == "time_dense":
        n_in, n_out = rec.get("n_in"), rec.get("n_out")
        _check_sizes(rec, path, n_in, n_out)
        return n_out * (n_in + 1)
    n_in, H = rec.get("n_in"), rec.get("n_hidden")
    _check_sizes(rec, path, n_in, H)
    mask, forget = rec.get("mask_value"), rec.get("forget_bias", 1.0)  # older files: 1.0
    if type(rec.get("return_sequences")) is not bool or not (
            mask is None or type(mask) in (int, float) and np.isfinite(mask)) or not (
            type(forget) in (int, float) and np.isfinite(forget)):
        raise ModelFileError(f"{path} declares an impossible layer {str(rec)[:80]}")
    gates = len(KINDS[kind].GATES)
    return gates * H * (n_in + H + 1) + H * len(KINDS[kind].EXTRA_BIASES)


def _check_sizes(rec, path, *sizes) -> None:
    if not all(type(n) is int and 0 < n <= MAX_UNITS for n in sizes):
        raise ModelFileError(f"{path} declares an impossible layer {str(rec)[:80]}")


def build(rec: dict, width: int, dtype):
    """The layer of a (counted) record; its weights come from the file."""
    if rec["n_in"] != width:
        raise ValueError(f"a {rec['kind']} layer of {rec['n_in']} inputs receives {width}")
    rng = np.random.default_rng(0)
    if rec["kind"] == "time_dense":
        return TimeDense(rec["n_in"], rec["n_out"], rec["activation"], rng=rng, dtype=dtype)
    options = {"activation": rec["activation"]} if rec["kind"] == "simple_rnn" else \
        {"forget_bias": rec.get("forget_bias", 1.0)} if rec["kind"] == "lstm" else {}
    return KINDS[rec["kind"]](rec["n_in"], rec["n_hidden"],
                              return_sequences=rec["return_sequences"], rng=rng, dtype=dtype,
                              mask_value=rec["mask_value"], **options)


def width_after(layer) -> int:
    """Features per step (or per sample) that ``layer`` gives the next one."""
    return layer.n_units if isinstance(layer, TimeDense) else layer.n_hidden
