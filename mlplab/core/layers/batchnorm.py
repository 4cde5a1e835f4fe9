"""Batch normalization (Ioffe & Szegedy 2015), followed by the layer's activation g.

For a batch ``X`` of pre-activations (``(m, n)``, e.g. the ``z`` of a ``Dense(…, "identity")``
below it), per unit j::

    μ_j = mean_i x_ij,   σ²_j = var_i x_ij                 (training: this batch's statistics)
    x̂ = (x − μ) / √(σ² + ε)
    z = γ ⊙ x̂ + β,       a = g(z)

In evaluation (``training=False``) μ and σ² are the running averages collected in training
(``running ← momentum·running + (1 − momentum)·batch``; the variance unbiased, as in PyTorch),
so a prediction does not depend on the other samples of its batch.

Backward, with ``δ = ∂C/∂z`` per sample (``dA ⊙ g'(z)``) and means over the batch's rows::

    ∂C/∂γ = mean(δ ⊙ x̂),   ∂C/∂β = mean(δ)
    ∂C/∂x = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε),   dx̂ = δ ⊙ γ

(every sample's x enters μ and σ², hence the two mean terms). β plays the role of the bias b:
``∂C/∂β`` is the ``δ`` of this stage, which is what :class:`mlplab.monitor.GradientMonitor`
reports as its bias gradient (the bias of a Dense layer right below a BatchNorm has gradient
exactly 0: the mean subtraction removes it).
"""

from __future__ import annotations

import numpy as np

from ..activations import Activation, get_activation
from ...errors import ConfigError
from ..validation import check_positive_int
from ..xp import namespace
from .base import Layer

Array = np.ndarray


class BatchNorm(Layer):
    """Normalize each unit over the batch, scale by γ, shift by β, then apply g.

    Parameters
    ----------
    n : int
        Units (the width of the layer below; ``n_in == n_out == n``).
    activation : str or Activation
        g applied after the shift (``"identity"`` for a bare normalization).
    momentum : float in [0, 1)
        Weight of the old running statistics in each update.
    eps : float
        Added to σ² before the square root.
    dtype : numpy dtype of γ, β and the running statistics.

    Attributes
    ----------
    gamma, beta : (n,) arrays, trainable (start at 1 and 0)
    running_mean, running_var : (n,) arrays, updated by every training forward
    dgamma, dbeta : gradients of the mean cost
    """

    def __init__(self, n: int, activation: str | Activation = "identity", momentum: float = 0.9,
                 eps: float = 1e-5, dtype=np.float64):
        n = check_positive_int(n, "BatchNorm width n")
        if not 0 <= momentum < 1:
            raise ConfigError(f"BatchNorm momentum must be in [0, 1), got {momentum!r}")
        if not eps > 0:
            raise ConfigError(f"BatchNorm eps must be > 0, got {eps!r}")
        self.in_shape = self.out_shape = (n,)
        self.g: Activation = get_activation(activation)
        if self.g.name == "softmax" or not self.g.differentiable:
            raise ConfigError(f"BatchNorm's activation cannot be {self.g.name}; use sigmoid, "
                              "tanh, relu, leaky_relu or identity (softmax belongs on the Dense "
                              "output layer)")
        self.momentum, self.eps = float(momentum), float(eps)
        self.gamma: Array = np.ones(n, dtype)
        self.beta: Array = np.zeros(n, dtype)
        self.running_mean: Array = np.zeros(n, dtype)
        self.running_var: Array = np.ones(n, dtype)
        self.dgamma: Array = np.zeros(n, dtype)
        self.dbeta: Array = np.zeros(n, dtype)
        self.X_hat = self.inv_std = self.Z = self.A = self.delta = None
        self.training = False

    param_names = ("gamma", "beta")
    state_names = ("running_mean", "running_var")

    @property
    def n_in(self) -> int:
        return self.in_shape[0]

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.training = training
        xp = namespace(A_prev)
        if training:
            m = A_prev.shape[0]
            mu, var = xp.mean(A_prev, axis=0), xp.var(A_prev, axis=0)
            r = 1 - self.momentum
            self.running_mean += r * (mu - self.running_mean)
            unbiased = var * (m / (m - 1)) if m > 1 else var
            self.running_var += r * (unbiased - self.running_var)
        else:
            mu, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / xp.sqrt(var + self.eps)
        self.X_hat = (A_prev - mu) * self.inv_std  # x̂ = (x − μ) / √(σ² + ε)
        self.Z = self.gamma * self.X_hat + self.beta  # z = γ x̂ + β
        self.A = self.g(self.Z)  # a = g(z)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        xp = namespace(dA)
        delta = dA * self.g.g_prime(self.Z)  # δ = ∂C/∂z per sample
        self.delta = delta
        self.dgamma = xp.mean(delta * self.X_hat, axis=0)  # ∂C/∂γ
        self.dbeta = xp.mean(delta, axis=0)  # ∂C/∂β
        if not need_dA_prev:
            return None
        dX_hat = delta * self.gamma
        if not self.training:  # fixed μ, σ²: a per-unit affine map
            return dX_hat * self.inv_std
        return self.inv_std * (dX_hat - xp.mean(dX_hat, axis=0)
                               - self.X_hat * xp.mean(dX_hat * self.X_hat, axis=0))

    def __repr__(self) -> str:
        return f"BatchNorm({self.n_out}, {self.g.name})"
