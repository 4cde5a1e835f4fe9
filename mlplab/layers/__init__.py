"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .dense import Dense
from .dropout import Dropout, frozen_masks, with_dropout

__all__ = ["Layer", "Input", "Dense", "Dropout", "frozen_masks", "with_dropout"]
