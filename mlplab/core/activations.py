"""Activation functions g and their derivatives g', side by side.

The lecture writes ``a = g(z)`` and, in backpropagation, ``g'(z)`` (``σ'(z)`` for the sigmoid).
Each :class:`Activation` is the pair ``(g, g_prime)``, both functions of ``z``, written against
the array API (:mod:`mlplab.core.xp`), so that they run on NumPy, PyTorch or CuPy arrays alike.

``step`` is the lecture's sgn (1 where z > 0, else 0). Its derivative is 0 everywhere, so
gradient descent through it learns nothing: the network refuses to backpropagate through it
(use :class:`mlplab.Perceptron` and its learning rule instead).

``softmax`` acts on a whole row; it is only used as an output paired with cross-entropy, whose
output delta ``a − y`` never needs its Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError
from .xp import namespace

Array = object
LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation g with its derivative g'.

    Attributes
    ----------
    name : str
    g : callable, z -> a, elementwise (row-wise for softmax)
    g_prime : callable, z -> g'(z)
    differentiable : bool
        False for ``step``: backpropagation through it raises :class:`ConfigError`.
    """

    name: str
    g: Callable[[Array], Array]
    g_prime: Callable[[Array], Array]
    differentiable: bool = True

    def __call__(self, z: Array) -> Array:
        return self.g(z)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __reduce_ex__(self, protocol):
        # a registry entry pickles (and copies) as its name: networks and estimators pickle
        if ACTIVATIONS.get(self.name) is self:
            return (get_activation, (self.name,))
        return super().__reduce_ex__(protocol)


def step(z):
    """The lecture's sgn as a 0/1 step: 1 where z > 0, else 0."""
    return namespace(z).astype(z > 0, z.dtype)


def step_prime(z):
    return namespace(z).zeros_like(z)


def identity(z):
    return z


def identity_prime(z):
    return namespace(z).ones_like(z)


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), written as e^z / (1 + e^z) where z < 0 so that the
    exponential never overflows (no warning at z = −10⁴)."""
    xp = namespace(z)
    e = xp.exp(-xp.abs(z))  # e^(−|z|) ≤ 1
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z)), at most 0.25 (at z = 0)."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh(z):
    return namespace(z).tanh(z)


def tanh_prime(z):
    return 1 - tanh(z) ** 2


def relu(z):
    xp = namespace(z)
    return xp.maximum(z, xp.zeros_like(z))  # keeps a NaN a NaN (for the divergence guard)


def relu_prime(z):
    return namespace(z).astype(z > 0, z.dtype)


def leaky_relu(z):
    return namespace(z).where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z):
    xp = namespace(z)
    return xp.where(z > 0, xp.ones_like(z), xp.full_like(z, LEAKY_SLOPE))


def softmax(z):
    """Row-wise softmax, each row shifted by its maximum so that exp never overflows."""
    xp = namespace(z)
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def softmax_prime(z):
    raise ConfigError("softmax has no elementwise derivative; use it as the output layer with "
                      "loss 'cross_entropy', whose output delta is a − y")


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in [
    Activation("step", step, step_prime, differentiable=False),
    Activation("identity", identity, identity_prime),
    Activation("sigmoid", sigmoid, sigmoid_prime),
    Activation("tanh", tanh, tanh_prime),
    Activation("relu", relu, relu_prime),
    Activation("leaky_relu", leaky_relu, leaky_relu_prime),
    Activation("softmax", softmax, softmax_prime),
]}
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
