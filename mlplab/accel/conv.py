"""Convolutional networks on NumPy: the core's training step and inference, fast.

:class:`ConvStep` computes what :class:`mlplab.core.step.Step` computes for a network of
:class:`~mlplab.core.layers.Conv2D`, :class:`~mlplab.core.layers.MaxPool2D`,
:class:`~mlplab.core.layers.AvgPool2D`, :class:`~mlplab.core.layers.Flatten` and
:class:`~mlplab.core.layers.Dense` layers, with :class:`~mlplab.core.layers.BatchNorm` and
:class:`~mlplab.core.layers.Dropout` between them (computed by the core's own code), on NumPy
arrays (tests/test_accel_conv.py compares the two). What changes
(:mod:`mlplab.accel.conv_stages` has the details):

- feature maps are kept channel-first, ``(C, m, H, W)``, so that a convolution's product is
  the next layer's input as it stands;
- each convolution lays its windows into one reused ``cols`` array with a row of ones, so that
  one BLAS product gives ``z`` with the bias in it, and one gives ``∂C/∂W`` with ``∂C/∂b``;
- a ReLU convolution followed by max pooling is pooled straight from ``z`` (the ReLU of the
  maximum), and max pooling keeps each window's argmax for the backward pass;
- where MKL and numba share TBB's threads, a ReLU convolution and its 2 × 2 max pooling run a
  few images at a time on each thread (:mod:`mlplab.accel.conv_blocks`), and another
  convolution's ``∂C/∂W`` (a small result summed over every window of the batch) is made in
  blocks of windows on those threads (:class:`mlplab.accel.products.InnerSplit`);
- every array of the step (windows, ``z``, ``δ``, the minibatch itself) is allocated once per
  batch size and reused: an epoch allocates nothing in proportion to the data set;
- the update rules run in place (:mod:`mlplab.accel.updates`), one compiled pass with numba;
- a small network's step (under ``SMALL_STEP_FLOP``; the digits CNN's is 0.016 GFLOP at batch
  32) runs with one BLAS thread: its products are too small to share, and a second thread that
  waits for work costs the step many times over on busy cores (3 epochs of the digits CNN:
  7–10 s with two BLAS threads, 0.3 s with one, on this project's shared 2-core machine).

:func:`predict` runs the same forward pass over blocks of rows.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..core.layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from ..core.step import Step
from ..core.validation import check_finite
from . import conv_blocks, fused, products
from .conv_stages import ConvStage, CoreStage, DenseStage, FlattenStage, PoolStage, link
from .dense_predict import _g_into
from .kernels import softmax_cce_into
from .products import numba_threads, shared_pool_threads
from .updates import CompiledUpdates, InPlaceUpdates

Array = np.ndarray
BLOCK_ROWS = 256  # inference runs in blocks of images
SMALL_STEP_FLOP = 1e8  # a step of fewer floating-point operations uses one BLAS thread


def step_flop(stages: list, m: int) -> float:
    """The floating-point operations of the products of one step on ``m`` images (forward,
    weight gradient and input gradient: three products per layer)."""
    flop = 0.0
    for stage in stages:
        layer = stage.layer
        if isinstance(layer, Conv2D):
            flop += 6 * layer.out_channels * (stage.K + 1) * m * stage.Ho * stage.Wo
        elif isinstance(layer, Dense):
            flop += 6 * layer.n_in * layer.n_out * m
    return flop


def one_blas_thread_if_small(stages: list, m: int):
    """A context manager limiting BLAS to one thread when a step is small, else None."""
    if step_flop(stages, m) >= SMALL_STEP_FLOP:
        return None
    from .threads import one_blas_thread_limiter

    return one_blas_thread_limiter()  # the pools loaded now


def passes_threads() -> int:
    """Threads for the compiled passes (im2col, col2im, max pooling) beside MKL's products:
    :func:`mlplab.accel.products.shared_pool_threads` (on 2 cores the course's CNN step took
    43 ms against 55 without MKL, ``bench/cnn.py``), 1 (serial passes) without numba."""
    from . import conv_kernels

    compiled = fused.numba_setting() != "off" and conv_kernels._compiled()
    return shared_pool_threads() if compiled else 1


def stages_for(net) -> list | None:
    """The stages computing ``net`` (see the module docstring), or None when it is not a
    network of image layers on NumPy that this step covers."""
    layers = net.layers
    if not (net.place.is_numpy and len(layers[0].out_shape) == 3):
        return None
    stages, i = [], 1
    while i < len(layers):
        layer, after = layers[i], layers[i + 1] if i + 1 < len(layers) else None
        kind = type(layer)
        if kind is Conv2D:
            fuse = layer.g.name == "relu" and type(after) is MaxPool2D
            stages.append(ConvStage(layer, pooled_relu=fuse))
            if fuse:  # the pooling takes z and applies the ReLU itself
                stages.append(PoolStage(after, relu=True))
                i += 1
        elif kind in (MaxPool2D, AvgPool2D):
            stages.append(PoolStage(layer))
        elif kind is Flatten:
            stages.append(FlattenStage(layer))
        elif kind is Dense:
            stages.append(DenseStage(layer))
        elif kind in (BatchNorm, Dropout):
            stages.append(CoreStage(layer))
        else:
            return None
        i += 1
    link(stages)
    return stages


def forward(stages: list, X: Array, training: bool) -> Array:
    """The output layer's ``z`` for the images ``X`` ``(m, C, H, W)`` (read as ``(C, m, H, W)``)."""
    a = X.transpose(1, 0, 2, 3)
    for stage in stages[:-1]:
        a = stage.forward(a, training)
    return stages[-1].forward(a, training, last=True)


