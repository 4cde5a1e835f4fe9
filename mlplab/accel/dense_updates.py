"""A dense layer's gradients and its update in one call, each thread its share of the rows.

The core computes ``∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ`` and ``∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾`` (means over the batch) for
every layer, and then the optimizer's rule updates every parameter. Where ``mlplab[mkl]`` makes
the products and MKL and numba share TBB's threads
(:func:`mlplab.accel.products.shared_pool_threads`), :class:`GradientSteps` does both for one
layer in one call of :func:`mlplab.accel._mklkernels.gradient_step`: each thread computes its
share of ``∂C/∂W``'s rows by MKL on one thread, then adds the weight penalty and takes the
rule's step on those rows while they are in its cache. Before, the update read gradients that
MKL's threads had written on both cores: inside a fit of scikit-learn's default network
(784-100-10, Adam, batch 200) on this project's 2-vCPU machine, the products of ``∂C/∂W`` and
the update took ~300 µs a batch, ~240 µs this way (``bench/README.md``).

:class:`OutputTail` does the last two layers' small work in one call, after the hidden layer's
product: seven calls apart, ~110 µs a batch in that fit, ~76 µs as one. :class:`SGDStep` does
plain gradient descent's whole step in one call (the products, the passes and the updates).

The rules are :mod:`mlplab.accel.numba_kernels`' (the core's, operation for operation); the
gradients differ from the core's by the order of their sums (tests/test_dense_updates.py,
tests/test_output_tail.py).
"""

from __future__ import annotations

import numpy as np

from ..core.layers import Dense
from .fused import _code_of
from .kernels import IDENTITY, LEAKY_RELU, RELU, SKLEARN_OUT
from .updates import CompiledUpdates, ready, rule_of

Array = np.ndarray
TAIL_WEIGHTS = 1 << 16  # an output layer's weights up to which OutputTail takes it


