"""The stages of :class:`~mlplab.accel.conv.ConvStep`: each layer's forward and backward on
NumPy arrays reused batch after batch, computing what the core's layer computes.

Inside the step, feature maps are kept channel-first, ``(C, m, H, W)`` ("CNHW") instead of the
core's ``(m, C, H, W)``: then a convolution's output ``W_col @ cols`` *is* the next layer's
input, with no transposition, and every window of
:func:`~mlplab.accel.conv_kernels.im2col_into` is one strided copy.
The data's ``(m, C, H, W)`` batch is read through a transposed view; :class:`FlattenStage`
turns maps back into the rows ``(m, C·H·W)`` (in the core's order) that the dense layers take.

- :class:`ConvStage`: the windows laid out once into a reused ``cols`` whose last row is ones,
  the filters and the bias side by side in ``W_aug = [W_col | b]``, so that
  ``z = W_aug @ cols`` is one BLAS product with the bias in it, and ``∂C/∂W`` and ``∂C/∂b``
  come out of one product ``δ · colsᵀ`` too; ``W_colᵀ δ`` is written over ``cols`` (no
  longer needed) and added back into maps (:func:`~mlplab.accel.conv_kernels.col2im_into`);
- :class:`PoolStage`: max pooling keeps the argmax of every window (which of the ``kh·kw``
  places won, first on ties as the core); after a ReLU convolution it takes the convolution's
  ``z`` and pools ``relu(max z) = max relu(z)``, and its backward hands the convolution
  ``δ = ∂C/∂a ⊙ [max > 0]`` at the argmax, 0 elsewhere, which is the core's
  ``∂C/∂a ⊙ relu'(z)`` (a window whose maximum is ≤ 0 has relu' = 0 wherever its gradient
  would go);
- :class:`FlattenStage`, :class:`DenseStage`: maps to rows, and the dense layers above;
- :class:`CoreStage`: batch norm and dropout, computed by the core's own layer on the
  ``(m, C, H, W)`` view of the maps (the same masks, the same statistics).

The windows and the pooling are :mod:`mlplab.accel.conv_kernels`'.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import Conv2D, MaxPool2D
from . import conv_kernels, products
from .dense_predict import _g_into
from .fused import Elementwise

_delta_into = Elementwise().delta_g  # δ = dA ⊙ g'(z) into a given array, NumPy's passes

Array = np.ndarray


class Stage:
    """Work arrays per batch size (the full batches and the last, shorter one); ``lib``: the
    BLAS of the products (:func:`mlplab.accel.products.for_fit`; None: NumPy's); ``parallel``:
    the compiled passes on numba's threads; ``split``: the products with a long inner dimension
    (:class:`mlplab.accel.products.InnerSplit`; :class:`mlplab.accel.conv.ConvStep` decides)."""

    lib = None
    parallel = False
    split = products.InnerSplit(None, 1)  # plain products; the step sets its own

    def __init__(self, layer):
        self.layer = layer
        self._work: dict[int, dict[str, Array]] = {}

    def work(self, m: int, dtype) -> dict[str, Array]:
        w = self._work.get(m)
        if w is None or w["dtype"] != dtype:
            if len(self._work) >= 2:
                self._work.pop(next(iter(self._work)))
            w = self._work[m] = {"dtype": dtype, **self.allocate(m, np.dtype(dtype))}
        return w

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        return {}

    def clear(self) -> None:
        self._work.clear()


class ConvStage(Stage):
    """A :class:`~mlplab.core.layers.Conv2D` on ``(C, m, H, W)`` maps (see the module docstring).

    ``pooled_relu``: a max pooling after it takes ``z`` and applies the ReLU itself, and its
    backward gives this stage ``δ`` directly.
    """

    def __init__(self, layer: Conv2D, pooled_relu: bool = False):
        super().__init__(layer)
        self.pooled_relu = pooled_relu
        C, self.H, self.W = layer.in_shape
        self.O, self.Ho, self.Wo = layer.out_shape
        self.K = C * layer.kernel[0] * layer.kernel[1]
        self.W_aug = self.dW_aug = None

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        layer, (top, bottom, left, right) = self.layer, self.layer.pads
        C = layer.in_channels
        N = m * self.Ho * self.Wo
        w = {"cols": np.empty((self.K + 1, N), dtype), "Z": np.empty((self.O, N), dtype),
             "delta": np.empty((self.O, N), dtype),
             "P": np.zeros((C, m, self.H + top + bottom, self.W + left + right), dtype)}
        w["dP"] = np.empty_like(w["P"])  # not P itself: P's zero border must stay zero
        w["cols"][self.K] = 1  # the bias row: z = [W_col | b] @ [cols; 1]
        if not self.pooled_relu:
            w["A"] = np.empty((self.O, N), dtype)
        return w

    def interior(self, m: int, dtype) -> Array:
        """Where this layer's input goes inside its zero-bordered ``P`` (a pooling before it
        writes there directly: :func:`link`)."""
        top, _, left, _ = self.layer.pads
        return self.work(m, dtype)["P"][:, :, top:top + self.H, left:left + self.W]

    def forward(self, a: Array, training: bool) -> Array:
        layer, m = self.layer, a.shape[1]
        w = self.work(m, layer.W.dtype)
        if any(layer.pads):  # a batch's interior into the zero-bordered array, unless the
            if not np.may_share_memory(a, w["P"]):  # pooling before wrote it there
                self.interior(m, layer.W.dtype)[...] = a
            a = w["P"]
        cols = w["cols"][:self.K].reshape(self.K, m, self.Ho, self.Wo)
        conv_kernels.im2col_into(cols, a, layer.kernel, layer.stride, self.parallel)
        with_bias(self)
        Z = products.matmul(self.W_aug, w["cols"], w["Z"], self.lib)  # z⁽ˡ⁾ = W⁽ˡ⁾ ⋆ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        layer.Z = _nchw(Z, m, self.Ho, self.Wo)  # views in the core's layout, for the guard
        self.m = m
        if self.pooled_relu:
            layer.A = None
            return Z.reshape(self.O, m, self.Ho, self.Wo)
        A = _g_into(layer, Z, w["A"])  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        layer.A = _nchw(A, m, self.Ho, self.Wo)
        return A.reshape(self.O, m, self.Ho, self.Wo)

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        """``dA`` is ``∂C/∂a⁽ˡ⁾`` (or ``δ⁽ˡ⁾`` itself, from a pooling that took the ReLU);
        returns ``∂C/∂a⁽ˡ⁻¹⁾`` as ``(C, m, H, W)`` maps, a view of a reused array."""
        layer, m = self.layer, self.m
        w = self.work(m, layer.W.dtype)
        if not dA.flags.c_contiguous:  # the flatten's gradient seen as maps: into a reused array
            np.copyto(w["delta"].reshape(dA.shape), dA)
            dA = w["delta"]
        dA = dA.reshape(self.O, -1)
        if self.pooled_relu:
            delta = dA
        else:  # δ⁽ˡ⁾ = ∂C/∂a⁽ˡ⁾ ⊙ g'(z⁽ˡ⁾)
            layer.check_differentiable()
            delta = _delta_into(_flat_layer(layer, w), dA, w["delta"])
        # [∂C/∂W | ∂C/∂b] = δ⁽ˡ⁾ [cols; 1]ᵀ, the mean over the batch
        if self.dW_aug is None or self.dW_aug.dtype != self.W_aug.dtype:
            self.dW_aug = np.empty_like(self.W_aug)
        self.split(delta, w["cols"].T, self.dW_aug)
        give_gradients(self, self.dW_aug, m)
        if not need_dA_prev:
            return None
        W_col = self.W_aug[:, :self.K]
        dcols = products.matmul(W_col.T, delta, w["cols"][:self.K], self.lib)  # W_colᵀ δ
        dP = w["dP"]
        conv_kernels.col2im_into(dP, dcols.reshape(self.K, m, self.Ho, self.Wo), layer.kernel,
                                 layer.stride, self.parallel)
        top, _, left, _ = layer.pads
        return dP[:, :, top:top + self.H, left:left + self.W]


def with_bias(stage) -> Array:
    """The stage's ``W_aug = [W_col | b]`` (made once per dtype), holding the layer's weights as
    they are now: a callback or a restore may have changed them since the last step."""
    layer = stage.layer
    if stage.W_aug is None or stage.W_aug.dtype != layer.W.dtype:
        stage.W_aug = np.empty((stage.O, stage.K + 1), layer.W.dtype)
    stage.W_aug[:, :stage.K] = layer.W.reshape(stage.O, stage.K)
    stage.W_aug[:, stage.K] = layer.b
    return stage.W_aug


def give_gradients(stage, dW_aug: Array, m: int) -> None:
    """The convolution's ``∂C/∂W`` and ``∂C/∂b`` from ``[Σ δ colsᵀ | Σ δ]`` as means over the
    batch, into contiguous arrays kept from step to step (the same arrays every step: the
    compiled update's table of them stays as it is)."""
    layer, K = stage.layer, dW_aug.shape[1] - 1
    grads = getattr(stage, "_grads", None)
    if grads is None or grads[0].dtype != dW_aug.dtype:
        grads = stage._grads = (np.empty(layer.W.shape, dW_aug.dtype),
                                np.empty(dW_aug.shape[0], dW_aug.dtype))
    mean = dW_aug.dtype.type(1 / m)
    np.multiply(dW_aug[:, :K], mean, out=grads[0].reshape(-1, K))
    np.multiply(dW_aug[:, K], mean, out=grads[1])
    layer.dW, layer.db = grads


def _nchw(flat: Array, m: int, H: int, W: int) -> Array:
    """A ``(C, m·H·W)`` array seen as ``(m, C, H, W)`` (a view)."""
    return flat.reshape(-1, m, H, W).transpose(1, 0, 2, 3)


class _FlatView:
    """The attributes :meth:`mlplab.accel.fused.Elementwise.delta_g` reads, as flat arrays."""

    def __init__(self, layer, Z, A):
        self.g, self.Z, self.A = layer.g, Z, A
        self.check_differentiable = layer.check_differentiable


def _flat_layer(layer, w) -> _FlatView:
    return _FlatView(layer, w["Z"], w["A"])


class PoolStage(Stage):
    """Max or average pooling on ``(C, m, H, W)`` maps; ``relu``: takes a ReLU's ``z``."""

    def __init__(self, layer, relu: bool = False):
        super().__init__(layer)
        self.relu, self.is_max = relu, isinstance(layer, MaxPool2D)
        self.C, self.H, self.W = layer.in_shape
        _, self.Ho, self.Wo = layer.out_shape

    into = None  # (m, dtype) -> where the next stage wants this output (link), or None

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        w = {"dA_prev": np.empty((self.C, m, self.H, self.W), dtype)}
        if self.into is None:
            w["out"] = np.empty((self.C, m, self.Ho, self.Wo), dtype)
        if self.is_max:
            w["argmax"] = np.empty((self.C, m, self.Ho, self.Wo), np.uint8)
        return w

    def forward(self, a: Array, training: bool) -> Array:
        layer, m = self.layer, a.shape[1]
        w = self.work(m, a.dtype)
        self.m = m
        out = self.out = w["out"] if self.into is None else self.into(m, a.dtype)
        if self.is_max:
            conv_kernels.max_pool(a, out, w["argmax"], layer.kernel, layer.stride, self.relu,
                                  self.parallel)
        else:
            conv_kernels.avg_pool(a, out, layer.kernel, layer.stride)
        layer.A = out.transpose(1, 0, 2, 3)
        return out

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        layer, w = self.layer, self.work(self.m, dA.dtype)
        if self.is_max:  # ∂C/∂a at each window's argmax (⊙ relu' when it took the ReLU)
            conv_kernels.max_pool_backward(dA, w["argmax"], self.out, w["dA_prev"],
                                           layer.kernel, layer.stride, self.relu, self.parallel)
        else:
            conv_kernels.avg_pool_backward(dA, w["dA_prev"], layer.kernel, layer.stride)
        return w["dA_prev"]


class FlattenStage(Stage):
    """``(C, m, H, W)`` maps to the rows ``(m, C·H·W)`` of the core's order, and back (the
    gradient's rows seen as maps: a view)."""

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        C, H, W = self.layer.in_shape
        return {"rows": np.empty((m, C * H * W), dtype)}

    def maps(self, m: int, dtype) -> Array:
        """The rows seen as ``(C, m, H, W)`` maps (a pooling before it writes there:
        :func:`link`)."""
        return self.work(m, dtype)["rows"].reshape(m, *self.layer.in_shape).transpose(1, 0, 2, 3)

    def forward(self, a: Array, training: bool) -> Array:
        w = self.work(a.shape[1], a.dtype)
        self.m = a.shape[1]
        if not np.may_share_memory(a, w["rows"]):  # unless the pooling before wrote them
            np.copyto(self.maps(self.m, a.dtype), a)
        self.layer.A = w["rows"]
        return w["rows"]

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        return dA.reshape(self.m, *self.layer.in_shape).transpose(1, 0, 2, 3)


class DenseStage(Stage):
    """A :class:`~mlplab.core.layers.Dense` on rows, as the core computes it, into reused
    arrays (the output layer's δ⁽ᴸ⁾ comes from the step: :meth:`backward_delta`)."""

    def allocate(self, m: int, dtype) -> dict[str, Array]:
        layer = self.layer
        shape = (m, layer.n_out)
        return {"Z": np.empty(shape, dtype), "A": np.empty(shape, dtype),
                "delta": np.empty(shape, dtype), "dA_prev": np.empty((m, layer.n_in), dtype),
                "dW": np.empty_like(layer.W), "db": np.empty_like(layer.b)}

    def forward(self, a: Array, training: bool, last: bool = False) -> Array:
        layer = self.layer
        w = self.work(len(a), layer.W.dtype)
        layer.A_prev = a
        Z = layer.Z = products.matmul(a, layer.W.T, w["Z"], self.lib)
        Z += layer.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        if last:  # the step computes the output and the cost together
            return Z
        layer.A = _g_into(layer, Z, w["A"])  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        return layer.A

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        layer = self.layer
        w = self.work(len(dA), layer.W.dtype)
        return self.backward_delta(_delta_into(layer, dA, w["delta"]), need_dA_prev)

    def backward_delta(self, delta: Array, need_dA_prev: bool) -> Array | None:
        layer = self.layer
        w = self.work(len(delta), layer.W.dtype)
        layer.delta, m = delta, len(delta)
        # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, mean over rows
        products.matmul(delta.T, layer.A_prev, w["dW"], self.lib)
        w["dW"] *= w["dW"].dtype.type(1 / m)
        np.sum(delta, axis=0, out=w["db"])  # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, mean over rows
        w["db"] *= w["db"].dtype.type(1 / m)
        layer.dW, layer.db = w["dW"], w["db"]
        return products.matmul(delta, layer.W, w["dA_prev"], self.lib) if need_dA_prev \
            else None  # (W⁽ˡ⁾)ᵀδ⁽ˡ⁾


class CoreStage(Stage):
    """A layer that keeps the shape (:class:`~mlplab.core.layers.BatchNorm`,
    :class:`~mlplab.core.layers.Dropout`), computed by the core's own code on the
    ``(m, C, H, W)`` view of ``(C, m, H, W)`` maps (rows pass as they are)."""

    def forward(self, a: Array, training: bool) -> Array:
        if a.ndim == 2:
            return self.layer.forward(a, training)
        return self.layer.forward(a.transpose(1, 0, 2, 3), training).transpose(1, 0, 2, 3)

    def backward(self, dA: Array, need_dA_prev: bool) -> Array | None:
        if dA.ndim == 2:
            return self.layer.backward(dA, need_dA_prev)
        dA_prev = self.layer.backward(dA.transpose(1, 0, 2, 3), need_dA_prev)
        return None if dA_prev is None else dA_prev.transpose(1, 0, 2, 3)


def link(stages: list) -> None:
    """A pooling (or a stage ending in one: ``into``) followed by a padded convolution (a stage
    with an ``interior``) or a flatten writes its output where that stage reads it (the inside
    of the zero-bordered maps, the rows): no copy of the maps. Links made before are undone."""
    for stage in stages:
        if hasattr(stage, "into"):
            stage.into = None
            stage.clear()  # arrays allocated for the output it no longer keeps
    for stage, after in zip(stages, stages[1:]):
        if hasattr(stage, "into"):
            if hasattr(after, "interior") and any(after.layer.pads):
                stage.into = after.interior
            elif isinstance(after, FlattenStage):
                stage.into = after.maps
