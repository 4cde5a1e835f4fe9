"""Files: model files (safetensors + JSON, never pickle), crash-safe training checkpoints, and
the one atomic write every file mlplab writes goes through.

Importing this package plugs :class:`~mlplab.io.checkpoint.Checkpointer` into the training loop
(:mod:`mlplab.core.plugins`), so that ``fit(checkpoint=PATH)`` writes through it.
"""

from ..core import plugins
from .checkpoint import Checkpointer, load_checkpoint
from .files import atomic_write
from .model import load, loads, save

plugins.CHECKPOINTER = Checkpointer

__all__ = ["save", "load", "loads", "load_checkpoint", "Checkpointer", "atomic_write"]
