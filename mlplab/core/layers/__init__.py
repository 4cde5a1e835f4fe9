"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout, frozen_masks, with_dropout
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent, SimpleRNN
from .flatten import Flatten
from .pool import AvgPool2D, MaxPool2D
from .residual import Residual
from .timedense import TimeDense

__all__ = ["Layer", "Input", "Dense", "BatchNorm", "Residual", "Dropout", "frozen_masks",
           "with_dropout", "Recurrent", "SimpleRNN", "LSTM", "GRU", "TimeDense", "Conv2D",
           "MaxPool2D", "AvgPool2D", "Flatten"]
