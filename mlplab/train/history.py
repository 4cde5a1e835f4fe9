"""What training did (:class:`History`), and what a callback sees while it runs (:class:`Trainer`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """What training did.

    Attributes
    ----------
    loss : list of float
        Mean training cost per epoch (full batch: the cost before that epoch's update;
        minibatches: the mean of the batch costs).
    val_loss, val_accuracy : list of float
        Per epoch, when validation data was given.
    max_change : list of float
        Per epoch, the largest |ΔW| or |Δb| (the quantity compared with ε).
    epochs : int
        Epochs run.
    stop_reason : str
        Why training stopped.
    converged : bool
        True when it stopped because every change fell below ε.
    diverged : dict or None
        ``{"epoch", "batch", "what"}`` when the divergence guard stopped training.
    time_s : float
        Wall time of the loop.
    backend : str
        Which step computed the epochs: "core" (the plain reference code) or the name of the
        accelerator that ran (:mod:`mlplab.accel`), with the same numbers.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    max_change: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = ""
    converged: bool = False
    time_s: float = 0.0
    best_epoch: int | None = None
    diverged: dict | None = None
    backend: str = "core"

    def __repr__(self) -> str:
        last = f"{self.loss[-1]:.6g}" if self.loss else "—"
        return (f"History(epochs={self.epochs}, loss={last}, stop_reason={self.stop_reason!r}, "
                f"backend={self.backend!r}, time_s={self.time_s:.3f})")


class Trainer:
    """The state a callback sees: the network, the history, the optimizer, and a way to stop."""

    def __init__(self, net, history: History, optimizer):
        self.net, self.history, self.optimizer = net, history, optimizer
        self.epoch, self.batch = 0, 0
        self.stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
