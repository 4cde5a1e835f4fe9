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

On feature maps ``(m, C, H, W)`` (after a :class:`~mlplab.core.layers.conv.Conv2D`) the units
are the C channels: μ, σ², γ and β are per channel, the means run over the batch and every
position (``m·H·W`` numbers per channel), as ``torch.nn.BatchNorm2d`` computes them.
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
    n : int or None
        Units (the width of the layer below; ``n_in == n_out == n``), or channels for feature
        maps ``(C, H, W)``. ``None`` takes it from the layer below when the network is built.
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
    axes : the axes a unit's statistics run over: (0,) for vectors, (0, 2, 3) for maps
    running_mean, running_var : (n,) arrays, updated by every training forward
    dgamma, dbeta : gradients of the mean cost
    """

    def __init__(self, n: int | None, activation: str | Activation = "identity",
                 momentum: float = 0.9, eps: float = 1e-5, dtype=np.float64):
        if n is not None:
            n = check_positive_int(n, "BatchNorm width n")
        if not 0 <= momentum < 1:
            raise ConfigError(f"BatchNorm momentum must be in [0, 1), got {momentum!r}")
        if not eps > 0:
            raise ConfigError(f"BatchNorm eps must be > 0, got {eps!r}")
        self.g: Activation = get_activation(activation)
        if self.g.name == "softmax" or not self.g.differentiable:
            raise ConfigError(f"BatchNorm's activation cannot be {self.g.name}; use sigmoid, "
                              "tanh, relu, leaky_relu or identity (softmax belongs on the Dense "
                              "output layer)")
        self.momentum, self.eps, self.dtype = float(momentum), float(eps), np.dtype(dtype)
        self.n, self.axes = n, (0,)
        self.gamma = self.beta = self.running_mean = self.running_var = None
        self.dgamma = self.dbeta = None
        self.X_hat = self.inv_std = self.Z = self.A = self.delta = None
        self.training = False
        if n is not None:
            self.build((n,))

    param_names = ("gamma", "beta")
    state_names = ("running_mean", "running_var")

    @property
    def n_in(self) -> int:
        return self.in_shape[0]

    def build(self, in_shape: tuple) -> tuple:
        in_shape = tuple(in_shape)
        if len(in_shape) == 2:  # (T, features) or (H, W): neither is normalized here
            raise ConfigError(f"{self!r} normalizes vectors (n,) or feature maps (C, H, W), but "
                              f"receives samples of shape {in_shape}; put Flatten() before it, "
                              "or, after a recurrent layer, give it return_sequences=False")
        if len(in_shape) not in (1, 3) or (self.n is not None and in_shape[0] != self.n):
            raise ConfigError(f"{self!r} normalizes {self.n or 'n'} units (vectors) or channels "
                              f"(maps (C, H, W)) but receives samples of shape {in_shape}; "
                              f"use BatchNorm({in_shape[0]}) or BatchNorm(None)")
        self.n, self.in_shape = in_shape[0], in_shape
        self.out_shape = in_shape
        self.axes = (0,) if len(in_shape) == 1 else (0, 2, 3)  # maps: per channel
        if self.gamma is None:
            n, dtype = self.n, self.dtype
            self.gamma, self.beta = np.ones(n, dtype), np.zeros(n, dtype)
            self.running_mean, self.running_var = np.zeros(n, dtype), np.ones(n, dtype)
            self.dgamma, self.dbeta = np.zeros(n, dtype), np.zeros(n, dtype)
        return self.out_shape

    def per_unit(self, v: Array) -> Array:
        """A per-unit vector ``(n,)`` shaped to broadcast over a batch: ``(n, 1, 1)`` on maps."""
        return v if len(self.in_shape) == 1 else namespace(v).reshape(v, (self.n, 1, 1))

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.training = training
        xp = namespace(A_prev)
        if training:
            count = A_prev.shape[0]  # the numbers behind one unit's statistics: m (·H·W)
            for size in self.in_shape[1:]:
                count *= size
            mu, var = xp.mean(A_prev, axis=self.axes), xp.var(A_prev, axis=self.axes)
            r = 1 - self.momentum
            self.running_mean += r * (mu - self.running_mean)
            unbiased = var * (count / (count - 1)) if count > 1 else var
            self.running_var += r * (unbiased - self.running_var)
        else:
            mu, var = self.running_mean, self.running_var
        self.inv_std = 1.0 / xp.sqrt(self.per_unit(var) + self.eps)
        self.X_hat = (A_prev - self.per_unit(mu)) * self.inv_std  # x̂ = (x − μ) / √(σ² + ε)
        self.Z = self.per_unit(self.gamma) * self.X_hat + self.per_unit(self.beta)  # z = γ x̂ + β
        self.A = self.g(self.Z)  # a = g(z)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        xp = namespace(dA)
        m, axes = dA.shape[0], self.axes
        delta = dA * self.g.g_prime(self.Z)  # δ = ∂C/∂z per sample
        self.delta = delta
        self.dgamma = xp.sum(delta * self.X_hat, axis=axes) / m  # ∂C/∂γ, mean over samples
        self.dbeta = xp.sum(delta, axis=axes) / m  # ∂C/∂β
        if not need_dA_prev:
            return None
        dX_hat = delta * self.per_unit(self.gamma)
        if not self.training:  # fixed μ, σ²: a per-unit affine map
            return dX_hat * self.inv_std
        # the means over everything one unit's μ and σ² were taken over
        return self.inv_std * (dX_hat - xp.mean(dX_hat, axis=axes, keepdims=True)
                               - self.X_hat * xp.mean(dX_hat * self.X_hat, axis=axes,
                                                      keepdims=True))

    def __repr__(self) -> str:
        return f"BatchNorm({self.n or '?'}, {self.g.name})"
