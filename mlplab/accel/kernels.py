"""The core's elementwise formulas for NumPy, written into arrays that are reused batch after
batch: the same numbers as :mod:`mlplab.core.activations` and :mod:`mlplab.core.losses`
(tests/test_accel.py compares them), without a temporary per operation.

``G_INTO[name](z, out)`` writes ``g(z)`` into ``out``; ``DELTA_INTO[name](dA, z, a, out)`` writes
``δ = dA ⊙ g'(z)`` into ``out``, which may be ``dA`` itself (reusing ``a = g(z)`` where g' is a function of it:
``σ' = a(1 − a)``, ``tanh' = 1 − a²``); :func:`softmax_cce_into` computes the softmax output and
the categorical cross-entropy together.
"""

from __future__ import annotations

import numpy as np

from ..core.losses import cce_value

Array = np.ndarray

# the activation codes of the compiled kernels (mlplab.accel.numba_kernels), for the built-in ones
IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU = range(5)
CODES = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
         "leaky_relu": LEAKY_RELU}
GD, MOMENTUM, NESTEROV, ADAM = range(4)  # the update rules' codes in the compiled kernels
# the output kernels (mlplab.accel.fused.Compiled.output_choice, the compiled tail and step)
SKLEARN_OUT, SOFTMAX_CCE, UNITWISE = range(3)
# |z| below which exp(z) and a sum of up to 10⁶ of them stay normal numbers in each dtype
EXP_SAFE = {np.dtype(np.float32): 70.0, np.dtype(np.float64): 690.0}
_ONES: dict[tuple, Array] = {}
_ZEROS: dict[tuple, Array] = {}


def ones(n: int, dtype) -> Array:
    """A kept vector of n ones: ``A @ ones(...)`` sums the rows of A by BLAS (short rows are
    slow to reduce with ``sum(axis=1)``)."""
    v = _ONES.get((n, dtype))
    if v is None:
        if len(_ONES) > 16:
            _ONES.clear()
        v = _ONES[n, dtype] = np.ones(n, dtype)
    return v


def sigmoid_into(z: Array, out: Array) -> Array:
    # σ(z) = 1 / (1 + e^(−z)): e^(−z) = inf for z ≪ 0 gives σ = 0, exactly the core's limit
    # (the core writes e^z / (1 + e^z) there), so that overflow is no news to the user
    with np.errstate(over="ignore"):
        np.exp(np.negative(z, out=out), out=out)
    out += 1
    return np.reciprocal(out, out=out)


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


G_INTO = {
    "identity": lambda z, out: np.copyto(out, z) or out,
    "sigmoid": sigmoid_into,
    "tanh": lambda z, out: np.tanh(z, out=out),
    "relu": relu_into,
    "softmax": softmax_into,
}


def sigmoid_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    if np.may_share_memory(dA, out):  # δ over dA itself (a reused array): one temporary
        return np.multiply(dA, a * (1 - a), out=out)
    np.subtract(1, a, out=out)  # δ = dA ⊙ a(1 − a)
    out *= a
    out *= dA
    return out


def tanh_delta_into(dA: Array, z: Array, a: Array, out: Array) -> Array:
    if np.may_share_memory(dA, out):  # δ over dA itself (a reused array): one temporary
        return np.multiply(dA, 1 - a * a, out=out)
    np.multiply(a, a, out=out)  # δ = dA ⊙ (1 − a²)
    np.subtract(1, out, out=out)
    out *= dA
    return out


DELTA_INTO = {
    "identity": lambda dA, z, a, out: np.copyto(out, dA) or out,
    "sigmoid": sigmoid_delta_into,
    "tanh": tanh_delta_into,
    "relu": lambda dA, z, a, out: np.multiply(dA, z > 0, out=out),  # δ = dA ⊙ [z > 0]
}


def softmax_cce_into(z: Array, y: Array, out: Array) -> float:
    """``out = softmax(z)`` row by row, and the mean categorical cross-entropy, together.

    When every logit lies within ±70 (float32; ±690 float64), checked with two whole-array
    reductions, ``exp(z)`` needs no shift, and the cost ``Σ log Σⱼ exp(zⱼ) − Σ y·z`` reuses the
    row sums ``Σⱼ exp(zⱼ)`` (a BLAS product with a ones vector): six NumPy calls instead of about
    fifteen. Otherwise the shifted formulas run.
    """
    limit = EXP_SAFE.get(z.dtype)
    if limit is None or z.ndim != 2 or not (z.max() < limit and z.min() > -limit):
        softmax_into(z, out)  # shifted by the row maxima
        return float(cce_value(out, y, z))
    np.exp(z, out=out)
    s = out @ ones(z.shape[1], z.dtype)  # Σⱼ exp(zⱼ) per row
    cost = (float(np.log(s).sum()) - float(np.vdot(y, z))) / len(z)
    out /= s[:, None]
    return cost
