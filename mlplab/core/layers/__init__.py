"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout, frozen_masks, with_dropout
from .residual import Residual

__all__ = ["Layer", "Input", "Dense", "BatchNorm", "Residual", "Dropout", "frozen_masks",
           "with_dropout"]
