"""Dense networks on NumPy: the core's training step and inference, without temporaries.

:class:`DenseStep` computes what :class:`mlplab.core.step.Step` computes for a stack of
:class:`~mlplab.core.layers.Dense` layers on NumPy arrays (tests/test_accel.py compares the
two), with these changes, each measured in ``bench/README.md``:

- each layer's ``z``, ``a``, ``δ`` and ``(W)ᵀδ`` go into arrays allocated once per batch size and
  reused batch after batch, so a minibatch epoch allocates nothing per batch (the layers'
  ``Z``, ``A``, ``delta``, ``dW``, ``db`` are these arrays, overwritten by the next batch);
- a shuffled minibatch is gathered into a reused array, from a row-major copy of ``X`` made once
  per fit (pandas' ``to_numpy()`` is column-major: a 200-row gather across its columns took
  260 µs instead of 8);
- plain gradient descent with no callback reading the gradients takes
  ``W ← W − α ∂C/∂W`` inside the weight-gradient product (BLAS ``gemm`` with β = 1,
  :mod:`mlplab.accel.blas`): the update costs no pass of its own, and ``dW``, ``db`` are then
  not written; the other built-in rules run in place (:mod:`mlplab.accel.updates`);
- the mean's 1/m is applied to whichever of δ and ∂C/∂W is smaller, the bias gradient is a BLAS
  product with a vector of 1/m, and softmax and cross-entropy share their exponentials.

:func:`predict` runs inference in blocks of 1,024 rows that stay in cache, into one array per
layer reused by every block, and finds NaN/inf in the input from each block's first products
instead of reading the input twice.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import Dense, Dropout, Input
from ..core.optimizers import GradientDescent
from ..core.step import Step
from ..core.validation import check_finite
from . import blas
from .kernels import DELTA_INTO, G_INTO, softmax_cce_into
from .updates import InPlaceUpdates

Array = np.ndarray
BLOCK_ROWS = 1024  # inference runs in blocks of rows whose layer outputs stay in cache


def dense_stack(net, inference: bool = False) -> list | None:
    """The Dense layers of ``net`` when it is exactly Input + Dense layers on NumPy (for
    ``inference``, Dropout layers too: they pass everything through then), else None."""
    layers = net.layers
    kept = [layer for layer in layers[1:] if not (inference and type(layer) is Dropout)]
    if not (net.place.is_numpy and isinstance(layers[0], Input) and len(layers[0].out_shape) == 1
            and all(type(layer) is Dense for layer in kept)):
        return None
    return kept


class DenseStep(Step):
    """The training step for a dense stack on NumPy (see the module docstring)."""

    name = "numpy-dense"

    def __init__(self, run):
        net, on_gradients = run.net, run.callbacks.on_gradients_caller(run.trainer)
        X, Y = run.X, run.Y
        if run.batch_size < run.m:  # batches are gathered (or sliced) by rows: rows must be
            X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)  # contiguous; one copy
        super().__init__(net, run.optimizer, X, Y, run.batch_size, on_gradients,
                         run.guard.cost_checker(run.trainer))
        self.dense = net.layers[1:]
        self.fused = on_gradients is None and type(run.optimizer) is GradientDescent
        self.update = InPlaceUpdates(run.optimizer) if InPlaceUpdates.applies(run.optimizer) \
            else run.optimizer.step
        self.name = "numpy-dense+blas-sgd" if self.fused and blas.available() else self.name
        self._work: dict[tuple, dict[str, Array]] = {}  # (layer index, batch size): arrays
        self._batch: dict[int, tuple[Array, Array]] = {}  # batch size: reused gathers

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
                    np.empty((len(rows), self.X.shape[1]), self.X.dtype),
                    np.empty((len(rows), self.Y.shape[1]), self.Y.dtype))
            # mode="clip" skips the bounds check: rows come from a permutation
            yield (np.take(self.X, rows, axis=0, out=out[0], mode="clip"),
                   np.take(self.Y, rows, axis=0, out=out[1], mode="clip"))

    def __call__(self, Xb: Array, Yb: Array):
        cost = self.forward_cost(Xb, Yb)  # step 2
        if self.fused:  # steps 3–5 in one pass down the layers; the guard looks first
            if self.diverged(cost):
                return None
            self.backward(Yb, step=self.optimizer.learning_rate)  # α read each step: callbacks
            self.optimizer.t += 1  # may schedule it
        else:
            self.backward(Yb)  # steps 3–4
            self.on_gradients()
            if self.diverged(cost):
                return None
            self.update(self.net.params, self.net.grads)  # step 5
        self.count(cost, len(Xb))
        return cost

    # ------------------------------------------------------------------ the passes
    def forward_cost(self, X: Array, Y: Array) -> float:
        """``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)`` into the reused arrays, and the batch's mean cost."""
        A, loss = X, self.net.loss
        for l, layer in enumerate(self.dense):
            w = self._arrays(l, len(X), layer)
            layer.A_prev, Z = A, np.matmul(A, layer.W.T, out=w["Z"])
            Z += layer.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
            layer.Z = Z
            last = l == len(self.dense) - 1
            if last and loss.name == "categorical_cross_entropy":
                layer.A = w["A"]
                return softmax_cce_into(Z, Y, w["A"])
            A = layer.A = _g_into(layer, Z, w["A"])
        return float(loss.value(A, Y, Z))

    def backward(self, Y: Array, step: float | None = None) -> None:
        """The δ recursion into the reused arrays; with ``step = α`` each layer also takes
        ``W ← W − α ∂C/∂W`` inside its weight-gradient product (``dW``, ``db`` not written)."""
        out = self.dense[-1]
        w = self._arrays(len(self.dense) - 1, len(Y), out)
        delta = np.subtract(out.A, Y, out=w["delta"])  # a⁽ᴸ⁾ − y
        if self.net.loss.name == "mse":  # δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)
            np.copyto(w["dA"], delta)
            delta = _delta_into(out, w["dA"], w["delta"])
        for l in range(len(self.dense) - 1, -1, -1):
            layer = self.dense[l]
            w = self._arrays(l, len(Y), layer)
            if l < len(self.dense) - 1:  # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)
                delta = _delta_into(layer, dA, w["delta"])
            layer.delta = delta
            dA = np.matmul(delta, layer.W, out=w["dA_prev"]) if l > 0 else None
            self._gradients(layer, delta, w, step)

    def _gradients(self, layer, delta: Array, w: dict, step: float | None) -> None:
        m = len(delta)
        if step is not None and blas.sgd_step(layer, -step / m, -step, delta, layer.A_prev,
                                               layer.W, layer.b, w["1/m"]):
            return  # W += (−α/m)·δᵀa⁽ˡ⁻¹⁾ and b += (−α)·(1/m, …, 1/m)·δ, one BLAS call each
        dW, db = w["dW"], w["db"]
        if delta.size <= dW.size:  # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, mean over rows
            np.matmul(np.multiply(delta, 1 / m, out=w["delta/m"]).T, layer.A_prev, out=dW)
        else:
            np.matmul(delta.T, layer.A_prev, out=dW)
            dW *= 1 / m
        np.matmul(w["1/m"], delta, out=db)  # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, mean over rows
        layer.dW, layer.db = dW, db
        if step is not None:  # no BLAS to fold it into: the same step with NumPy
            layer.W -= step * dW
            layer.b -= step * db

    def _arrays(self, l: int, m: int, layer) -> dict[str, Array]:
        """The work arrays of layer l for batches of m rows, made on first use (two sizes kept:
        the full batches and the last, shorter one)."""
        w = self._work.get((l, m))
        if w is None or w["Z"].dtype != layer.W.dtype:
            if len(self._work) >= 2 * len(self.dense):
                self._work.pop(next(iter(self._work)))
            dtype, shape = layer.W.dtype, (m, layer.n_out)
            w = self._work[l, m] = {
                "Z": np.empty(shape, dtype), "A": np.empty(shape, dtype),
                "delta": np.empty(shape, dtype), "delta/m": np.empty(shape, dtype),
                "dA": np.empty(shape, dtype), "1/m": np.full(m, 1 / m, dtype),
                "dA_prev": np.empty((m, layer.n_in), dtype),
                "dW": np.empty_like(layer.W), "db": np.empty_like(layer.b)}
        return w

    def snapshot(self) -> list[Array]:
        return [p.copy() for p in self.net.params]

    def close(self) -> None:
        """Keep nothing of the data: the layers' caches point at reused arrays and batches."""
        for layer in self.dense:
            layer.clear()
        self._work.clear()
        self._batch.clear()


