"""Activation functions g and their derivatives g', side by side.

The lecture writes ``a = g(z)`` and, in backpropagation, ``g'(z)`` (``σ'(z)`` for the sigmoid).
Each :class:`Activation` holds both as functions of ``z``. For speed, backpropagation calls
``derivative(z, a)``, which may reuse the already-computed ``a = g(z)`` (``σ' = a(1 − a)``,
``tanh' = 1 − a²``); it always equals ``g_prime(z)``.

``step`` is the lecture's sgn (1 where z > 0, else 0). Its derivative is 0 everywhere, so
gradient descent through it learns nothing: the network refuses to backpropagate through it
(use :class:`mlplab.Perceptron` and its learning rule instead).

``softmax`` acts on a whole row; it is only used as an output paired with cross-entropy, whose
output delta ``a − y`` never needs its Jacobian.

The training hot path (:class:`mlplab.layers.Dense` with preallocated buffers) uses two optional
in-place forms, same equations without temporaries: ``g_into(z, out)`` writes ``g(z)`` into
``out``, and ``delta_into(dA, z, a, out)`` writes the fused product ``dA ⊙ g'(z)`` into ``out``.
Where an activation has none, the layer falls back to ``g`` and ``derivative``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ConfigError

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An activation g with its derivative g'.

    Attributes
    ----------
    name : str
    g : callable, z -> a, elementwise (row-wise for softmax)
    g_prime : callable, z -> g'(z)
    derivative : callable, (z, a) -> g'(z), may reuse a = g(z)
    differentiable : bool
        False for ``step``: backpropagation through it raises :class:`ConfigError`.
    g_into : callable, (z, out) -> out, optional
        ``g(z)`` written into ``out`` (no temporaries).
    delta_into : callable, (dA, z, a, out) -> out, optional
        The fused ``dA ⊙ g'(z)`` written into ``out``.
    """

    name: str
    g: Callable[[Array], Array]
    g_prime: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array]
    differentiable: bool = True
    g_into: Callable[[Array, Array], Array] | None = None
    delta_into: Callable[[Array, Array, Array, Array], Array] | None = None

    def __call__(self, z: Array) -> Array:
        return self.g(z)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce_ex__(self, protocol):
        # a registry entry pickles (and copies) as its name, since g' may be a lambda: networks
        # and estimators pickle; a custom Activation keeps the default behaviour
        if ACTIVATIONS.get(self.name) is self:
            return (get_activation, (self.name,))
        return super().__reduce_ex__(protocol)


def step(z: Array) -> Array:
    """The lecture's sgn as a 0/1 step: 1 where z > 0, else 0."""
    return (z > 0).astype(z.dtype)


def step_prime(z: Array) -> Array:
    return np.zeros_like(z)


def identity(z: Array) -> Array:
    return z


def identity_prime(z: Array) -> Array:
    return np.ones_like(z)


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), stable for any |z| (no overflow warning at ±1e4)."""
    # exp of a non-positive number never overflows: σ(z) = e^z / (1 + e^z) for z < 0.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_prime(z: Array) -> Array:
    """σ'(z) = σ(z)(1 − σ(z)), at most 0.25 (at z = 0)."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z: Array) -> Array:
    return np.tanh(z)


def tanh_prime(z: Array) -> Array:
    return 1 - np.tanh(z) ** 2


def relu(z: Array) -> Array:
    return np.maximum(z, 0)


def relu_prime(z: Array) -> Array:
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01


def leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z: Array) -> Array:
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


