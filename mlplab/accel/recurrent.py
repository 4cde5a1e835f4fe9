"""Recurrent layers on NumPy: the core's BPTT (:mod:`mlplab.core.layers.recurrent`), faster.

Each SimpleRNN, LSTM and GRU of a network on NumPy is replaced, for one ``fit`` (or one
``predict``), by a *kernel*: an object keeping the layer contract (``forward``, ``backward``,
``params``, ``grads``) that computes the same numbers (tests/test_accel_recurrent.py compares
them with the core's) as follows:

- the gates' weights are stacked once per training step, the gates side by side:
  ``W_x`` ``(n_in, G·H)`` and ``W_h`` ``(H, G·H)`` for the forward (sigmoid gates' columns
  pre-scaled by ½, see :mod:`mlplab.accel.rnn_cells`), their unscaled row stacks for the
  backward;
- the input projection ``W_x xₜ + b`` of every step is one matrix product before the loop
  (``(T·N, n_in) @ (n_in, G·H)``), so a step's own product is only ``hₜ₋₁ @ W_h``: one fused
  gate product per step, not one per gate;
- every step's values live in arrays laid out time-major, ``(T, N, ·)``, allocated once per
  batch size and reused batch after batch;
- the gradients of ``W_x``, ``W_h`` and ``b`` are each one product over all steps
  (``Σₜ δₜ hₜ₋₁ᵀ`` as ``(G·H, T·N) @ (T·N, H)``), written into stacked arrays whose row
  blocks *are* the layer's ``dW_xi``, ``dW_hi``, … (views, no copy);
- those products over all steps (and the input projection) use every thread BLAS is given;
  the time loop's small products one (robust when other jobs hold the cores; with MKL, its
  calls run on one thread). ``bench/rnn_threads.py`` measures the choice. For an LSTM or GRU
  with the compiled loops and at least two BLAS threads, a worker thread trains the second
  half of each batch's sequences beside the first instead, loops and products on one thread
  each (:mod:`mlplab.accel.rnn_base`): on this project's 2-vCPU machine an LSTM step
  (``bench/rnn.py``) fell from 8.0 to 4.9–5.3 ms, a GRU step from 7.2 to 4.7–4.9. SimpleRNN's
  steps are short beside its products (1.9 → 2.3 ms that way): it keeps the products on
  MKL's threads. Handing only the products over all steps to a second thread, beside the
  NumPy steps of an earlier version or chunk by chunk beside the compiled loop, measured
  slower;
- the gate arithmetic of a step is one compiled loop with numba installed
  (:mod:`mlplab.accel.rnn_cells`), NumPy otherwise;
- with numba and MKL installed (``pip install 'mlplab[mkl]'``), the whole time loop is one
  compiled call (:mod:`mlplab.accel._rnnloops`) whose products use ``W_h`` packed once per
  training step by MKL (:mod:`mlplab.accel.mkl`); ``MLPLAB_MKL=off`` keeps MKL out.

The kernels' common part is :class:`mlplab.accel.rnn_base.Kernel`, each cell's steps
:mod:`mlplab.accel.rnn_kernels`; this module makes the training step and ``predict``.

Other layers (the Dense or TimeDense head, a Dropout) run their core code. A recurrent layer
with ``mask_value`` (padding) runs the core's loop: the accelerator does not apply.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np

from ..core.layers.recurrent import Recurrent
from ..core.step import Step
from ..core.validation import check_finite
from . import fused, handoff, products, rnn_cells
from .rnn_base import Kernel
from .rnn_kernels import KERNELS
from .threads import numpy_blas_threads
from .updates import CompiledUpdates, InPlaceUpdates

Array = np.ndarray
BLOCK_ROWS = 256  # predict: sequences per block (a block's per-step arrays stay small)


def applies(net) -> bool:
    """True for a network on NumPy with recurrent layers this module computes (exactly
    SimpleRNN, LSTM or GRU, without ``mask_value``)."""
    recurrent = [layer for layer in net.layers if isinstance(layer, Recurrent)]
    return (net.place.is_numpy and bool(recurrent)
            and all(type(layer) in KERNELS and layer.mask_value is None for layer in recurrent))


def kernel_network(net):
    """A shallow copy of ``net`` whose recurrent layers are kernels (the others are shared)."""
    fast = copy.copy(net)
    fast.layers = [KERNELS[type(layer)](layer) if type(layer) in KERNELS else layer
                   for layer in net.layers]
    return fast


class RecurrentStep(Step):
    """The core's training step (:class:`mlplab.core.step.Step`) on the kernel network."""

    def __init__(self, run):
        super().__init__(kernel_network(run.net), run.optimizer, run.X, run.Y, run.batch_size,
                         run.callbacks.on_gradients_caller(run.trainer),
                         run.guard.cost_checker(run.trainer))
        loops = any(getattr(layer, "loops", None) for layer in self.net.layers)
        self.name = f"numpy-recurrent+{'numba+mkl' if loops else rnn_cells.name()}"
        # the products over all steps: MKL's where the loops run in MKL or the fit is large,
        # on as many threads as NumPy's BLAS may use
        lib, threads = products.for_fit(run, in_use=loops)
        # with a core to spare, a worker thread trains half of each batch's sequences
        # (rnn_base's docstring)
        spare = lib is not None and loops and (numpy_blas_threads() or 1) >= 2 and \
            handoff.available()
        for layer in self.net.layers:
            if isinstance(layer, Kernel):
                layer.lib = lib
                layer.worker = handoff.worker() if spare and layer.HALVES else None
        # the update rule in place (the core's numbers): one compiled pass, or NumPy's
        kernels = fused.compiled_kernels(run)
        if not InPlaceUpdates.applies(run.optimizer):  # a rule of the user's own
            self.update = run.optimizer.step
        else:
            self.update = CompiledUpdates(run.optimizer, kernels) if kernels is not None \
                else InPlaceUpdates(run.optimizer)
        self._release = contextlib.ExitStack()
        self._release.enter_context(threads)  # last: nothing after it can raise

    def __call__(self, Xb: Array, Yb: Array):
        """The core's step (:class:`mlplab.core.step.Step`), its update in place."""
        net = self.net
        A = net.forward(Xb, training=True)  # step 2
        cost = net.loss.value(A, Yb, net.layers[-1].Z)
        net.backward(Yb)  # steps 3–4
        self.on_gradients()
        if self.diverged(cost):
            return None
        self.update(net.params, net.grads)  # step 5
        self.count(cost, Xb.shape[0])
        return cost

    def snapshot(self) -> list[Array]:
        return [p.copy() for p in self.net.params]

    def close(self) -> None:
        for layer in self.net.layers:
            layer.clear()
        self._release.close()


def step_for(run) -> RecurrentStep | None:
    """A :class:`RecurrentStep` when ``run`` trains a recurrent network on NumPy, else None."""
    return RecurrentStep(run) if applies(run.net) else None


def predict(net, X: Array) -> Array | None:
    """``a⁽ᴸ⁾`` for the sequences of ``X`` (checked, on NumPy, not yet for NaN/inf) in blocks
    of :data:`BLOCK_ROWS`, or None when this module does not apply to ``net``."""
    if not applies(net):
        return None
    check_finite(X)
    fast = kernel_network(net)
    recurrent = [layer for layer in net.layers if isinstance(layer, Recurrent)]
    given = any(layer.initial_state is not None for layer in recurrent)
    rows = len(X) if given else BLOCK_ROWS  # an initial state per row: one block
    out, states = [], []
    for i in range(0, len(X), rows):
        out.append(fast.forward(X[i:i + rows]).copy())
        states.append([layer.state for layer in recurrent])
    for k, layer in enumerate(recurrent):  # the last state of every row, as the core leaves it
        layer.state = tuple(np.concatenate(parts) for parts in zip(*(s[k] for s in states)))
    return out[0] if len(out) == 1 else np.concatenate(out)
