"""The PyTorch modules that ``torch.nn`` lacks for mlplab's layers.

Importable by name, so that a module made by :func:`mlplab.io.export.to_torch` can be saved
whole with ``torch.save(module)`` and loaded where mlplab and torch are installed (a
``state_dict`` needs only the architecture, rebuilt by ``to_torch``).
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """``a = a_prev + F(a_prev)``, with ``F`` the given modules applied in order."""

    def __init__(self, *block: nn.Module):
        super().__init__()
        self.block = nn.Sequential(*block)

    def forward(self, a_prev: torch.Tensor) -> torch.Tensor:
        return a_prev + self.block(a_prev)


class Recurrent(nn.Module):
    """``nn.RNN``/``nn.LSTM``/``nn.GRU`` (batch first) giving every state ``(N, T, H)`` or,
    like an mlplab layer without ``return_sequences``, the last one ``(N, H)``."""

    def __init__(self, rnn: nn.Module, return_sequences: bool = False):
        super().__init__()
        self.rnn, self.return_sequences = rnn, bool(return_sequences)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return out if self.return_sequences else out[:, -1]


class Step(nn.Module):
    """The lecture's sgn as a 0/1 step: 1 where z > 0, else 0 (its gradient is 0)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z > 0).to(z.dtype)
