"""Files: model files (safetensors + JSON, never pickle) and crash-safe training checkpoints.

Importing this package plugs :class:`~mlplab.io.checkpoint.Checkpointer` into the training loop
(:mod:`mlplab.core.plugins`), so that ``fit(checkpoint=PATH)`` writes through it.
"""

from ..core import plugins
from .checkpoint import Checkpointer, load_checkpoint
from .model import load, loads, save

plugins.CHECKPOINTER = Checkpointer

__all__ = ["save", "load", "loads", "load_checkpoint", "Checkpointer"]
