"""A ReLU convolution and the 2 × 2 max pooling after it, a few images at a time.

:class:`~mlplab.accel.conv_stages.ConvStage` and :class:`~mlplab.accel.conv_stages.PoolStage`
compute a layer for the whole batch at once: the windows of 128 CIFAR images are a 38 MB array,
written by im2col, read by the product, and ``z`` another 8 MB, each pass going to memory and
back. :class:`ConvPoolStage` computes the same two layers (stride 1, any padding) a few images
at a time on each of the step's threads (:mod:`mlplab.accel._mklkernels`: numba's threads,
MKL's ``gemm`` on one thread each), so that a block's windows and ``z`` stay in the core's
cache, and nothing of the batch's size but the pooled output and the argmax is kept:

- forward, per block: the windows into the thread's ``cols`` (a row of ones for the bias),
  ``z = [W_col | b] @ [cols; 1]``, the pooled ``relu(max z)`` and its argmax;
- backward, per block: ``δ = ∂C/∂out`` at the argmax where the maximum was > 0 (the core's
  ``∂C/∂a ⊙ relu'(z)``), the windows again (cheaper than keeping them), ``[∂C/∂W | ∂C/∂b]``
  summed per thread then over threads, ``∂C/∂a⁽ˡ⁻¹⁾`` = the columns ``W_colᵀ δ`` added back.

The same numbers as the two stages up to the order of the sums (tests/test_conv_blocks.py; the
fits against the core's layers in tests/test_accel_conv.py).
On this project's 2-vCPU machine the course's CNN's two convolution blocks took 25.8 ms a step
(forward and backward) in blocks of 4 images, against ~31 ms for the batch at once.

``layer.Z`` is never made for the batch: it stays None, or where a block's z held an infinity
or a NaN (or values whose sum overflows) a one-element array of it, so that the divergence
guard still names the layer.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import Conv2D, MaxPool2D
from . import products
from .conv_stages import ConvStage, PoolStage, Stage, give_gradients, with_bias

Array = np.ndarray
CACHE_BYTES = 1 << 20  # a block's windows and z: about half a core's L2 cache


def fits(conv: Stage, pool: Stage) -> bool:
    """True for a ReLU convolution of stride 1 whose ReLU its 2 × 2, stride-2 max pooling takes
    (the pair :func:`mlplab.accel.conv.stages_for` fuses), in float32 or float64."""
    layer = getattr(conv, "layer", None)
    return (isinstance(conv, ConvStage) and conv.pooled_relu and isinstance(pool, PoolStage)
            and isinstance(layer, Conv2D) and layer.stride == (1, 1)
            and isinstance(pool.layer, MaxPool2D) and pool.layer.kernel == (2, 2)
            and pool.layer.stride == (2, 2) and np.dtype(layer.W.dtype) in (np.float32, np.float64))


def fuse(stages: list, threads: int) -> list:
    """``stages`` with every pair that :func:`fits` as one :class:`ConvPoolStage` on
    ``threads`` threads (the list as it is where the kernels cannot load)."""
    if products.mkl_kernels() is None:
        return stages
    out, i = [], 0
    while i < len(stages):
        if i + 1 < len(stages) and fits(stages[i], stages[i + 1]):
            out.append(ConvPoolStage(stages[i], stages[i + 1], threads))
            i += 2
        else:
            out.append(stages[i])
            i += 1
    return out


class ConvPoolStage(Stage):
    """A convolution and its max pooling computed together (see the module docstring); maps
    ``(C, m, H, W)`` as every stage."""

    into = None  # where the next stage wants the pooled output (conv_stages.link), or None

    def __init__(self, conv: ConvStage, pool: PoolStage, threads: int):
        super().__init__(conv.layer)
        self.pool_layer, self.threads = pool.layer, max(1, threads)
        self.C, self.H, self.W = conv.layer.in_shape
        self.O, self.Ho, self.Wo = conv.layer.out_shape
        self.K = conv.K
        self.pads = conv.layer.pads
        self.kernels = products.mkl_kernels()
        self.W_aug = self.dW_aug = None

    # the same zero-bordered input as a ConvStage (a pooling before it writes there)
    interior = ConvStage.interior

    def chunk(self, itemsize: int) -> int:
        """Images per block: the block's windows and z within :data:`CACHE_BYTES`."""
        per_image = (self.K + 1 + self.O) * self.Ho * self.Wo * itemsize
        return max(1, CACHE_BYTES // per_image)

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        top, bottom, left, right = self.pads
        C, T, Hh, Wh = self.C, self.threads, self.Ho // 2, self.Wo // 2
        n = min(self.chunk(dtype.itemsize), -(-m // T)) * self.Ho * self.Wo
        w = {"P": np.zeros((C, m, self.H + top + bottom, self.W + left + right), dtype),
             "cols": np.empty((T, (self.K + 1) * n), dtype),
             "Z": np.empty((T, self.O * n), dtype), "flags": np.zeros(T, np.int64),
             "parts": np.empty((T, self.K + 1, self.O), dtype),
             "argmax": np.empty((self.O, m, Hh, Wh), np.uint8)}
        if self.into is None:
            w["out"] = np.empty((self.O, m, Hh, Wh), dtype)
        return w

    def forward(self, a: Array, training: bool) -> Array:
        layer, m, dtype = self.layer, a.shape[1], self.layer.W.dtype
        w = self.work(m, dtype)
        fill = not np.may_share_memory(a, w["P"])  # unless the stage before wrote it there
        with_bias(self)
        out = self.out = w["out"] if self.into is None else self.into(m, dtype)
        kh, kw = layer.kernel
        top, _, left, _ = self.pads
        self.kernels.conv_pool_forward(
            dtype == np.float32, a if fill else w["P"], fill, top, left, w["P"], self.W_aug, out,
            w["argmax"], w["cols"], w["Z"], w["flags"], self.chunk(w["P"].itemsize), kh, kw)
        self.m = m
        bad = int(w["flags"].max())  # z⁽ˡ⁾ held an infinity or a NaN: what the guard looks at
        layer.Z = np.array([np.inf if bad == 1 else np.nan], dtype) if bad else None
        layer.A = None
        self.pool_layer.A = out.transpose(1, 0, 2, 3)
        return out

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        layer, m = self.layer, self.m
        w = self.work(m, layer.W.dtype)
        if need_dA_prev and "dP" not in w:  # not P itself: P's zero border must stay zero
            w["dP"] = np.empty_like(w["P"])
        kh, kw = layer.kernel
        self.kernels.conv_pool_backward(
            layer.W.dtype == np.float32, w["P"], self.W_aug, dA, self.out, w["argmax"],
            w["cols"], w["Z"], w["parts"], w["dP"] if need_dA_prev else w["P"], need_dA_prev,
            self.chunk(w["P"].itemsize), kh, kw)  # (P stands in for dP, unwritten, without it)
        if self.dW_aug is None or self.dW_aug.dtype != self.W_aug.dtype:
            self.dW_aug = np.empty_like(self.W_aug.T)
        np.sum(w["parts"], axis=0, out=self.dW_aug)  # the threads' shares, summed
        give_gradients(self, self.dW_aug.T, m)  # [∂C/∂W | ∂C/∂b], means over the batch
        if not need_dA_prev:
            return None
        top, _, left, _ = self.pads
        return w["dP"][:, :, top:top + self.H, left:left + self.W]

    def clear(self) -> None:
        super().clear()
        self.pool_layer.clear()
