"""Files: model files (safetensors + JSON, never pickle), crash-safe training checkpoints, and
the one atomic write every file mlplab writes goes through."""

from .files import atomic_write
from .model import load, loads, save

__all__ = ["save", "load", "loads", "atomic_write"]
