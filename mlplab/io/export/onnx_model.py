"""A network or a fitted estimator as one ONNX model, checked before it is returned.

The graph takes ``X`` (rows of samples, ``(N, n_inputs)``, float32 by default) through the
layers (:mod:`.onnx_layers`) to ``a⁽ᴸ⁾``, then adds a head that gives what mlplab's own
prediction methods give:

============================  =======================================================
model                         outputs
============================  =======================================================
``Network``                   ``output`` = ``net.forward(X)``; with a sigmoid, softmax
                              or step output also ``label`` = ``net.predict(X)``
``MLPClassifier``             ``label`` (its ``classes_``), ``probabilities``
                              (``predict_proba``), as scikit-learn's ONNX converters
                              (skl2onnx with ``zipmap=False``) name them
``MLPRegressor``              ``variable`` = ``predict`` as ``(N, n_targets)``
``mlplab train --csv`` model  classifier: ``label`` (the target's values) and
                              ``probabilities``; regression: ``variable`` in the
                              target's units. Inputs are the *encoded* columns
                              (names in the ``mlplab_features`` metadata)
============================  =======================================================

Labels are int64 when every class is an integer, strings otherwise.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from ...core.network import Network
from ...errors import ConfigError
from ...extras import require
from .onnx_layers import OnnxGraph

MIN_OPSET = 17


@dataclass
class Head:
    """What the graph computes after ``a⁽ᴸ⁾``.

    kind : "network", "classifier", "multilabel" or "regressor"
    classes : the labels, in output order (classifiers)
    binary : one sigmoid unit whose probabilities are ``[1 − a, a]``
    normalize : probabilities are ``a / Σa`` (a classifier trained with squared error)
    mean, std : regression outputs in the target's units, ``a·std + mean``
    metadata : strings stored in the model's ``metadata_props``
    """

    kind: str
    classes: list | None = None
    binary: bool = False
    normalize: bool = False
    mean: float = 0.0
    std: float = 1.0
    metadata: dict = field(default_factory=dict)


def model_parts(model) -> tuple[Network, Head]:
    """The network inside ``model`` and the head its predictions need."""
    if isinstance(model, Network):
        tabular = (getattr(model, "extra", None) or {}).get("tabular")
        return model, _tabular_head(model, tabular) if tabular else Head("network")
    net = getattr(model, "net_", None)
    if not isinstance(net, Network):
        kind = type(model)
        if hasattr(kind, "_build_net"):  # mlplab's MLPClassifier or MLPRegressor, not fitted
            raise ConfigError(f"to_onnx got an unfitted {kind.__name__}: call fit first")
        if isinstance(model, (str, os.PathLike)):
            raise ConfigError(f"to_onnx takes a model, not the path {str(model)!r}: pass "
                              "mlplab.load(path)")
        raise ConfigError(f"to_onnx converts an mlplab Network, MLPClassifier or MLPRegressor "
                          f"(fitted), not a {kind.__module__}.{kind.__qualname__}; for "
                          "scikit-learn's own estimators use skl2onnx")
    classes = getattr(model, "classes_", None)
    if classes is None:
        return net, Head("regressor")
    y_type = model._label_binarizer.y_type_
    if y_type == "multilabel-indicator":
        return net, Head("multilabel", list(classes))
    return net, Head("classifier", list(classes), binary=net.n_outputs == 1,
                     normalize=model.loss == "squared_error" and net.n_outputs > 1)


def _tabular_head(net: Network, info: dict) -> Head:
    """A model saved by ``mlplab train --csv``: decode as ``mlplab predict --csv`` does."""
    from ...datasets.preprocessing import TabularEncoder

    target = info.get("target") or {}
    features = TabularEncoder.from_dict(info["encoder"]).feature_names
    metadata = {"mlplab_features": json.dumps(features),
                "mlplab_tabular": json.dumps(info)}
    if target.get("task") == "regression":
        return Head("regressor", mean=float(target["mean"]), std=float(target["std"]),
                    metadata=metadata)
    return Head("classifier", list(target["classes"]), binary=net.n_outputs == 1,
                metadata=metadata)


def _labels(classes: list) -> tuple[np.ndarray, int]:
    """The classes as an ONNX-ready array and its tensor type: int64 or string."""
    from onnx import TensorProto

    if all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64), TensorProto.INT64
    return np.array([str(c) for c in classes], dtype=object), TensorProto.STRING


def _head_outputs(graph: OnnxGraph, head: Head, net: Network, a: str) -> list[tuple]:
    """Nodes after ``a⁽ᴸ⁾``; the outputs as (name, tensor type, shape) in output order."""
    from onnx import TensorProto, helper

    float_type = helper.np_dtype_to_tensor_dtype(graph.dtype)
    n_out = net.n_outputs
    if head.kind == "regressor":
        if head.mean == 0.0 and head.std == 1.0:
            graph.nodes.append(helper.make_node("Identity", [a], ["variable"]))
        else:  # the target's units: a·std + mean
            scaled = graph.node("Mul", [a, graph.constant("std", head.std)])
            graph.nodes.append(helper.make_node("Add", [scaled, graph.constant("mean", head.mean)],
                                                ["variable"]))
        return [("variable", float_type, ["N", n_out])]
    if head.kind == "network":  # one output per sample, or per step of a sequence
        shape = ["N", *net.layers[-1].out_shape]
        graph.nodes.append(helper.make_node("Identity", [a], ["output"]))
        outputs = [("output", float_type, shape)]
        if net.output == "softmax":  # the class axis is the last
            graph.nodes.append(helper.make_node("ArgMax", ["output"], ["label"], axis=-1,
                                                keepdims=0))
            outputs.append(("label", TensorProto.INT64, shape[:-1]))
        elif net.output in ("sigmoid", "step"):  # 0/1 per output unit, threshold ½
            half = graph.constant("half", 0.5)
            over = graph.node("Greater", ["output", half])
            graph.nodes.append(helper.make_node("Cast", [over], ["label"], to=TensorProto.INT64))
            outputs.append(("label", TensorProto.INT64, shape))
        return outputs
    if head.kind == "multilabel":  # one sigmoid per label: label j is on where a_j > ½
        over = graph.node("Greater", [a, graph.constant("half", 0.5)])
        graph.nodes.append(helper.make_node("Cast", [over], ["label"], to=TensorProto.INT64))
        graph.nodes.append(helper.make_node("Identity", [a], ["probabilities"]))
        return [("label", TensorProto.INT64, ["N", n_out]),
                ("probabilities", float_type, ["N", n_out])]
    if head.binary:  # P(class 0) = 1 − a, P(class 1) = a
        complement = graph.node("Sub", [graph.constant("one", 1.0), a])
        probabilities = graph.node("Concat", [complement, a], hint="p", axis=1)
    elif head.normalize:  # squared-error outputs do not sum to 1: a / Σa
        total = graph.node("ReduceSum", [a, graph.constant("axes", [1], np.int64)], keepdims=1)
        tiny = graph.constant("tiny", np.finfo(graph.dtype).tiny)
        probabilities = graph.node("Div", [a, graph.node("Max", [total, tiny])], hint="p")
    else:
        probabilities = a
    index = graph.node("ArgMax", [probabilities], hint="index", axis=1, keepdims=0)
    labels, label_type = _labels(head.classes)
    graph.nodes.append(helper.make_node("Gather", [graph.constant("classes", labels), index],
                                        ["label"], axis=0))
    graph.nodes.append(helper.make_node("Identity", [probabilities], ["probabilities"]))
    return [("label", label_type, ["N"]),
            ("probabilities", float_type, ["N", len(head.classes)])]


def _check_opset(opset) -> int:
    """``opset`` as an int in [MIN_OPSET, the newest the installed onnx package knows]."""
    from onnx.defs import onnx_opset_version

    newest = onnx_opset_version()
    if isinstance(opset, (bool, np.bool_)) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise ConfigError(f"opset must be a whole number from {MIN_OPSET} to {newest} (the "
                          f"newest this onnx {_onnx_version()} knows), got {opset!r}")
    return int(opset)


def _onnx_version() -> str:
    import onnx

    return onnx.__version__


def _check_dtype(dtype) -> np.dtype:
    """float32 or float64 (a name, a NumPy type or dtype); anything else, None included (NumPy
    would read None as float64), is refused."""
    try:
        checked = np.dtype(dtype) if dtype is not None else None
    except (TypeError, ValueError):
        checked = None
    if checked not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return checked


# operators onnxruntime's CPU provider runs in float32 only (checked with onnxruntime 1.32):
# a float64 graph using them is valid ONNX but refused there
FLOAT32_ONLY_OPS = {"Conv": "Conv2D", "AveragePool": "AvgPool2D", "RNN": "SimpleRNN"}


def _warn_without_double_kernels(graph: OnnxGraph) -> None:
    if graph.dtype != np.float64:
        return
    layers = sorted({FLOAT32_ONLY_OPS[n.op_type] for n in graph.nodes
                     if n.op_type in FLOAT32_ONLY_OPS})
    if layers:
        warnings.warn(f"onnxruntime cannot run this float64 ONNX model: it has no float64 "
                      f"kernel for the {', '.join(layers)} layers' operators; export with "
                      "dtype float32 (--dtype float32) to run it there", UserWarning,
                      stacklevel=3)


def to_onnx(model, path: str | os.PathLike | None = None, *, opset: int = MIN_OPSET,
            dtype="float32", name: str = "mlplab"):
    """Convert a network or a fitted estimator to a checked ONNX model.

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor (fitted)
        A network loaded from a ``mlplab train --csv`` model file keeps its decoding: the
        outputs are the target's labels or units (module docstring).
    path : str or path-like, optional
        Also write the model there (atomically).
    opset : int, default 17
        ONNX operator set, from 17 to the newest the installed ``onnx`` knows
        (``onnx.defs.onnx_opset_version()``).
    dtype : "float32" or "float64"
        Type of the input, the weights and the float outputs (not None). onnxruntime runs
        convolutions, average pooling and SimpleRNN in float32 only: a float64 export of
        such a network warns (the file is valid ONNX, for runtimes that have the kernels).
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(model, full_check=True)``. Its input is ``X``,
        ``(N, n_inputs)`` (or ``(N, *input_shape)`` for images and sequences).
    """
    onnx = require("onnx", "onnx")
    from onnx import helper

    opset, dtype = _check_opset(opset), _check_dtype(dtype)
    net, head = model_parts(model)
    graph = OnnxGraph(dtype)
    a = "X"
    for layer in net.layers:
        a = graph.layer(layer, a)
    _warn_without_double_kernels(graph)
    outputs = _head_outputs(graph, head, net, a)
    float_type = helper.np_dtype_to_tensor_dtype(graph.dtype)
    # a row of features, or what the Input layer declares (an image's (C, H, W), a
    # sequence's (T, features))
    shape = ["N", *getattr(net.layers[0], "input_shape", net.input_shape)]
    proto = helper.make_graph(
        graph.nodes, name, [helper.make_tensor_value_info("X", float_type, shape)],
        [helper.make_tensor_value_info(*out) for out in outputs], graph.initializers)
    opsets = [helper.make_opsetid("", opset)]
    result = helper.make_model(proto, opset_imports=opsets, producer_name="mlplab",
                               ir_version=helper.find_min_ir_version_for(opsets),
                               doc_string=f"{net!r} exported by mlplab")
    helper.set_model_props(result, head.metadata)
    onnx.checker.check_model(result, full_check=True)
    if path is not None:
        from ..files import atomic_write

        atomic_write(path, result.SerializeToString(), "ONNX file")
    return result