def _g_into(layer, Z: Array, out: Array) -> Array:
    g_into = G_INTO.get(layer.g.name)
    if g_into is not None:
        return g_into(Z, out)
    np.copyto(out, layer.g(Z))
    return out


def _delta_into(layer, dA: Array, out: Array) -> Array:
    layer.check_differentiable()
    delta_into = DELTA_INTO.get(layer.g.name)
    if delta_into is not None:
        return delta_into(dA, layer.Z, layer.A, out)
    np.multiply(dA, layer.g.g_prime(layer.Z), out=out)
    return out


def step_for(run) -> DenseStep | None:
    """A :class:`DenseStep` when ``run`` trains a dense stack on NumPy, else None."""
    return DenseStep(run) if dense_stack(run.net) is not None else None


def predict(net, X: Array) -> Array | None:
    """``a⁽ᴸ⁾`` for the rows of ``X`` (checked, on NumPy, not yet for NaN/inf), or None when
    ``net`` is not a dense stack on NumPy."""
    dense = dense_stack(net, inference=True)
    if dense is None:
        return None
    m = len(X)
    # NaN/inf in X: each block's z⁽¹⁾ shows them (a NaN or ±inf times any weight is NaN or ±inf,
    # and stays so in a sum), where every input feeds some neuron (no all-zero column of W⁽¹⁾)
    screen = m > BLOCK_ROWS and bool(np.any(dense[0].W != 0, axis=0).all())
    if not screen:
        check_finite(X)
    A = np.empty((m, net.n_outputs), net.dtype)
    hidden = [np.empty((min(m, BLOCK_ROWS), layer.n_out), net.dtype) for layer in dense[:-1]]

    def check_z(z: Array) -> None:
        nonlocal screen
        if not np.isfinite(z.sum()):
            check_finite(X)  # raises for NaN/inf in X; else large values overflowed z
            screen = False

    for i in range(0, m, BLOCK_ROWS):  # each block's a⁽ˡ⁾ into one array per layer, reused
        a = X[i:i + BLOCK_ROWS]
        for l, layer in enumerate(dense):
            out = A[i:i + len(a)] if l == len(dense) - 1 else hidden[l][:len(a)]
            np.matmul(a, layer.W.T, out=out)
            out += layer.b  # z⁽ˡ⁾, then a⁽ˡ⁾ = g(z⁽ˡ⁾) in place
            if l == 0 and screen:
                check_z(out)
            a = _g_into(layer, out, out)
    return A
