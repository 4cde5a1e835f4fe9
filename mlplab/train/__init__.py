"""Training: the lecture's 7 steps (:mod:`~mlplab.train.loop`) and everything that watches them
(callbacks, regularizers, clipping, the gradient monitor, the divergence guard).

Importing this package makes ``Network.fit`` work (:mod:`mlplab.core.plugins`).
"""

from .history import History, Trainer
from .loop import fit

__all__ = ["fit", "History", "Trainer"]
