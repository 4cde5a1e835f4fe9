"""Layers: one module each. See :mod:`mlplab.layers.base` for the shapes and the contract."""

from .base import Input, Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout, frozen_masks, with_dropout
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent, SimpleRNN
from .residual import Residual
from .timedense import TimeDense

__all__ = ["Layer", "Input", "Dense", "BatchNorm", "Residual", "Dropout", "frozen_masks",
           "with_dropout", "Recurrent", "SimpleRNN", "LSTM", "GRU", "TimeDense"]