class ConvStep(Step):
    """The training step for a convolutional network on NumPy (see the module docstring)."""

    name = "numpy-conv"

    def __init__(self, run, stages: list):
        X, Y = run.X, run.Y
        if run.batch_size < run.m:  # batches are gathered (or sliced) by rows: rows must be
            X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)  # contiguous; one copy
        super().__init__(run.net, run.optimizer, X, Y, run.batch_size,
                         run.callbacks.on_gradients_caller(run.trainer),
                         run.guard.cost_checker(run.trainer))
        self.stages = stages
        self._batch: dict[int, tuple[Array, Array]] = {}  # batch size: reused gathers
        self.small = one_blas_thread_if_small(stages, self.batch_size)
        # the products' BLAS: MKL (one thread for a small step, else NumPy's BLAS's count)
        lib, threads = products.for_fit(run, 1 if self.small else None)
        passes = 0 if self.small or lib is None else passes_threads()
        if passes > 1:  # a ReLU convolution and its pooling: a few images at a time
            stages = self.stages = conv_blocks.fuse(stages, passes)
            link(stages)
        # a convolution's ∂C/∂W, long sums into a small result: in blocks on the passes' threads
        self.split = products.InnerSplit(lib, passes)
        for stage in stages:
            stage.lib, stage.parallel, stage.split = lib, passes > 1, self.split
        self.name += ("+mkl" if lib is not None else "") + ("+tbb" if passes > 1 else "")
        if any(isinstance(stage, conv_blocks.ConvPoolStage) for stage in stages):
            self.name += "+blocks"
        # the update rule in place: one compiled pass (on the passes' threads), or NumPy's
        kernels = fused.compiled_kernels(run)
        if not InPlaceUpdates.applies(run.optimizer):  # a rule of the user's own
            self.update = run.optimizer.step
        elif kernels is not None:
            self.update = CompiledUpdates(run.optimizer, kernels, max(passes, 1))
        else:
            self.update = InPlaceUpdates(run.optimizer)
        # MKL's and numba's counts for this thread (which runs the fit and closes the step),
        # until close(); last in __init__, MKL's the very last: nothing after it can raise
        self._release = contextlib.ExitStack()
        if passes > 1:
            self._release.enter_context(numba_threads(passes))
        self._release.enter_context(threads)

    def batches(self, order=None):
        """Slices of X, or rows gathered into arrays reused batch after batch."""
        if order is None:
            yield from super().batches()
            return
        for i in range(0, len(order), self.batch_size):
            rows = order[i:i + self.batch_size]
            out = self._batch.get(len(rows))
            if out is None:
                out = self._batch[len(rows)] = (
                    np.empty((len(rows), *self.X.shape[1:]), self.X.dtype),
                    np.empty((len(rows), *self.Y.shape[1:]), self.Y.dtype))
            # mode="clip" skips the bounds check: rows come from a permutation
            yield (np.take(self.X, rows, axis=0, out=out[0], mode="clip"),
                   np.take(self.Y, rows, axis=0, out=out[1], mode="clip"))

    def __call__(self, Xb: Array, Yb: Array):
        if self.small is None:
            cost = self.forward_cost(Xb, Yb)  # step 2
            self.backward(Yb)  # steps 3–4
        else:  # restored after every step, whatever happens next
            with self.small():
                cost = self.forward_cost(Xb, Yb)
                self.backward(Yb)
        self.on_gradients()
        if self.diverged(cost):
            return None
        self.update(self.net.params, self.net.grads)  # step 5
        self.count(cost, len(Xb))
        return cost

    def forward_cost(self, X: Array, Y: Array) -> float:
        """``a⁽ᴸ⁾`` into the reused arrays, and the batch's mean cost."""
        Z = forward(self.stages, X, training=True)
        out, loss = self.stages[-1], self.net.loss
        A = out.work(len(X), Z.dtype)["A"]
        out.layer.A = A
        if loss.name == "categorical_cross_entropy":
            return softmax_cce_into(Z, Y, A)
        return float(loss.value(_g_into(out.layer, Z, A), Y, Z))

    def backward(self, Y: Array) -> None:
        """The δ recursion down the stages, from the loss's ``δ⁽ᴸ⁾``."""
        out = self.stages[-1].layer
        delta = self.net.loss.output_delta(out.Z, out.A, Y, out.g)  # δ⁽ᴸ⁾
        dA = self.stages[-1].backward_delta(delta, need_dA_prev=len(self.stages) > 1)
        for i in range(len(self.stages) - 2, -1, -1):
            dA = self.stages[i].backward(dA, need_dA_prev=i > 0)

    def close(self) -> None:
        """Keep nothing of the data: the layers' caches point at reused arrays and batches."""
        for stage in self.stages:
            stage.layer.clear()
            stage.clear()
        self._batch.clear()
        self.split.close()
        self._release.close()


def step_for(run) -> ConvStep | None:
    """A :class:`ConvStep` when ``run`` trains a network of image layers on NumPy, else None."""
    stages = stages_for(run.net)
    return None if stages is None else ConvStep(run, stages)


def predict(net, X: Array) -> Array | None:
    """``a⁽ᴸ⁾`` for the images ``X`` (checked, on NumPy, not yet for NaN/inf), or None when
    ``net`` is not a network this module covers."""
    stages = stages_for(net)
    if stages is None:
        return None
    check_finite(X)
    out = stages[-1].layer
    A = np.empty((len(X), out.n_out), net.dtype)
    small = one_blas_thread_if_small(stages, min(len(X), BLOCK_ROWS))
    with small() if small is not None else contextlib.nullcontext():
        for i in range(0, len(X), BLOCK_ROWS):
            Z = forward(stages, X[i:i + BLOCK_ROWS], training=False)
            _g_into(out, Z, A[i:i + BLOCK_ROWS])
    for stage in stages:
        stage.layer.clear()
    return A
