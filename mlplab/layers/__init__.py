"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .dense import Dense

__all__ = ["Layer", "Input", "Dense"]
