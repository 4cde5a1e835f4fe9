"""The convolutional layer: ``z⁽ˡ⁾ = W⁽ˡ⁾ ⋆ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``, on feature maps.

Shapes (PyTorch's and ONNX's): a batch of images is ``(m, C, H, W)``; ``W`` is
``(out_channels, in_channels, kh, kw)``, ``b`` is ``(out_channels,)``. Each output channel o
at position (y, x) is the neuron ``z[o, y, x] = Σ_{c,i,j} W[o, c, i, j] · a[c, sy + i, sx + j]
+ b[o]`` (a cross-correlation, as every library computes it), with stride s and zero padding.

Written as the dense layer it is, over patches: :func:`im2col` lays every kh × kw window of the
(padded) input out as a column of ``cols`` (``(m, C·kh·kw, H_out·W_out)``); with ``W_col`` the
filters as rows (``(out_channels, C·kh·kw)``)::

    z = W_col @ cols + b                                   (one product: every position at once)
    δ = ∂C/∂a ⊙ g'(z)                                      (as in the dense layer)
    ∂C/∂W = δ · colsᵀ,  ∂C/∂b = Σ_positions δ              (mean over the batch)
    ∂C/∂a_prev = col2im(W_colᵀ δ)

The last line is the lecture's ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` for a convolution: ``W_colᵀ δ`` gives what each
input window receives, and :func:`col2im` adds the windows back where they overlap. Written out,
that sum is the *full* correlation of δ (padded by k − 1) with the kernel flipped in both
directions: the transpose of a correlation is a correlation with the flipped kernel.

The helpers use only strided slices, ``stack`` and ``reshape`` (the array API), so the layer
runs on NumPy, PyTorch and ``array_api_strict`` alike.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from ..activations import Activation, get_activation
from ..initializers import get_initializer
from ..validation import check_positive_int
from ..xp import namespace
from .base import Layer

Array = object


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """``(value, value)`` for an int, or a checked pair ``(height, width)``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ConfigError(f"{name} must be an integer or a pair (height, width), got {value!r}")
    return tuple(check_positive_int(v, name, minimum) for v in values)


def output_size(in_hw, kernel, stride, pads) -> tuple[int, int]:
    """``H_out = ⌊(H + pad_top + pad_bottom − kh) / sh⌋ + 1``, and the same for the width."""
    (H, W), (kh, kw), (sh, sw), (top, bottom, left, right) = in_hw, kernel, stride, pads
    return (H + top + bottom - kh) // sh + 1, (W + left + right - kw) // sw + 1


def _zeros(like: Array, shape: tuple) -> Array:
    from array_api_compat import device

    return namespace(like).zeros(shape, dtype=like.dtype, device=device(like))


def pad(A: Array, pads: tuple[int, int, int, int]) -> Array:
    """``A`` (m, C, H, W) with zeros around its height and width: ``(top, bottom, left, right)``."""
    top, bottom, left, right = pads
    if not any(pads):
        return A
    m, C, H, W = A.shape
    P = _zeros(A, (m, C, top + H + bottom, left + W + right))
    P[:, :, top:top + H, left:left + W] = A
    return P


def unpad(P: Array, pads: tuple[int, int, int, int]) -> Array:
    """The inverse of :func:`pad`: the inner part of ``P``."""
    top, bottom, left, right = pads
    return P[:, :, top:P.shape[2] - bottom, left:P.shape[3] - right]


def windows(A: Array, kernel, stride, out_hw) -> Array:
    """Every kh × kw window of ``A`` (m, C, H, W): ``(m, C, kh·kw, H_out, W_out)``.

    Entry ``[n, c, i·kw + j, y, x]`` is ``A[n, c, sy·y + i, sx·x + j]``: one strided slice of A
    per kernel offset (i, j), stacked.
    """
    (kh, kw), (sh, sw), (Ho, Wo) = kernel, stride, out_hw
    return namespace(A).stack(
        [A[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]
         for i in range(kh) for j in range(kw)], axis=2)


def add_windows(D: Array, in_shape, kernel, stride) -> Array:
    """The transpose of :func:`windows`: an ``(m, C, H, W)`` array to which every window's
    ``D[:, :, i·kw + j]`` is added at the place it was read from (overlaps add up)."""
    (kh, kw), (sh, sw) = kernel, stride
    m, C, _, Ho, Wo = D.shape
    out = _zeros(D, (m, C, *in_shape))
    for i in range(kh):
        for j in range(kw):
            rows, columns = slice(i, i + sh * (Ho - 1) + 1, sh), slice(j, j + sw * (Wo - 1) + 1, sw)
            out[:, :, rows, columns] = out[:, :, rows, columns] + D[:, :, i * kw + j, ...]
    return out


