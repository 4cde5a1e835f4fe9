"""Files: model files (safetensors + JSON, never pickle) and crash-safe training checkpoints."""

from .model import load, loads, save

__all__ = ["save", "load", "loads"]
