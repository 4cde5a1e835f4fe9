"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout, frozen_masks, with_dropout
from .flatten import Flatten
from .pool import AvgPool2D, MaxPool2D
from .residual import Residual

__all__ = ["Layer", "Input", "Dense", "BatchNorm", "Residual", "Dropout", "frozen_masks",
           "with_dropout", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten"]