def im2col(A: Array, kernel, stride, out_hw) -> Array:
    """The windows of ``A`` (m, C, H, W) as columns: ``(m, C·kh·kw, H_out·W_out)``, the rows in
    the order of ``W.reshape(out_channels, -1)``'s columns (c, then i, then j)."""
    m, C = A.shape[:2]
    rows = C * kernel[0] * kernel[1]
    return namespace(A).reshape(windows(A, kernel, stride, out_hw), (m, rows, -1))


def col2im(cols: Array, in_shape, kernel, stride, out_hw) -> Array:
    """The transpose of :func:`im2col`: columns back into an ``(m, C, H, W)`` array, adding
    where windows overlap."""
    m, C = cols.shape[0], cols.shape[1] // (kernel[0] * kernel[1])
    D = namespace(cols).reshape(cols, (m, C, kernel[0] * kernel[1], *out_hw))
    return add_windows(D, in_shape, kernel, stride)


def _padding(padding, kernel, stride) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` for "valid", "same", an int or an (h, w) pair."""
    if isinstance(padding, str):
        key = padding.lower()
        if key == "valid":
            return (0, 0, 0, 0)
        if key == "same":
            if stride != (1, 1):
                raise ConfigError(f"padding='same' needs stride 1 (as in PyTorch), got stride "
                                  f"{stride}; give the padding as a number instead")
            # the output keeps the input's size; an even kernel pads one more at the end
            (kh, kw) = kernel
            return ((kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2)
        raise ConfigError(f"padding must be 'valid', 'same', an integer or a pair, got {padding!r}")
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


class Conv2D(Layer):
    """A convolutional layer: ``a = g(W ⋆ a_prev + b)`` on ``(m, C, H, W)`` feature maps.

    Parameters
    ----------
    in_channels : int or None
        Channels of the input maps. ``None`` takes them from the layer below when the network
        is built (``Network.from_layers``).
    out_channels : int
        Filters, hence output channels.
    kernel_size : int or (kh, kw)
    activation : str or Activation
        The layer's g (default ``"relu"``).
    stride : int or (sh, sw)
    padding : "valid", "same", int or (ph, pw)
        Zeros around the input: "valid" none; "same" keeps the size (stride 1 only; an even
        kernel pads one more at the bottom and right, as PyTorch does); an int pads each side.
    init : str or callable
        Initializer name (:mod:`mlplab.core.initializers`), called with fan-in
        ``C·kh·kw`` and fan-out ``out_channels``; default ``"he_normal"`` (for ReLU).
    rng : numpy.random.Generator, optional
    dtype : float32 or float64

    Attributes
    ----------
    W : (out_channels, in_channels, kh, kw) array
    b : (out_channels,) array
    A_prev, Z, A : the last forward's input a⁽ˡ⁻¹⁾, z⁽ˡ⁾ and a⁽ˡ⁾
    cols : (m, C·kh·kw, H_out·W_out) array, the last forward's windows
    delta : (m, out_channels, H_out, W_out) array, δ⁽ˡ⁾ of the last ``backward``
    dW, db : ∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾ of the mean cost

    Examples
    --------
    >>> layer = Conv2D(1, 8, 3, "relu", padding="same")
    >>> layer.build((1, 8, 8))
    (8, 8, 8)
    >>> layer.W.shape
    (8, 1, 3, 3)
    """

    param_names = ("W", "b")

    def __init__(self, in_channels: int | None, out_channels: int, kernel_size,
                 activation: str | Activation = "relu", stride=1, padding=0,
                 init="he_normal", rng: np.random.Generator | None = None, dtype=np.float64):
        self.g: Activation = get_activation(activation)
        if self.g.name == "softmax":
            raise ConfigError("Conv2D's activation cannot be softmax: it belongs on the Dense "
                              "output layer")
        self.out_channels = check_positive_int(out_channels, "Conv2D out_channels")
        self.kernel = pair(kernel_size, "Conv2D kernel_size")
        self.stride = pair(stride, "Conv2D stride")
        self.padding = padding
        self.pads = _padding(padding, self.kernel, self.stride)
        self.in_channels = None if in_channels is None else check_positive_int(
            in_channels, "Conv2D in_channels")
        self.init, self._init_rng, self.dtype = init, rng, np.dtype(dtype)
        get_initializer(init)  # an unknown name fails here, not at build
        self.W = self.b = self.dW = self.db = None
        self.A_prev = self.Z = self.A = self.delta = self.cols = None

    def build(self, in_shape: tuple) -> tuple:
        in_shape = tuple(in_shape)
        if len(in_shape) != 3 or (self.in_channels is not None
                                  and in_shape[0] != self.in_channels):
            want = f"({self.in_channels or 'C'}, H, W)"
            raise ConfigError(f"{self!r} takes feature maps of shape {want} but receives "
                              f"samples of shape {in_shape} from the layer below; use "
                              f"Input((C, H, W)) or in_channels={in_shape[0]}"
                              if len(in_shape) == 3 else
                              f"{self!r} takes feature maps of shape {want} but receives "
                              f"samples of shape {in_shape}; give images as (m, C, H, W)")
        Ho, Wo = output_size(in_shape[1:], self.kernel, self.stride, self.pads)
        if Ho < 1 or Wo < 1:
            raise ConfigError(f"{self!r} does not fit into maps of shape {in_shape}: its "
                              f"{self.kernel[0]}×{self.kernel[1]} kernel needs at least that "
                              "size after padding; use a smaller kernel or more padding")
        self.in_channels, self.in_shape = in_shape[0], in_shape
        self.out_shape = (self.out_channels, Ho, Wo)
        if self.W is None:  # W and b drawn once, when the input channels are known
            rng = self._init_rng if self._init_rng is not None else np.random.default_rng()
            fan_in = in_shape[0] * self.kernel[0] * self.kernel[1]
            W, b = get_initializer(self.init)(fan_in, self.out_channels, rng)
            self._init_rng = None
            self.W = np.asarray(W, self.dtype).reshape(self.out_channels, in_shape[0], *self.kernel)
            self.b = np.asarray(b, self.dtype)
            self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        return self.out_shape

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        xp = namespace(A_prev)
        m = A_prev.shape[0]
        self.A_prev = A_prev
        self.cols = im2col(pad(A_prev, self.pads), self.kernel, self.stride, self.out_shape[1:])
        W_col = xp.reshape(self.W, (self.out_channels, -1))  # one filter per row
        Z = W_col @ self.cols + xp.reshape(self.b, (-1, 1))  # z⁽ˡ⁾ = W⁽ˡ⁾ ⋆ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        self.Z = xp.reshape(Z, (m, *self.out_shape))
        self.A = self.g(self.Z)  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        """``dA = ∂C/∂a⁽ˡ⁾`` from the layer above; returns ``∂C/∂a⁽ˡ⁻¹⁾``."""
        xp = namespace(dA)
        self.check_differentiable()
        m = dA.shape[0]
        delta = dA * self.g.g_prime(self.Z)  # δ⁽ˡ⁾ = ∂C/∂a⁽ˡ⁾ ⊙ g'(z⁽ˡ⁾)
        self.delta = delta
        delta_col = xp.reshape(delta, (m, self.out_channels, -1))  # (m, out, H_out·W_out)
        # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾ colsᵀ and ∂C/∂b⁽ˡ⁾ = Σ_positions δ⁽ˡ⁾, each the mean over the batch
        self.dW = xp.reshape(xp.sum(delta_col @ xp.matrix_transpose(self.cols), axis=0) / m,
                             self.W.shape)
        self.db = xp.sum(delta, axis=(0, 2, 3)) / m
        if not need_dA_prev:
            return None
        W_col = xp.reshape(self.W, (self.out_channels, -1))
        # (W⁽ˡ⁾)ᵀδ⁽ˡ⁾: each window's share, added back where windows overlap (the full
        # correlation of δ with the flipped kernel)
        padded = (self.in_shape[1] + self.pads[0] + self.pads[1],
                  self.in_shape[2] + self.pads[2] + self.pads[3])
        dP = col2im(xp.matrix_transpose(W_col) @ delta_col, padded, self.kernel, self.stride,
                    self.out_shape[1:])
        return unpad(dP, self.pads)

    def check_differentiable(self) -> None:
        if not self.g.differentiable:
            raise ConfigError(f"cannot backpropagate through a {self.g.name!r} activation: its "
                              "derivative is 0 everywhere; use relu, tanh or sigmoid")

    def clear(self) -> None:
        super().clear()
        self.cols = None

    def __repr__(self) -> str:
        options = "" if self.stride == (1, 1) else f", stride={_short(self.stride)}"
        if any(self.pads):
            options += f", padding={self.padding!r}"
        return (f"Conv2D({self.in_channels if self.in_channels is not None else '?'} → "
                f"{self.out_channels}, {_short(self.kernel)}, {self.g.name}{options})")


def _short(p: tuple[int, int]):
    """``3`` for (3, 3), else the pair: how the user would write it."""
    return p[0] if p[0] == p[1] else p
