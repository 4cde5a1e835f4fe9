"""Models out of mlplab: ONNX (for any runtime) and PyTorch (to continue training there).

- :func:`to_onnx` writes a network or a fitted estimator as an ONNX model (opset 17 or newer,
  built with the ``onnx`` helper API; PyTorch is not needed);
- :func:`to_torch` gives a ``torch.nn.Sequential`` with the same weights and outputs;
  :func:`from_torch` turns such a ``nn.Sequential`` back into a :class:`~mlplab.Network`.

Each layer kind is converted by one small function found in a registry by the layer's type
(:data:`~mlplab.io.export.onnx_layers.LAYER_CONVERTERS`,
:data:`~mlplab.io.export.pytorch.TO_TORCH`, :data:`~mlplab.io.export.pytorch.FROM_TORCH`):
a new layer kind adds its converters beside its own code, nothing else changes
(``docs/sweeps-and-export.md`` shows the pattern).

``onnx``, ``onnxruntime`` and ``torch`` are optional: ``pip install 'mlplab[onnx]'`` or
``'mlplab[torch]'``; without them these functions raise :class:`~mlplab.errors.ConfigError`
saying so.
"""

from __future__ import annotations

from . import image_layers  # noqa: F401  (registers the image layers' converters)
from .onnx_model import to_onnx  # onnx and torch are imported when called
from .pytorch import from_torch, to_torch
from . import recurrent  # noqa: E402,F401  (registers the recurrent layers' converters)

__all__ = ["to_onnx", "to_torch", "from_torch"]
