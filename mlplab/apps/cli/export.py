"""``mlplab export``: a model file out to ONNX and PyTorch (the work is in :mod:`mlplab.io.export`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import typer

from ...errors import ConfigError
from .app import check_output, command, console, load_model, user_errors


EXAMPLES = {"--onnx": "model.onnx", "--torch": "model.pt"}  # a file name inside a folder


def output_file(path: Path, option: str, model: Path) -> Path:
    """Refuse an output ``path`` that cannot be written, before any work is done."""
    if path.resolve() == model.resolve():
        raise ConfigError(f"{option} {path} is the model file itself; give another name")
    if path.is_dir() and option not in EXAMPLES:  # the encoding file, named after --onnx
        raise ConfigError(f"{option} {path} is a folder; move it away, or give --onnx (or "
                          "--torch) another name")
    return check_output(path, option, "file", EXAMPLES.get(option))


def distinct_outputs(outputs: dict) -> None:
    """Two outputs on one file would overwrite each other: refuse before any is written."""
    seen = {}
    for option, path in outputs.items():
        other = seen.setdefault(path.resolve(), option)
        if other != option:
            raise ConfigError(f"{other} and {option} both write {path}; give each its own file")


ENCODING_HOW = (
    "The model's input X has one column per entry of 'features', in that order. For each of "
    "'columns': numeric: a missing value becomes 'median', then (x - mean) / std; "
    "categorical: a missing value becomes 'fill', then one 0/1 column per entry of "
    "'categories' (1 where the value equals it; a value never seen in training is all 0). "
    "mlplab does the same with mlplab.preprocessing.TabularEncoder.from_dict("
    "{'columns': columns}).transform(frame).")


ENCODING_FILE = "the encoding file"
TORCH_HOW = (
    "The --torch module (mlplab.export.to_torch) ends at the network's last layer and its "
    "output is a(L) itself, not the target: for a regression target y = a * std + mean "
    "('target'); for classes, a row's largest output (or, for one sigmoid unit, a > 0.5 for "
    "the second) indexes 'target'.classes. The ONNX model does this itself.")


def encoding_record(net, torch: bool = False) -> dict | None:
    """What a user needs to encode new CSV rows for a ``train --csv`` model (and, for the
    PyTorch module, to decode its outputs), or None."""
    info = (getattr(net, "extra", None) or {}).get("tabular")
    if not info:
        return None
    from ...datasets.preprocessing import TabularEncoder

    record = {"features": TabularEncoder.from_dict(info["encoder"]).feature_names,
              "how": ENCODING_HOW, "columns": info["encoder"]["columns"],
              "target": info["target"]}
    if torch:
        record["torch_outputs"] = TORCH_HOW
    return record


@command()
def export(
    model: Path = typer.Argument(..., help="A model file written by 'mlplab train --out' "
                                 "or 'mlplab sweep --out'."),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="Write an ONNX model (opset ≥ 17) "
                                        "here; needs pip install 'mlplab\\[onnx]'."),
    torch: Optional[Path] = typer.Option(None, "--torch", help="Write a PyTorch state_dict "
                                         "(torch.save) here; needs pip install "
                                         "'mlplab\\[torch]'."),
    opset: int = typer.Option(17, help="ONNX operator set (17 to the newest the installed "
                              "onnx knows)."),
    dtype: str = typer.Option("float32", help="ONNX input and weight type: float32 or float64 "
                              "(onnxruntime runs convolutions and SimpleRNN in float32 only)."),
):
    """Export a model to ONNX (any runtime) and/or PyTorch.

    A model trained with --csv also gets its column encoding written beside the ONNX file, or
    the PyTorch file when there is none (OUT.encoding.json): the exported models' inputs are
    the encoded columns (and the PyTorch module's outputs are not yet decoded: see its
    torch_outputs).
    """
    from ...extras import require

    with user_errors():
        if onnx is None and torch is None:
            raise ConfigError("say what to write: --onnx OUT.onnx and/or --torch OUT.pt")
        outputs = {option: path for option, path in (("--onnx", onnx), ("--torch", torch))
                   if path is not None}
        for option, path in outputs.items():
            output_file(path, option, model)
            require(option[2:], option[2:])
        distinct_outputs(outputs)
        net = load_model(model)
        encoding = encoding_record(net, torch=torch is not None)
        if encoding is not None:  # written too, beside the ONNX file (else the --torch one)
            side = (onnx if onnx is not None else torch).with_suffix(".encoding.json")
            outputs[ENCODING_FILE] = side
            output_file(side, ENCODING_FILE, model)
            distinct_outputs(outputs)
        # every conversion before any file: a model one converter refuses leaves nothing
        # half-exported behind
        proto = _onnx_model(net, opset, dtype) if onnx is not None else None
        module, state = _torch_state(net) if torch is not None else (None, None)
        _write(outputs, proto, encoding, module, state)


def _onnx_model(net, opset: int, dtype: str):
    from ...io.export import to_onnx

    return to_onnx(net, opset=opset, dtype=dtype)


def _torch_state(net):
    """The PyTorch module and its state_dict as the bytes torch.save writes."""
    import torch as torch_module

    from ...io.export import to_torch

    module = to_torch(net)
    buffer = io.BytesIO()
    torch_module.save(module.state_dict(), buffer)
    return module, buffer.getvalue()


def _write(outputs: dict, proto, encoding, module, state) -> None:
    from ...io import atomic_write

    if proto is not None:
        from onnx.helper import tensor_dtype_to_np_dtype

        path = atomic_write(outputs["--onnx"], proto.SerializeToString(), "ONNX file")
        x = proto.graph.input[0].type.tensor_type  # the graph's own: (N, C, H, W) for images
        shape = ", ".join(str(d.dim_param or d.dim_value) for d in x.shape.dim)
        console.print(f"wrote {path} (opset {proto.opset_import[0].version}, "
                      f"{tensor_dtype_to_np_dtype(x.elem_type)}; input X ({shape}); outputs "
                      f"{', '.join(o.name for o in proto.graph.output)})", highlight=False)
    if encoding is not None:
        side = outputs[ENCODING_FILE]
        atomic_write(side, json.dumps(encoding, indent=1), "encoding file")
        console.print(f"wrote {side}: the {len(encoding['features'])} encoded input "
                      "columns and how to encode a CSV row into them", highlight=False)
    if state is not None:
        path = atomic_write(outputs["--torch"], state, "--torch")
        console.print(f"wrote {path} (state_dict of):\n{module}", highlight=False,
                      markup=False)
