"""The dense (fully connected) layer: ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``.

Shapes and the backward contract are described in :mod:`mlplab.layers.base`.

Speed (see ``bench/README.md``): a training forward (``training=True``) writes ``Z``, ``A`` and
the backward's ``δ`` and ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` into arrays allocated once per batch size, so a
minibatch epoch allocates nothing per batch; they are overwritten by the next training pass.
An inference forward (``training=False``) returns fresh arrays the caller may keep.

W is kept in Fortran (column) order: the same (n_out, n_in) matrix, but ``W.T`` is the
C-contiguous one, so that ``A W⁽ˡ⁾ᵀ`` with rows of samples is a plain (untransposed) product
for BLAS, and the weight-gradient product writes ``(∂C/∂W)ᵀ = aᵀδ``. OpenBLAS runs most of
these products faster this way (an epoch's products 6 % faster in all with its AVX-512
kernels; per product in ``bench/README.md``). No copy is ever made: ``W.T``
and ``δᵀ`` are views that BLAS reads as they lie. The bias sum ``Σ δ`` is a BLAS product with a
vector of 1/m; the 1/m of the mean cost is applied to whichever of δ and ∂C/∂W is smaller.
"""

from __future__ import annotations

import numpy as np

from ...accel import blas as _blas
from ..activations import Activation, get_activation
from ...errors import ConfigError
from ..initializers import get_initializer
from .base import Layer

Array = np.ndarray


