"""``mlplab export``: a model file out to ONNX and PyTorch (the work is in :mod:`mlplab.io.export`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import typer

from ...errors import ConfigError
from .app import check_output, command, console, user_errors


def output_file(path: Path, option: str, model: Path) -> Path:
    """Refuse an output ``path`` that cannot be written, before any work is done."""
    if path.resolve() == model.resolve():
        raise ConfigError(f"{option} {path} is the model file itself; give another name")
    return check_output(path, option, "file")


ENCODING_HOW = (
    "The model's input X has one column per entry of 'features', in that order. For each of "
    "'columns': numeric: a missing value becomes 'median', then (x - mean) / std; "
    "categorical: a missing value becomes 'fill', then one 0/1 column per entry of "
    "'categories' (1 where the value equals it; a value never seen in training is all 0). "
    "mlplab does the same with mlplab.preprocessing.TabularEncoder.from_dict("
    "{'columns': columns}).transform(frame).")


def encoding_record(net) -> dict | None:
    """What a user needs to encode new CSV rows for a ``train --csv`` model, or None."""
    info = (getattr(net, "extra", None) or {}).get("tabular")
    if not info:
        return None
    from ...datasets.preprocessing import TabularEncoder

    return {"features": TabularEncoder.from_dict(info["encoder"]).feature_names,
            "how": ENCODING_HOW, "columns": info["encoder"]["columns"],
            "target": info["target"]}


@command()
def export(
    model: Path = typer.Argument(..., help="A model file written by 'mlplab train --out' "
                                 "or 'mlplab sweep --out'."),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="Write an ONNX model (opset ≥ 17) "
                                        "here; needs pip install 'mlplab[onnx]'."),
    torch: Optional[Path] = typer.Option(None, "--torch", help="Write a PyTorch state_dict "
                                         "(torch.save) here; needs pip install 'mlplab[torch]'."),
    opset: int = typer.Option(17, help="ONNX operator set (17 or newer)."),
    dtype: str = typer.Option("float32", help="ONNX input and weight type: float32 or float64."),
):
    """Export a model to ONNX (any runtime) and/or PyTorch.

    A model trained with --csv also gets its column encoding written beside the ONNX file
    (OUT.encoding.json): the ONNX model's inputs are the encoded columns.
    """
    from ...extras import require
    from ...io import atomic_write, load

    with user_errors():
        if onnx is None and torch is None:
            raise ConfigError("say what to write: --onnx OUT.onnx and/or --torch OUT.pt")
        for path, option, extra in ((onnx, "--onnx", "onnx"), (torch, "--torch", "torch")):
            if path is not None:
                output_file(path, option, model)
                require(extra, extra)
        net = load(model)
        if onnx is not None:
            from ...io.export import to_onnx

            names = [o.name for o in to_onnx(net, onnx, opset=opset, dtype=dtype).graph.output]
            console.print(f"wrote {onnx} (opset {opset}, {dtype}; input X "
                          f"(N, {net.n_inputs}); outputs {', '.join(names)})", highlight=False)
            encoding = encoding_record(net)
            if encoding is not None:
                side = onnx.with_suffix(".encoding.json")
                atomic_write(side, json.dumps(encoding, indent=1), "encoding file")
                console.print(f"wrote {side}: the {len(encoding['features'])} encoded input "
                              "columns and how to encode a CSV row into them", highlight=False)
        if torch is not None:
            import torch as torch_module

            from ...io.export import to_torch

            module = to_torch(net)
            buffer = io.BytesIO()
            torch_module.save(module.state_dict(), buffer)
            atomic_write(torch, buffer.getvalue(), "--torch")
            console.print(f"wrote {torch} (state_dict of):\n{module}", highlight=False,
                          markup=False)