class GradientSteps:
    """``steps(k, layer, delta, dW, db)``: dense layer k's gradients and its update, after
    :meth:`begin` counted the step. After the step, ``squares`` is ``Σ‖W‖²`` over the
    ``stepped`` layers the kernel updated, their weights as updated (the kernel sums them while
    they are in its threads' caches)."""

    def __init__(self, optimizer, kernels, threads: int):
        self.opt, self.threads, self.kernel = optimizer, threads, kernels.gradient_step
        self._squares = np.zeros(max(threads, 1))  # each thread's share of Σ‖W‖²
        self.squares, self.stepped = 0.0, 0
        self.keys = list(optimizer.init_state(np.zeros(1)))  # the state's arrays, in order
        self._plans: dict[int, tuple] = {}
        self._lams: tuple | None = None

    @staticmethod
    def applies(optimizer, threads: int) -> bool:
        """True for the built-in rules on a shared pool of more than one thread."""
        return threads > 1 and CompiledUpdates.applies(optimizer)

    def begin(self, params: list[Array], decay) -> bool:
        """Count the step and read the rule's scalars; False (the step not counted) where a
        layer's parameters or state are not what the kernel takes: update as before then.
        ``decay``: a penalty's λ for each parameter and True for L1, or None."""
        layers = range(len(params) // 2)
        if any(p.dtype != params[0].dtype for p in params):  # one dtype per call, as the
            return False  # compiled update rules take it
        if not all(self._planned(k, params) for k in layers):  # new arrays: checked again
            ready(self.opt, params, layouts=True)
            if not all(self._plan(k, params[2 * k], params[2 * k + 1]) for k in layers):
                return False
        self.opt.t += 1
        self.squares, self.stepped = 0.0, 0
        dtype = params[0].dtype
        self.rule = rule_of(self.opt, dtype)
        lams = (decay[0] if decay is not None else [0.0] * len(params), dtype)
        if lams != self._lams:  # a penalty's λ per layer (W's, b's), as arrays the kernel reads
            self._lams = lams
            self.lams = [np.array(lams[0][i:i + 2], dtype) for i in range(0, len(params), 2)]
        self.l1 = bool(decay is not None and decay[1])
        return True

    def _planned(self, k: int, params: list[Array]) -> bool:
        """True when layer k's plan holds its parameters and state arrays as they are now."""
        plan, state = self._plans.get(k), self.opt.state
        if plan is None or len(state) != len(params):
            return False
        arrays = plan[-1]
        if arrays[0] is not params[2 * k] or arrays[1] is not params[2 * k + 1]:
            return False
        i = 2
        for s in (state[2 * k], state[2 * k + 1]):
            for key in self.keys:
                if s.get(key) is not arrays[i]:
                    return False
                i += 1
        return True

    def __call__(self, k: int, layer, delta: Array, dW: Array, db: Array) -> bool:
        """Layer k's ``dW``, ``db`` (means over delta's rows) and the rule's step on its W, b;
        False (nothing done) where the batch's arrays are not as the kernel takes them."""
        A, (P, S1, S2, sb1, sb2, rows_of_W) = layer.A_prev, self._plans[k][:6]
        G = dW if rows_of_W else dW.T  # ∂C/∂W laid out as W: G = Lᵀ R / m
        if not (A.flags.c_contiguous and delta.flags.c_contiguous and A.dtype == delta.dtype
                and G.flags.c_contiguous and G.dtype == A.dtype == P.dtype):
            return False
        L, R = (delta, A) if rows_of_W else (A, delta)
        self.squares += self.kernel(A.dtype == np.float32, L, R, G, 1 / len(delta), delta, db,
                                    P, S1, S2, layer.b, sb1, sb2, self.lams[k], self.l1,
                                    *self.rule, self.threads, self._squares)
        self.stepped += 1
        return True

    def _plan(self, k: int, W: Array, b: Array) -> bool:
        """Layer k's arrays in the kernel's row-major view (W, or Wᵀ where W is column-major
        as scikit-learn's ``coefs_`` make it), kept while they are the same arrays."""
        state = self.opt.state
        arrays = [W, b] + [state[2 * k][key] for key in self.keys] + \
            [state[2 * k + 1][key] for key in self.keys]
        plan = self._plans.get(k)
        if plan is not None and all(x is y for x, y in zip(plan[-1], arrays)):
            return True
        self._plans.pop(k, None)
        rows_of_W = W.flags.c_contiguous
        P, *S = [a if rows_of_W else a.T for a in [W] + arrays[2:2 + len(self.keys)]]
        Sb = arrays[2 + len(self.keys):]
        if not (all(a.flags.c_contiguous and a.dtype == W.dtype and a.shape == P.shape
                    for a in [P] + S) and b.flags.c_contiguous and
                all(a.flags.c_contiguous and a.dtype == W.dtype and a.shape == b.shape
                    for a in [b] + Sb)):
            return False
        S, Sb = S + [P, P], Sb + [b, b]  # the unused state: any array of the layout
        self._plans[k] = (P, S[0], S[1], Sb[0], Sb[1], rows_of_W, arrays)
        return True


class OutputTail:
    """The last two dense layers' small work in one call of
    :func:`mlplab.accel._mklkernels.output_tail`, on the fitting thread, once the hidden layer's
    product is made: its bias and activation, the output layer's product, output, cost and δ,
    its ``(W)ᵀδ``, its gradients and update, and the hidden layer's δ. Apart, these were seven
    calls, each reading arrays the other core had written: inside a fit of scikit-learn's default
    network (784-100-10, Adam, batch 200) on this project's 2-vCPU machine they took ~110 µs a
    batch (``bench/README.md``).

    ``tail(k, hidden, wh, out, wo, Y, loss, dW, db)``: ``k`` the output layer's index among the
    dense layers, ``wh``/``wo`` the layers' work arrays (:meth:`DenseStep._arrays`); returns the
    summed cost and the output layer's ``Σ W²`` after its step, or None where the arrays are not
    what the kernel takes (nothing done then). :meth:`GradientSteps.begin` counts the step
    first."""

    def __init__(self, steps: GradientSteps, kernels, elementwise):
        self.steps, self.kernel, self.elementwise = steps, kernels.output_tail, elementwise

    @staticmethod
    def applies(layers: list, steps, elementwise) -> bool:
        """True where the last two layers are dense (no Dropout between), the hidden one's
        activation is the identity, ReLU or leaky ReLU (the compiled ones whose passes are the
        core's bit for bit), the output layer is small and its gradients are
        :class:`GradientSteps`'."""
        if steps is None or len(layers) < 2 or not hasattr(elementwise, "output_choice"):
            return False
        hidden, out = layers[-2], layers[-1]
        return (type(hidden) is Dense and type(out) is Dense and out.W.size <= TAIL_WEIGHTS
                and _code_of(hidden.g) in (IDENTITY, RELU, LEAKY_RELU))

    def __call__(self, k: int, hidden, wh: dict, out, wo: dict, Y: Array, loss, dW: Array,
                 db: Array):
        choice = self.elementwise.output_choice(out, loss, wo["Z"], Y)
        P, S1, S2, sb1, sb2, rows_of_W = self.steps._plans[k][:6]
        G, Zh = (dW if rows_of_W else dW.T), wh["Z"]
        if choice is None or not (G.flags.c_contiguous and G.dtype == P.dtype == Zh.dtype
                                  and db.dtype == Zh.dtype):
            return None
        steps = self.steps
        return self.kernel(Zh.dtype == np.float32, Zh, hidden.b, wh["A"], _code_of(hidden.g), P,
                           rows_of_W, out.b, wo["Z"], Y, wo["A"], wo["delta"], *choice,
                           wo["dA_prev"], wh["delta"], G, db, S1, S2, sb1, sb2, steps.lams[k],
                           steps.l1, *steps.rule)


class SGDStep:
    """Plain gradient descent's whole step on one batch for a stack of dense layers, in one
    call of :func:`mlplab.accel._mklkernels.sgd_step` on the fitting thread (MKL's products on
    their threads): the forward pass, the output and its cost, the δ recursion, and each
    layer's ``W ← W − α ∂C/∂W`` inside its weight-gradient product, with no Python between
    them. Apart, these are about a dozen calls a batch: inside a 784-256-128-10 fit at batch
    128 on this project's 2-vCPU machine the step took 535 µs this way against 602, and an
    epoch 6–9 % less in two of three alternating runs, the same in the third
    (``bench/README.md``).

    ``step(dense_step, X, Y)``: the batch's summed cost, the layers' ``A_prev``, ``Z``, ``A``,
    ``delta`` set as the separate passes set them; None where the arrays are not what the
    kernel takes (nothing done then). The kernel reads the arrays by their addresses: the
    table of them is made again whenever a layer's W, b, activation or work arrays are other
    objects, and checked then to chain (each W's inputs the previous one's outputs, the work
    arrays of their shapes); each batch's X and Y are checked against it."""

    def __init__(self, kernels, elementwise):
        self.kernel, self.elementwise = kernels.sgd_step, elementwise
        self._tables: dict[int, tuple] = {}  # batch size: the kernel's tables, what they hold

    @staticmethod
    def applies(layers: list, elementwise) -> bool:
        """True for dense layers only (no Dropout), W row-major (mlplab's own layers; not
        scikit-learn's ``coefs_``), hidden activations the identity, ReLU or leaky ReLU (whose
        compiled passes are the core's bit for bit), the passes on one thread
        (``MLPLAB_PARALLEL=on`` shares them among the threads instead)."""
        return (hasattr(elementwise, "output_choice") and elementwise.threads == 1
                and all(type(layer) is Dense and layer.W.flags.c_contiguous for layer in layers)
                and _hidden_codes(layers))

    def __call__(self, step, X: Array, Y: Array):
        m = len(X)
        table = self._tables.get(m)
        if table is None or not _holds(table, step):
            table = self._table(step, X, Y)
            if table is None:
                return None
        at, shapes, acts, db, choice, dtype, _, kept = table
        if not (X.flags.c_contiguous and Y.flags.c_contiguous and X.dtype == dtype == Y.dtype
                and X.shape == (m, shapes[0, 1]) and Y.shape == (m, shapes[-1, 0])):
            return None
        cost = self.kernel(X, Y, at, shapes, acts, db, *choice, step.optimizer.learning_rate)
        A = X
        for layer, (_, _, _, w) in zip(step.layers, kept):
            layer.A_prev, layer.Z, layer.A, layer.delta = A, w["Z"], w["A"], w["delta"]
            A = w["A"]
        return cost

    def _table(self, step, X: Array, Y: Array):
        """The kernel's address table for batches of X's rows (Y: one batch's targets), or None
        where the layers are not what it takes: W or b not row-major of the first W's dtype,
        shapes that do not chain, a hidden activation it does not compute, an output and loss
        it has no kernel for (scikit-learn's losses among them)."""
        layers, m = step.layers, len(X)
        self._tables.pop(m, None)
        works = [step._arrays(l, m, layer) for l, layer in enumerate(layers)]
        dtype, k = layers[0].W.dtype, layers[0].W.shape[1]
        for layer, w in zip(layers, works):
            (n, k_in), arrays = layer.W.shape, (layer.W, layer.b, w["Z"], w["A"], w["delta"],
                                                w["dA_prev"])
            if not (k_in == k and layer.b.shape == (n,) and w["dA_prev"].shape == (m, k)
                    and all(w[key].shape == (m, n) for key in ("Z", "A", "delta"))
                    and all(a.flags.c_contiguous and a.dtype == dtype for a in arrays)):
                return None
            k = n
        loss = step.net.loss
        choice = self.elementwise.output_choice(layers[-1], loss, works[-1]["Z"], Y)
        if not _hidden_codes(layers) or choice is None or choice[0] == SKLEARN_OUT:
            return None  # (scikit-learn's output kernel reads each batch's sample weights)
        at = np.array([[a.ctypes.data for a in (layer.W, layer.b, w["Z"], w["A"], w["delta"],
                                                 w["dA_prev"])]
                       for layer, w in zip(layers, works)], dtype=np.intp)
        shapes = np.array([layer.W.shape for layer in layers], dtype=np.intp)
        acts = np.array([_code_of(layer.g) or 0 for layer in layers], dtype=np.intp)
        db = np.empty(shapes[:, 0].max(), dtype)  # each layer's Σ δ, reused
        kept = [(layer.W, layer.b, layer.g, w) for layer, w in zip(layers, works)]
        if len(self._tables) >= 2:
            self._tables.pop(next(iter(self._tables)))
        table = self._tables[m] = (at, shapes, acts, db, choice, dtype, loss, kept)
        return table


def _holds(table: tuple, step) -> bool:
    """True while what ``table`` was made from is the step's: the same loss, and each layer's
    W, b and activation the same objects. (The work arrays are the table's own: it keeps
    them, whatever the step's cache of them holds since.)"""
    return table[-2] is step.net.loss and all(
        k[0] is layer.W and k[1] is layer.b and k[2] is layer.g
        for k, layer in zip(table[-1], step.layers))


def _hidden_codes(layers: list) -> bool:
    """True where every hidden layer's activation is the identity, ReLU or leaky ReLU."""
    return all(_code_of(layer.g) in (IDENTITY, RELU, LEAKY_RELU) for layer in layers[:-1])
