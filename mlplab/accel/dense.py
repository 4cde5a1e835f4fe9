"""Dense networks on NumPy: the core's training step and inference, without temporaries.

:class:`DenseStep` computes what :class:`mlplab.core.step.Step` computes for a stack of
:class:`~mlplab.core.layers.Dense` layers on NumPy arrays (tests/test_accel.py compares the
two), with these changes, each measured in ``bench/README.md``:

- each layer's ``z``, ``a``, ``δ`` and ``(W)ᵀδ`` go into arrays allocated once per batch size and
  reused batch after batch, so a minibatch epoch allocates nothing per batch (the layers'
  ``Z``, ``A``, ``delta``, ``dW``, ``db`` are these arrays, overwritten by the next batch);
- the elementwise work around each product (bias and activation; the output, its cost and
  δ⁽ᴸ⁾; each ``δ = dA ⊙ g'(z)``) is one compiled pass each where numba is installed (on
  every core with ``MLPLAB_PARALLEL=on``), else a few NumPy passes (:mod:`mlplab.accel.fused`);
- a shuffled minibatch is gathered into a reused array, from a row-major copy of ``X`` made once
  per fit (pandas' ``to_numpy()`` is column-major: a 200-row gather across its columns took
  260 µs instead of 8);
- plain gradient descent with no callback reading the gradients takes
  ``W ← W − α ∂C/∂W`` inside the weight-gradient product (BLAS ``gemm`` with β = 1,
  :mod:`mlplab.accel.blas`): the update costs no pass of its own, and ``dW``, ``db`` are then
  not written; with MKL's products and numba's kernels, that whole step (products, passes and
  updates) is one compiled call where it can be (:class:`~mlplab.accel.dense_updates.SGDStep`:
  no Dropout, hidden activations the identity, ReLU or leaky ReLU, the passes on one
  thread, W row-major). Otherwise the gradients are BLAS products with the mean's 1/m as
  their α, and every built-in rule updates all parameters in one call
  (:mod:`mlplab.accel.updates`), adding an L2 or L1 penalty's gradient on the way instead of
  calling its callback; where MKL and numba share TBB's threads
  (:func:`mlplab.accel.products.shared_pool_threads`), each layer's gradients and their
  update are one call instead, each thread its share of the rows
  (:mod:`mlplab.accel.dense_updates`), a shuffled batch and its targets are gathered by all
  the threads in one call, and the last two layers' small work (the hidden layer's bias and
  activation, the output layer's product, output, cost, δ, ``(W)ᵀδ`` and step, the hidden δ)
  is one call on the fitting thread (:class:`~mlplab.accel.dense_updates.OutputTail`); a
  weight penalty that reads ``Σ‖W‖²`` before each batch (scikit-learn's loss) takes the sum
  those calls made after their updates;
- the epoch's snapshot and largest change are one call each (:mod:`mlplab.accel.params`).

Inference: :mod:`mlplab.accel.dense_predict`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ..core.layers import Dense, Dropout, Input
from ..core.optimizers import GradientDescent
from ..core.step import Step
from . import blas, fused, products
from .dense_updates import GradientSteps, OutputTail, SGDStep
from .params import Snapshots
from .products import shared_pool_threads
from .updates import CompiledUpdates, InPlaceUpdates

Array = np.ndarray
TAIL_SIZE = 1 << 17  # hidden values of a batch up to which OutputTail takes it (one thread)


def dense_stack(net, inference: bool = False, dropout: bool = False) -> list | None:
    """The layers after the Input when ``net`` is exactly Input + Dense layers on NumPy, else
    None. With ``dropout``, Dropout layers may sit between them (and are kept); for
    ``inference`` they are left out (they pass everything through then)."""
    layers = net.layers
    kept = [layer for layer in layers[1:] if not (inference and type(layer) is Dropout)]
    allowed = (Dense, Dropout) if dropout else (Dense,)
    if not (net.place.is_numpy and isinstance(layers[0], Input) and len(layers[0].out_shape) == 1
            and all(type(layer) in allowed for layer in kept) and type(kept[-1]) is Dense):
        return None
    return kept


def _penalty(callbacks: list, optimizer):
    """The one callback reading the gradients, when it is a weight penalty the update rule can
    add itself (:meth:`mlplab.train.regularizers.L2.gradient_term`), else None."""
    if len(callbacks) != 1 or not InPlaceUpdates.applies(optimizer):
        return None
    term = getattr(callbacks[0], "gradient_term", None)
    return callbacks[0] if callable(term) and term() is not None else None


class DenseStep(Step):
    """The training step for a dense stack on NumPy (see the module docstring)."""

    name = "numpy-dense"

    def __init__(self, run):
        net, opt, X, Y = run.net, run.optimizer, run.X, run.Y
        self.penalty = _penalty(run.callbacks.gradients, opt)
        on_gradients = None if self.penalty is not None else \
            run.callbacks.on_gradients_caller(run.trainer)
        if run.batch_size < run.m:  # batches are gathered (or sliced) by rows: rows must be
            X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)  # contiguous; one copy
        super().__init__(net, opt, X, Y, run.batch_size, on_gradients,
                         run.guard.cost_checker(run.trainer))
        self.layers = net.layers[1:]  # Dense layers, and Dropout layers between them
        self.dense = [layer for layer in self.layers if type(layer) is Dense]
        self._k = {id(d): k for k, d in enumerate(self.dense)}
        # the products' BLAS: MKL with as many threads as NumPy's BLAS may use, or NumPy's
        self.lib, blas_threads = products.for_fit(run)
        mkl_kernels = products.mkl_kernels() \
            if self.lib is not None and fused.compiled_kernels(run) is not None else None
        pool = shared_pool_threads() if mkl_kernels is not None else 1
        self.elementwise, kernels, threads = fused.for_run(run, pool)
        self.fused = on_gradients is None and self.penalty is None and \
            type(opt) is GradientDescent
        if not InPlaceUpdates.applies(opt):  # a rule of the user's own: run as written
            self.update = lambda params, grads, decay=None: opt.step(params, grads)
        else:
            self.update = CompiledUpdates(opt, kernels, threads) if kernels is not None \
                else InPlaceUpdates(opt)
        # each layer's gradients and its update in one call (not for plain SGD: its update
        # is in the product already)
        self.steps = GradientSteps(opt, mkl_kernels, pool) if kernels is not None and \
            on_gradients is None and not self.fused and GradientSteps.applies(opt, pool) \
            else None
        # a penalty that reads Σ‖W‖² before each batch (scikit-learn's loss) gets it from the
        # steps' kernel, which summed it after the update: one pass over W less a batch
        self._squares_to = self.penalty if self.steps is not None and \
            hasattr(self.penalty, "squares_after_step") else None
        self.tail = OutputTail(self.steps, mkl_kernels, self.elementwise) \
            if OutputTail.applies(self.layers, self.steps, self.elementwise) else None
        self.whole = SGDStep(mkl_kernels, self.elementwise) if mkl_kernels is not None and \
            self.fused and SGDStep.applies(self.layers, self.elementwise) else None
        self._tailed = False  # the last batch's output layer was the tail's
        self.snapshots = Snapshots()
        self.products = products.Products(self.lib)
        self._transposed: dict[int, tuple[Array, Array]] = {}  # l: (W, W.T), one view kept
        self.name = (self.name
                     + ("+blas-sgd" if self.fused and (self.lib or blas.available()) else "")
                     + ("+mkl" if self.lib is not None else "") + self.elementwise.name
                     + ("+tbb-updates" if self.steps is not None else "")
                     + ("+sgd-step" if self.whole is not None else ""))
        self._work: dict[tuple, dict[str, Array]] = {}  # (layer index, batch size): arrays
        self._grads = {l: (np.empty_like(d.W), np.empty_like(d.b))
                       for l, d in enumerate(self.layers) if type(d) is Dense}
        self._batch: dict[int, tuple[Array, Array]] = {}  # batch size: reused gathers
        self._release = contextlib.ExitStack()  # MKL's count in this thread, until close()
        self._release.enter_context(blas_threads)  # last: nothing after it can raise

    def params(self) -> list[Array]:
        """``[W⁽¹⁾, b⁽¹⁾, …]``: the network's parameters (its layers' arrays as they are now)."""
        return [p for d in self.dense for p in (d.W, d.b)]

    def batches(self, order=None):
        """Slices of X, or rows gathered into arrays reused batch after batch."""
        if order is None:
            yield from super().batches()
            return
        gather = self.elementwise.gather_pair
        for i in range(0, len(order), self.batch_size):
            rows = order[i:i + self.batch_size]
            out = self._batch.get(len(rows))
            if out is None:
                out = self._batch[len(rows)] = (
                    np.empty((len(rows), self.X.shape[1]), self.X.dtype),
                    np.empty((len(rows), self.Y.shape[1]), self.Y.dtype))
            yield gather(self.X, self.Y, rows, out[0], out[1])

    def __call__(self, Xb: Array, Yb: Array):
        cost = self.whole(self, Xb, Yb) if self.whole is not None else None
        if cost is not None:  # plain SGD's whole step in one call (nothing updated if diverged)
            cost /= len(Xb)
            if self.diverged(cost):
                return None
            self.optimizer.t += 1
            self.count(cost, len(Xb))
            return cost
        if self.tail is not None and self.steps.begin(self.params(), self._decay()):
            return self._tail_call(Xb, Yb)
        cost = self.forward_cost(Xb, Yb)  # step 2
        if self.fused or self.steps is not None:  # steps 3–5 in one pass down the layers;
            if self.diverged(cost):  # the guard looks first
                return None
            if self.fused:
                self.backward(Yb, step=self.optimizer.learning_rate)  # α read each step:
                self.optimizer.t += 1  # callbacks may schedule it
            elif self.steps.begin(self.params(), self._decay()):
                self.backward(Yb, steps=True)
                if self._squares_to is not None and self.steps.stepped == len(self.dense):
                    self._squares_to.squares_after_step = self.steps.squares
            else:  # parameters the kernel cannot take: as below
                self.backward(Yb)
                self.update(self.params(), [g for d in self.dense for g in (d.dW, d.db)],
                            self._decay())
        else:
            self.backward(Yb)  # steps 3–4
            self.on_gradients()
            if self.diverged(cost):
                return None
            grads = [g for d in self.dense for g in (d.dW, d.db)]
            self.update(self.params(), grads, self._decay())  # step 5
        self.count(cost, len(Xb))
        return cost

    def _tail_call(self, Xb: Array, Yb: Array):
        """Steps 2–5 with the last two layers' small work in one call (:class:`OutputTail`),
        the step counted already."""
        cost = self.forward_cost(Xb, Yb, tail=True)
        try:
            diverged = self.diverged(cost)  # may raise (on_divergence="raise")
        finally:
            if not math.isfinite(cost):  # counted by GradientSteps.begin, not taken
                self.optimizer.t -= 1
        if diverged:
            return None
        tail = self._tailed  # else: every layer's passes as usual
        self.backward(Yb, steps=True, top=len(self.layers) - (2 if tail else 1))
        if self._squares_to is not None and \
                self.steps.stepped == len(self.dense) - (1 if tail else 0):
            self._squares_to.squares_after_step = self.steps.squares + \
                (self._tail_squares if tail else 0.0)
        self.count(cost, len(Xb))
        return cost

    def _decay(self):
        """The penalty's λ for each parameter (0 where it adds nothing), and True for L1."""
        if self.penalty is None:
            return None
        rule, lam, include_bias = self.penalty.gradient_term()
        return ([lam, lam if include_bias else 0.0] * len(self.dense), rule == "l1") \
            if lam else None

    # ------------------------------------------------------------------ the passes
    def forward_cost(self, X: Array, Y: Array, tail: bool = False) -> float:
        """``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)`` into the reused arrays, the output's δ⁽ᴸ⁾, and the
        batch's mean cost (a Dropout layer runs its own forward). With ``tail``, the last two
        layers' work after the hidden layer's product is :class:`OutputTail`'s, where it takes
        the arrays (``self._tailed``), with the output layer's step."""
        A, last = X, len(self.layers) - 1
        self._tailed = False
        for l, layer in enumerate(self.layers):
            if type(layer) is Dropout:
                A = layer.forward(A, training=True)
                continue
            w = self._arrays(l, len(X), layer)
            layer.A_prev, layer.Z = A, self.products(A, self._W_T(l, layer.W), w["Z"])
            if tail and l == last - 1 and self._tail(l, layer, w, Y):
                return self._tail_cost / len(X)
            if l == last:
                layer.A = w["A"]
                return self.elementwise.output(layer, self.net.loss, layer.Z, Y, w["A"],
                                               w["delta"])
            A = layer.A = self.elementwise.bias_g(layer, layer.Z, w["A"])

    def backward(self, Y: Array, step: float | None = None, steps: bool = False,
                 top: int | None = None) -> None:
        """The δ recursion into the reused arrays, from the δ⁽ᴸ⁾ of :meth:`forward_cost`; with
        ``step = α`` each layer also takes ``W ← W − α ∂C/∂W`` inside its weight-gradient
        product (``dW``, ``db`` not written); with ``steps`` each layer's update follows its
        gradients (:class:`~mlplab.accel.dense_updates.GradientSteps`, begun). ``top``: the
        layer to start from, its δ made already (the layers above it stepped)."""
        first = self.layers.index(self.dense[0])
        dA = None
        for l in range(len(self.layers) - 1 if top is None else top, first - 1, -1):
            layer = self.layers[l]
            if type(layer) is Dropout:  # ∂C/∂a = ∂C/∂a_out ⊙ mask
                dA = layer.backward(dA)
                continue
            w = self._arrays(l, len(Y), layer)
            delta = w["delta"]
            if dA is not None:  # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)
                self.elementwise.delta_g(layer, dA, delta)
            layer.delta = delta
            dA = self.products(delta, layer.W, w["dA_prev"]) if l > first else None
            self._gradients(l, layer, delta, w, step, steps)

    def _gradients(self, l: int, layer, delta: Array, w: dict, step: float | None,
                   steps: bool = False) -> None:
        m = len(delta)
        if step is not None and blas.sgd_step(layer, -step / m, -step, delta, layer.A_prev,
                                               layer.W, layer.b, w["1/m"], self.lib):
            return  # W += (−α/m)·δᵀa⁽ˡ⁻¹⁾ and b += (−α)·(1/m, …, 1/m)·δ, one BLAS call each
        dW, db = self._grad_arrays(l, layer)
        if steps:
            k = self._k[id(layer)]
            layer.dW, layer.db = dW, db
            if not self.steps(k, layer, delta, dW, db):  # this batch's arrays: as before
                self._gradients(l, layer, delta, w, None)
                grads = [None] * len(self.dense) * 2
                grads[2 * k], grads[2 * k + 1] = dW, db
                self.update.numpy.apply(self.params(), grads, (2 * k, 2 * k + 1),
                                        self._decay())  # the step counted already
            return
        # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ and ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, means over rows: 1/m as the products' α
        if not blas.gradients(layer, delta, layer.A_prev, dW, db, w["1/m"], 1 / m, self.lib):
            if delta.size <= dW.size:
                np.matmul(np.multiply(delta, 1 / m, out=w["dA"]).T, layer.A_prev, out=dW)
            else:
                np.matmul(delta.T, layer.A_prev, out=dW)
                dW *= 1 / m
            np.matmul(w["1/m"], delta, out=db)
        layer.dW, layer.db = dW, db
        if step is not None:  # no BLAS to fold it into: the same step with NumPy
            layer.W -= step * dW
            layer.b -= step * db

    def _grad_arrays(self, l: int, layer) -> tuple[Array, Array]:
        """Layer l's ``dW``, ``db``: arrays of W's and b's shape, dtype and layout, reused."""
        dW, db = self._grads[l]
        if dW.shape != layer.W.shape or dW.dtype != layer.W.dtype or \
                dW.flags.c_contiguous != layer.W.flags.c_contiguous:  # W assigned anew
            dW, db = self._grads[l] = np.empty_like(layer.W), np.empty_like(layer.b)
        return dW, db

    def _tail(self, l: int, hidden, wh: dict, Y: Array) -> bool:
        """:class:`OutputTail` on hidden layer l (its product made) and the output layer;
        False where it does not take the arrays (nothing done)."""
        if wh["Z"].size > TAIL_SIZE:  # a large batch: the usual passes, on every thread
            return False
        out = self.layers[l + 1]
        wo = self._arrays(l + 1, len(Y), out)
        dW, db = self._grad_arrays(l + 1, out)
        done = self.tail(self._k[id(out)], hidden, wh, out, wo, Y, self.net.loss, dW, db)
        if done is None:
            return False
        self._tail_cost, self._tail_squares = done
        hidden.A = out.A_prev = wh["A"]
        out.Z, out.A, out.delta, out.dW, out.db = wo["Z"], wo["A"], wo["delta"], dW, db
        self._tailed = True
        return True

    def _W_T(self, l: int, W: Array) -> Array:
        """``W.T``, the same view object while W is (the products' prepared calls know it)."""
        kept = self._transposed.get(l)
        if kept is None or kept[0] is not W:
            kept = self._transposed[l] = (W, W.T)
        return kept[1]

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
                "delta": np.empty(shape, dtype), "dA": np.empty(shape, dtype),
                "1/m": np.full(m, 1 / m, dtype), "dA_prev": np.empty((m, layer.n_in), dtype)}
        return w

    # ------------------------------------------------------------------ step 6, and after
    def snapshot(self) -> list[Array]:
        params = self.params()
        views = self.snapshots.snapshot(params)
        return views if views is not None else [p.copy() for p in params]

    def largest_change(self, start: list[Array]) -> float:
        change = self.snapshots.largest_change(self.params(), start)
        return super().largest_change(start) if change is None else change

    def close(self) -> None:
        """Keep nothing of the data: the layers' caches point at reused arrays and batches."""
        for layer in self.layers:
            layer.clear()
        self._work.clear()
        self._batch.clear()
        self.products.clear()
        self._transposed.clear()
        self.elementwise.close()
        self.whole = None  # its tables point at the work arrays and the weights
        self._release.close()  # MKL's threads in this thread: as before the fit


def step_for(run) -> DenseStep | None:
    """A :class:`DenseStep` when ``run`` trains a dense stack on NumPy, else None."""
    return DenseStep(run) if dense_stack(run.net, dropout=True) is not None else None