# In-place forms for the training hot path: the same equations, written into `out`.
def sigmoid_into(z: Array, out: Array) -> Array:
    # σ(z) = 1 / (1 + e^(−z)); e^(−z) = inf for z ≪ 0 gives σ = 0, as it should
    with np.errstate(over="ignore"):
        np.exp(np.negative(z, out=out), out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    # δ = dA ⊙ σ'(z) = dA ⊙ a(1 − a)
    np.subtract(1, a, out=out)
    out *= a
    out *= dA
    return out


def tanh_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    # δ = dA ⊙ (1 − a²)
    np.multiply(a, a, out=out)
    np.subtract(1, out, out=out)
    out *= dA
    return out


_ZEROS: dict[tuple, Array] = {}


def relu_into(z: Array, out: Array) -> Array:
    # max(z, 0) against a zero array of z's shape: NumPy's SIMD loop skips scalar operands
    # (2 µs instead of 10 µs at 128 × 256); only batch-sized zero arrays are kept
    if z.size > 1 << 20:
        return np.maximum(z, 0, out=out)
    zeros = _ZEROS.get((z.shape, z.dtype))
    if zeros is None:
        if len(_ZEROS) > 16:
            _ZEROS.clear()
        zeros = _ZEROS[z.shape, z.dtype] = np.zeros(z.shape, z.dtype)
    return np.maximum(z, zeros, out=out)


def relu_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    # δ = dA ⊙ [z > 0]
    return np.multiply(dA, z > 0, out=out)


def identity_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    np.copyto(out, dA)
    return out


# |z| below which exp(z) and a sum of up to 10⁶ of them stay normal numbers in each dtype
EXP_SAFE = {np.dtype(np.float32): 70.0, np.dtype(np.float64): 690.0}
_ONES: dict[tuple, Array] = {}


def ones(n: int, dtype) -> Array:
    """A kept vector of n ones: ``A @ ones(...)`` sums the rows of A by BLAS (short rows are
    slow to reduce with ``sum(axis=1)``)."""
    v = _ONES.get((n, dtype))
    if v is None:
        if len(_ONES) > 16:
            _ONES.clear()
        v = _ONES[n, dtype] = np.ones(n, dtype)
    return v


def softmax_into(z: Array, out: Array) -> Array:
    # softmax is invariant to a shift of each row: the usual shift by the row maximum only
    # keeps exp in range, so it is skipped when every |z| is small enough (two whole-array
    # reductions are cheaper than row maxima of short rows); out may be z itself
    limit = EXP_SAFE.get(z.dtype)
    if limit is None or z.ndim != 2 or not z.size or not (z.max() < limit and z.min() > -limit):
        np.subtract(z, z.max(axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out
    np.exp(z, out=out)
    out /= (out @ ones(z.shape[1], z.dtype))[:, None]  # Σⱼ exp(zⱼ) per row
    return out


def softmax(z: Array) -> Array:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_prime(z: Array) -> Array:
    raise ConfigError(
        "softmax has no elementwise derivative; use it as the output layer with loss "
        "'cross_entropy', whose output delta is a − y"
    )


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("step", step, step_prime, lambda z, a: step_prime(z), differentiable=False),
        Activation("identity", identity, identity_prime, lambda z, a: identity_prime(z),
                   g_into=lambda z, out: np.copyto(out, z) or out,
                   delta_into=identity_delta_into),
        Activation("sigmoid", sigmoid, sigmoid_prime, lambda z, a: a * (1 - a),
                   g_into=sigmoid_into, delta_into=sigmoid_delta_into),
        Activation("tanh", tanh, tanh_prime, lambda z, a: 1 - a * a,
                   g_into=lambda z, out: np.tanh(z, out=out), delta_into=tanh_delta_into),
        Activation("relu", relu, relu_prime, lambda z, a: relu_prime(z),
                   g_into=relu_into, delta_into=relu_delta_into),
        Activation("leaky_relu", leaky_relu, leaky_relu_prime, lambda z, a: leaky_relu_prime(z)),
        Activation("softmax", softmax, _softmax_prime, lambda z, a: _softmax_prime(z),
                   g_into=softmax_into),
    ]
}
# Other names users bring from scikit-learn and the lecture.
ALIASES = {"logistic": "sigmoid", "sgn": "step", "sign": "step", "linear": "identity"}


def get_activation(name: str | Activation) -> Activation:
    """Look an activation up by name (or pass one through)."""
    if isinstance(name, Activation):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATIONS) + sorted(ALIASES))
        raise ConfigError(f"unknown activation {name!r}; choose one of: {known}")
    return ACTIVATIONS[key]
