"""Accelerators: the core's numbers, faster. Chosen automatically, tested equal to the core,
and switched off with ``MLPLAB_ACCEL=off`` (or ``fit(..., accelerate=False)``).

The boundary is small: an accelerator is an object with three methods, each of which returns
None (or False) when it does not apply, and the core then computes itself
(:mod:`mlplab.core.plugins`):

- ``predict(net, X)``: the network's output for the rows of X;
- ``step(run)``: a :class:`mlplab.core.step.Step` subclass for one ``fit`` (steps 2–5 of a
  batch, the epoch's snapshot and largest change);
- ``fit_unwatched(run)``: every epoch of a ``fit`` at once, when nothing watches it.

What is here, for NumPy on the CPU:

- :mod:`~mlplab.accel.dense`: dense stacks (Dropout between them too) without temporaries,
  plain SGD folded into the BLAS product (:mod:`~mlplab.accel.blas`), every other rule, with an
  L2/L1 penalty, one call for all parameters (:mod:`~mlplab.accel.updates`,
  :mod:`~mlplab.accel.params`), blocked inference;
- the elementwise passes around the products (:mod:`~mlplab.accel.fused`): compiled by numba,
  one pass per layer (:mod:`~mlplab.accel.numba_kernels`; with the ``fast`` extra), on the
  threads BLAS may use with ``MLPLAB_PARALLEL=on`` (:mod:`~mlplab.accel.threads`), else
  NumPy's (:mod:`~mlplab.accel.kernels`);
- :mod:`~mlplab.accel.conv`: convolutional networks, im2col into reused arrays with the bias
  inside the product, ReLU and max pooling fused, feature maps kept channel-first
  (:mod:`~mlplab.accel.conv_stages`, :mod:`~mlplab.accel.conv_kernels`);
- :mod:`~mlplab.accel.tiny`: the lecture's tiny full-batch networks in one numba-compiled loop
  (with the ``fast`` extra);
- :mod:`~mlplab.accel.recurrent`: SimpleRNN, LSTM and GRU layers with one fused gate product
  per step into reused arrays, gate arithmetic compiled by numba where installed.

For PyTorch tensors (a GPU, or the CPU): :mod:`~mlplab.accel.torch_step`, dense stacks in few
kernels a step, the cost kept on the device, and on CUDA each step one graph launch.
"""

from __future__ import annotations

from ..core import plugins
from . import conv, dense, dense_predict, recurrent, tiny, torch_step


class NumpyCPU:
    """The accelerators for NumPy arrays on the CPU."""

    name = "numpy"

    def predict(self, net, X):
        A = dense_predict.predict(net, X)
        if A is None:
            A = conv.predict(net, X)
        return A if A is not None else recurrent.predict(net, X)

    def step(self, run):
        return dense.step_for(run) or conv.step_for(run) or recurrent.step_for(run)

    def fit_unwatched(self, run) -> bool:
        return tiny.fit_unwatched(run)

    def __repr__(self) -> str:
        return "NumpyCPU()"


class Torch:
    """The accelerator for PyTorch tensors, on a GPU or the CPU (:mod:`~mlplab.accel.torch_step`)."""

    name = "torch"

    def predict(self, net, X):
        return None  # the core's forward is a handful of kernels already

    def step(self, run):
        return torch_step.TorchStep(run) if torch_step.applies(run) else None

    def fit_unwatched(self, run) -> bool:
        return False

    def __repr__(self) -> str:
        return "Torch()"


for _accelerator in (NumpyCPU(), Torch()):
    if not any(type(a) is type(_accelerator) for a in plugins.ACCELERATORS):
        plugins.ACCELERATORS.append(_accelerator)
