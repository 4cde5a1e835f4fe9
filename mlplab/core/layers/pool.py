"""Pooling: each channel's k × k windows reduced to one number, max or mean.

On ``(m, C, H, W)`` maps, with the windows of :func:`~mlplab.core.layers.conv.windows`
(``(m, C, k·k, H_out, W_out)``)::

    max:      a = max over the window        ∂C/∂a_prev = ∂C/∂a at the window's argmax, 0 elsewhere
    average:  a = mean over the window       ∂C/∂a_prev = ∂C/∂a / (k·k) at every place of the window

Where windows overlap (stride < pool size) the shares add up. Pooling has no parameters and no
activation; PyTorch's defaults apply: stride = pool size, no padding, a remainder row or
column that no window covers is dropped, and ties in a max go to the first place in the window.
"""

from __future__ import annotations

from ...errors import ConfigError
from ..xp import namespace
from .base import Layer
from .conv import _short, add_windows, output_size, pair, windows

Array = object


class _Pool2D(Layer):
    """What max and average pooling share: the window geometry, the shape checks."""

    trainable = False
    kind = "pool"

    def __init__(self, pool_size=2, stride=None):
        self.kernel = pair(pool_size, f"{type(self).__name__} pool_size")
        self.stride = self.kernel if stride is None else pair(stride,
                                                              f"{type(self).__name__} stride")
        self.A_prev = self.A = None

    def build(self, in_shape: tuple) -> tuple:
        in_shape = tuple(in_shape)
        if len(in_shape) != 3:
            raise ConfigError(f"{self!r} takes feature maps (C, H, W) but receives samples of "
                              f"shape {in_shape}; put it after a Conv2D or an Input((C, H, W))")
        Ho, Wo = output_size(in_shape[1:], self.kernel, self.stride, (0, 0, 0, 0))
        if Ho < 1 or Wo < 1:
            raise ConfigError(f"{self!r} does not fit into maps of shape {in_shape}; use a "
                              "smaller pool_size")
        self.in_shape, self.out_shape = in_shape, (in_shape[0], Ho, Wo)
        return self.out_shape

    @property
    def size(self) -> int:
        """Places in a window: kh·kw."""
        return self.kernel[0] * self.kernel[1]

    def windows(self, A_prev: Array) -> Array:
        """``(m, C, k·k, H_out, W_out)``: every window of the input."""
        return windows(A_prev, self.kernel, self.stride, self.out_shape[1:])

    def add_windows(self, D: Array) -> Array:
        """Each window's share ``D`` added back where the window was read: ``∂C/∂a_prev``."""
        return add_windows(D, self.in_shape[1:], self.kernel, self.stride)

    def __repr__(self) -> str:
        stride = "" if self.stride == self.kernel else f", stride={_short(self.stride)}"
        return f"{type(self).__name__}({_short(self.kernel)}{stride})"


class MaxPool2D(_Pool2D):
    """Max pooling: ``a = max`` over each window; the gradient goes to the maximum.

    Parameters
    ----------
    pool_size : int or (kh, kw)
    stride : int or (sh, sw), optional
        Default: the pool size (windows side by side).

    Attributes
    ----------
    argmax : (m, C, H_out, W_out) integer array
        Where in each window (``i·kw + j``) the last forward found the maximum.
    """

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        xp = namespace(A_prev)
        win = self.windows(A_prev)
        self.argmax = xp.argmax(win, axis=2)  # the window's winner gets the gradient
        self.A = xp.max(win, axis=2)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        from array_api_compat import device

        if not need_dA_prev:
            return None
        xp, k = namespace(dA), self.size
        places = xp.reshape(xp.arange(k, device=device(dA)), (1, 1, k, 1, 1))
        winner = xp.astype(xp.expand_dims(self.argmax, axis=2) == places, dA.dtype)
        return self.add_windows(winner * xp.expand_dims(dA, axis=2))  # ∂C/∂a at the argmax

    def clear(self) -> None:
        super().clear()
        self.argmax = None


class AvgPool2D(_Pool2D):
    """Average pooling: ``a = mean`` over each window; the gradient is shared equally.

    Parameters
    ----------
    pool_size : int or (kh, kw)
    stride : int or (sh, sw), optional
        Default: the pool size.
    """

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        self.A = namespace(A_prev).mean(self.windows(A_prev), axis=2)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        if not need_dA_prev:
            return None
        xp = namespace(dA)
        share = xp.expand_dims(dA / self.size, axis=2)  # ∂C/∂a / (kh·kw) to each place
        return self.add_windows(xp.broadcast_to(share, (*dA.shape[:2], self.size,
                                                        *dA.shape[2:])))