class Dense(Layer):
    """A fully connected layer of neurons: ``a = g(W a_prev + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Inputs to and neurons in this layer.
    activation : str or Activation
        The layer's g.
    init : str or callable
        Initializer name (see :mod:`mlplab.initializers`).
    rng : numpy.random.Generator
    dtype : numpy dtype of W and b.

    Attributes
    ----------
    W : (n_out, n_in) array, Fortran-ordered (any layout works; this one is fastest)
    b : (n_out,) array
    Z, A : (m, n_out) arrays cached by the last ``forward``
    delta : (m, n_out) array, the per-sample δ⁽ˡ⁾ of the last ``backward``
    dW, db : gradients of the mean cost, shapes of W and b
    """

    def __init__(self, n_in: int, n_out: int, activation: str | Activation = "sigmoid",
                 init="normal", rng: np.random.Generator | None = None,
                 dtype=np.float64):
        rng = rng if rng is not None else np.random.default_rng()
        W, b = get_initializer(init)(n_in, n_out, rng)
        self.W: Array = np.asfortranarray(W, dtype=dtype)
        self.b: Array = np.ascontiguousarray(b, dtype=dtype)
        self.g: Activation = get_activation(activation)
        self.n_in, self.n_out = n_in, n_out
        self.dW: Array = np.zeros_like(self.W)
        self.db: Array = np.zeros_like(self.b)
        self.A_prev = self.Z = self.A = self.delta = None
        self._work: dict[int, dict[str, Array]] = {}  # per batch size m: reused arrays

    @property
    def params(self) -> list[Array]:
        return [self.W, self.b]

    @property
    def grads(self) -> list[Array]:
        return [self.dW, self.db]

    def forward(self, A_prev: Array, training: bool = False) -> Array:
        Z, A = self.linear(A_prev, training)
        self.A = self.g.g_into(Z, A) if self.g.g_into else self.g(Z)  # a⁽ˡ⁾ = g(z⁽ˡ⁾)
        return self.A

    def linear(self, A_prev: Array, training: bool = False) -> tuple[Array, Array]:
        """``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾`` (cached), and the array ``a⁽ˡ⁾`` is to be written into."""
        self.A_prev = A_prev
        if training:
            w = self._arrays(len(A_prev), np.result_type(A_prev, self.W))
            Z, A = w["Z"], w["A"]
            np.matmul(A_prev, self.W.T, out=Z)
        else:
            Z = A_prev @ self.W.T
            A = np.empty_like(Z)
        Z += self.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        self.Z = Z
        return Z, A

    def infer_into(self, A_prev: Array, out: Array, check_z=None) -> Array:
        """``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)`` written into ``out`` (z computed in place there); the
        same numbers as ``forward(A_prev)``, nothing cached (blocked inference).
        ``check_z(z)`` is called on z before g."""
        np.matmul(A_prev, self.W.T, out=out)
        out += self.b
        if check_z is not None:
            check_z(out)
        if self.g.g_into:
            return self.g.g_into(out, out)
        out[...] = self.g(out)
        return out

    def backward(self, dA: Array | None = None, need_dA_prev: bool = True,
                 delta: Array | None = None, step: float | None = None) -> Array | None:
        """Backpropagate through this layer.

        Either ``dA = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾`` from the layer above, or (output layer) the loss's
        ``delta = δ⁽ᴸ⁾`` directly. Returns ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` as rows, or None.

        With ``step = α`` the layer also takes the gradient-descent step
        ``W ← W − α ∂C/∂W``, ``b ← b − α ∂C/∂b`` itself, after computing ``(W⁽ˡ⁾)ᵀδ⁽ˡ⁾`` from the
        old W. The step is folded into the weight-gradient product (:mod:`mlplab._blas`), so
        ``dW`` and ``db`` are then *not* written (they are where NumPy's BLAS cannot be bound,
        and the step follows them).
        """
        m = len(dA if delta is None else delta)
        w = self._arrays(m, self.dW.dtype)
        if delta is None:
            if not self.g.differentiable:
                raise ConfigError(
                    f"cannot backpropagate through a {self.g.name!r} activation: its derivative "
                    "is 0 everywhere, so gradient descent would learn nothing; use 'sigmoid' "
                    "(or train a single layer with mlplab.Perceptron and its learning rule)"
                )
            if self.g.delta_into:  # δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾), fused into one array
                delta = self.g.delta_into(dA, self.Z, self.A, w["delta"])
            else:
                delta = dA * self.g.derivative(self.Z, self.A)
        self.delta = delta
        dA_prev = np.matmul(delta, self.W, out=w["dA_prev"]) if need_dA_prev else None
        # W += (−α/m)·δᵀa⁽ˡ⁻¹⁾ and b += (−α)·(1/m, …, 1/m)·δ, each one BLAS call
        if step is not None:
            if delta is not w["delta"]:  # the output layer's δ: into the reused array, so
                np.copyto(w["delta"], delta)  # that the prepared BLAS call can be reused too
                delta = self.delta = w["delta"]
            if _blas.sgd_step(self, -step / m, -step, delta, self.A_prev, self.W, self.b,
                              w["1/m"]):
                return dA_prev
        # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, mean over rows (Δᵀ read transposed by BLAS, no copy)
        if delta.size <= self.dW.size:
            np.matmul(np.multiply(delta, 1 / m, out=w["delta/m"]).T, self.A_prev, out=self.dW)
        else:
            np.matmul(delta.T, self.A_prev, out=self.dW)
            self.dW *= 1 / m
        np.matmul(w["1/m"], delta, out=self.db)  # ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, mean over rows
        if step is not None:  # no BLAS to fold it into: the same step with NumPy
            self.W -= step * self.dW
            self.b -= step * self.db
        return dA_prev

    def _arrays(self, m: int, dtype) -> dict[str, Array]:
        """The work arrays for batches of m rows, allocated on first use (two sizes kept)."""
        w = self._work.get(m)
        if w is None or w["Z"].dtype != dtype:
            if len(self._work) >= 2:
                self._work.pop(next(iter(self._work)))
            shape = (m, self.n_out)
            w = self._work[m] = {
                "Z": np.empty(shape, dtype), "A": np.empty(shape, dtype),
                "delta": np.empty(shape, dtype), "delta/m": np.empty(shape, dtype),
                "1/m": np.full(m, 1 / m, dtype), "dA_prev": np.empty((m, self.n_in), dtype),
            }
        return w

    def astype(self, dtype: np.dtype) -> None:
        self.W = self.W.astype(dtype)
        self.b = self.b.astype(dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._work = {}

    def __repr__(self) -> str:
        return f"Dense({self.n_in} → {self.n_out}, {self.g.name})"
