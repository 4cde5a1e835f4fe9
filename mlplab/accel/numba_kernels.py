"""The elementwise work of a training step, compiled by numba: one pass per layer and direction.

Imported only where numba is installed (``pip install 'mlplab[fast]'``);
:mod:`mlplab.accel.fused` chooses between these kernels and the NumPy ones of
:mod:`mlplab.accel.kernels`. Each kernel computes the core's formula
(:mod:`mlplab.core.activations`, :mod:`mlplab.core.losses`, :mod:`mlplab.core.optimizers`) element
by element in the array's own dtype: every constant is cast to it first, as NumPy casts a
Python float that meets a float32 array, and no multiply-add is fused, so the arithmetic is
NumPy's operation for operation. The update rules, the bias with the activations and their
derivatives are the core's bit for bit (the sigmoid's ``exp`` is left to NumPy, whose
vectorized one is 3–10× faster than numba's per-element call of the C library's, and tanh
too). The output layers call the C library's ``exp``, ``log`` and ``tanh`` and sum the cost in
float64: equal to a stated tolerance (tests/test_accel_numba.py).

Batch kernels take C-contiguous ``(m, n)`` arrays and split the rows among threads
(``prange``). The update rules take a table of addresses of every parameter, its gradient and
its optimizer state (:class:`mlplab.accel.params.Table`: the arrays stay the users' own) and a
list of ``(parameter, start, end)`` chunks that the threads share, so that one call updates the
whole network. Each kernel is compiled twice, serial and parallel, and the caller picks: a
parallel region costs microseconds to start and wake its threads, more than a small layer's
work. Compiled code is cached on disk (``cache=True``): the first process compiles (seconds,
once per installation), the next ones load it (``bench/numba_cache.py``).

Activation codes: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leaky_relu.
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np
from numba import prange
from numba.core import cgutils, types as nbtypes
from numba.extending import intrinsic

from .kernels import CODES, IDENTITY, LEAKY_RELU, RELU, SIGMOID, TANH  # noqa: F401
from .kernels import GD, MOMENTUM, NESTEROV
LEAKY_SLOPE = 0.01  # the core's (mlplab.core.activations.LEAKY_SLOPE), checked by the tests


def compiled_twice(fn):
    """``fn`` compiled serial and parallel: ``(serial, parallel)``. The parallel one is a copy
    of the function under another name, so that the two never share a file in numba's cache."""
    options = {"cache": True, "nogil": True, "error_model": "numpy"}
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel",
                              fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    return numba.njit(**options)(fn), numba.njit(parallel=True, **options)(twin)


_inline = numba.njit(inline="always", cache=True, error_model="numpy")


# ------------------------------------------------------------------ g and g', per element
@_inline
def _g(z, act, one, zero, slope):
    """g(z) for the activation ``act`` (``one``, ``zero``, ``slope``: constants in z's dtype)."""
    if act == SIGMOID:  # the core's overflow-free σ: e = e^(−|z|) ≤ 1
        e = math.exp(-abs(z))
        return one / (one + e) if z >= zero else e / (one + e)
    if act == TANH:
        return math.tanh(z)
    if act == RELU:  # max(z, 0), as NumPy's maximum: a NaN stays NaN
        return z if z > zero or z != z else zero
    if act == LEAKY_RELU:
        return z if z > zero else slope * z
    return z


@_inline
def _delta(d, z, a, act, one, zero, slope):
    """``d ⊙ g'(z)``, with g' as the core writes it (σ' = σ(1 − σ), tanh' = 1 − tanh²)."""
    if act == SIGMOID:
        return d * (a * (one - a))
    if act == TANH:
        return d * (one - a * a)
    if act == RELU:
        return d * (one if z > zero else zero)
    if act == LEAKY_RELU:
        return d * (one if z > zero else slope)
    return d * one


# ------------------------------------------------------------------ a batch, row by row
@_inline
def _constants(a):
    """1, 0 and the leaky ReLU's slope in the dtype of array ``a``."""
    t = a.dtype.type
    return t(1.0), t(0.0), t(LEAKY_SLOPE)


def _bias_g(Z, b, A, act):
    """``Z += b`` (z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, the product already in Z) and ``A = g(Z)``."""
    one, zero, slope = _constants(Z)
    m, n = Z.shape
    for i in prange(m):
        for j in range(n):
            z = Z[i, j] + b[j]
            Z[i, j] = z
            A[i, j] = _g(z, act, one, zero, slope)


def _bias_exponent(Z, b, E):
    """``Z += b`` and ``E = −|Z|``: the sigmoid's first half. NumPy's ``exp`` then takes E
    (vectorized; numba's calls the C library element by element, 3–10× slower), and
    :func:`_sigmoid_of` finishes: the core's σ, bit for bit."""
    m, n = Z.shape
    for i in prange(m):
        for j in range(n):
            z = Z[i, j] + b[j]
            Z[i, j] = z
            E[i, j] = -abs(z)


def _sigmoid_of(Z, E):
    """``E ← 1 / (1 + e)`` where ``z ≥ 0``, else ``e / (1 + e)``, with ``e = E = e^(−|z|)``."""
    one = Z.dtype.type(1.0)
    m, n = Z.shape
    for i in prange(m):
        for j in range(n):
            e = E[i, j]
            E[i, j] = one / (one + e) if Z[i, j] >= 0 else e / (one + e)


def _delta_g(dA, Z, A, D, act):
    """``D = dA ⊙ g'(Z)``: δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ g'(z⁽ˡ⁾)."""
    one, zero, slope = _constants(Z)
    m, n = Z.shape
    for i in prange(m):
        for j in range(n):
            D[i, j] = _delta(dA[i, j], Z[i, j], A[i, j], act, one, zero, slope)


@_inline
def _bias_and_max(Z, b, i):
    """``Z[i] += b`` (z = the product + b); returns the row's largest z."""
    zmax = Z[i, 0] + b[0]
    for j in range(Z.shape[1]):
        z = Z[i, j] + b[j]
        Z[i, j] = z
        zmax = max(zmax, z)
    return zmax


@_inline
def _shifted_exp(Z, A, i, zmax, zero):
    """``A[i] = e^(Z[i] − zmax)`` (the core's softmax before its division); returns their sum."""
    s = zero
    for j in range(Z.shape[1]):
        e = math.exp(Z[i, j] - zmax)
        A[i, j] = e
        s += e
    return s


def _softmax_cce(Z, b, Y, A, D):
    """The output layer with softmax and categorical cross-entropy: ``Z += b``, ``A`` the
    row-wise softmax (shifted by the row maximum), ``D = A − Y`` (δ⁽ᴸ⁾); returns the summed
    cost ``Σ log Σⱼ e^(zⱼ) − Σ y·z`` (in float64)."""
    one, zero, slope = _constants(Z)
    m, n = Z.shape
    total = 0.0
    for i in prange(m):
        zmax = _bias_and_max(Z, b, i)
        s, yz = _shifted_exp(Z, A, i, zmax, zero), 0.0
        for j in range(n):
            yz += Y[i, j] * Z[i, j]
        for j in range(n):
            a = A[i, j] / s
            A[i, j] = a
            D[i, j] = a - Y[i, j]
        total += math.log(s) + zmax - yz
    return total


def _unitwise_output(Z, b, Y, A, D, act, bce):
    """An output layer whose units are independent: ``A = g(Z + b)`` and, with ``bce``
    (sigmoid and binary cross-entropy), ``D = A − Y`` and the summed cost
    ``Σ log(1 + e^z) − y·z`` (from the logits: finite where σ rounds to 0 or 1); else (MSE)
    ``D = (A − Y) ⊙ g'(Z)`` and the summed ``½ (a − y)²``. The costs are summed in float64."""
    one, zero, slope = _constants(Z)
    m, n = Z.shape
    total = 0.0
    for i in prange(m):
        for j in range(n):
            z = Z[i, j] + b[j]
            Z[i, j] = z
            a = _g(z, act, one, zero, slope)
            A[i, j] = a
            d = a - Y[i, j]
            if bce:
                D[i, j] = d
                total += max(z, zero) + math.log1p(math.exp(-abs(z))) - Y[i, j] * z
            else:
                D[i, j] = _delta(d, z, a, act, one, zero, slope)
                total += 0.5 * d * d
    return total


LOG_LOSS, BINARY_LOG_LOSS, SQUARED_ERROR = 0, 1, 2  # scikit-learn's losses, by output


def _sklearn_output(Z, b, Y, A, D, kind, eps, scale):
    """scikit-learn's output layer and loss (:mod:`mlplab.sklearn._losses`): ``Z += b``, ``A``
    the softmax (``LOG_LOSS``), the sigmoid (``BINARY_LOG_LOSS``) or ``Z`` itself
    (``SQUARED_ERROR``), ``D = A − Y`` (times ``scale[i]`` per row where ``scale`` has rows:
    sample weights); returns the summed cost ``Σᵢ scaleᵢ cᵢ`` (float64), where ``cᵢ`` is
    ``−Σⱼ y log p`` with ``p`` clipped to ``[eps, 1 − eps]``, its binary form
    ``−Σⱼ y log p + (1 − y) log(1 − p)``, or ``½ meanⱼ (y − a)²``."""
    one, zero, slope = _constants(Z)
    m, n = Z.shape
    weighted = scale.shape[0] > 0
    total = 0.0
    for i in prange(m):
        zmax = _bias_and_max(Z, b, i)
        s = _shifted_exp(Z, A, i, zmax, zero) if kind == LOG_LOSS else zero  # softmax: e / s
        cost = 0.0
        for j in range(n):
            y = Y[i, j]
            if kind == LOG_LOSS:
                a = A[i, j] / s
            elif kind == BINARY_LOG_LOSS:
                a = _g(Z[i, j], SIGMOID, one, zero, slope)
            else:
                a = Z[i, j]
            A[i, j] = a
            D[i, j] = a - y
            if kind == SQUARED_ERROR:  # the square in the arrays' dtype: inf where NumPy's is
                d = y - a
                cost += 0.5 * (d * d) / n
            else:
                p = eps if a < eps else (one - eps if a > one - eps else a)  # NaN stays
                if y != 0 or p != p:  # y·log p is 0 for y = 0 (xlogy's): log p only where
                    cost -= y * math.log(p)  # it counts (a class's row: once, not n times)
                if kind == BINARY_LOG_LOSS and (y != one or p != p):
                    cost -= (one - y) * math.log(one - p)
        if weighted:
            for j in range(n):
                D[i, j] *= scale[i]
            cost *= scale[i]
        total += cost
    return total


def _gather(X, rows, out):
    """``out[i] = X[rows[i]]``: a shuffled minibatch, its rows copied by every thread."""
    n = X.shape[1]
    for i in prange(rows.shape[0]):
        r = rows[i]
        for j in range(n):
            out[i, j] = X[r, j]


def _gather_pair(X, Y, rows, X_out, Y_out):
    """``X_out[i] = X[rows[i]]`` and ``Y_out[i] = Y[rows[i]]``: a shuffled minibatch and its
    targets in one call."""
    n, k = X.shape[1], Y.shape[1]
    for i in prange(rows.shape[0]):
        r = rows[i]
        for j in range(n):
            X_out[i, j] = X[r, j]
        for j in range(k):
            Y_out[i, j] = Y[r, j]


# ------------------------------------------------------------------ every parameter at once
@intrinsic
def _pointer(typingctx, address):
    """The integer ``address`` as a pointer (for ``numba.carray``)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return nbtypes.voidptr(nbtypes.intp), codegen


@_inline
def _view(addresses, r, k, lo, hi, like):
    """Elements lo…hi of the array at row r, column k of the address table (a 1-D array of
    ``like``'s dtype). Loops then run from 0: with indices that cannot be negative, LLVM
    vectorizes them (it did not over ``range(lo, hi)``)."""
    return numba.carray(_pointer(addresses[r, k] + lo * like.itemsize), hi - lo, like.dtype)


@_inline
def decay(g, p, lam, l1):
    """Add the weight penalty a callback would have added to ∂C/∂p: ``g += λp`` (L2) or
    ``g += λ·sign(p)`` (L1). A loop of its own, over a chunk that then stays in cache for the
    rule, so that the rule's loop has no branch."""
    if lam == 0:
        return
    if l1:
        one = lam / lam
        for i in range(p.size):
            x = p[i]
            g[i] += lam * (one if x > 0 else (-one if x < 0 else x - x))  # sign(x); NaN: NaN
    else:
        for i in range(p.size):
            g[i] += lam * p[i]


@_inline
def rule_step(rule, p, g, s1, s2, sc):
    """One step of ``rule`` on the 1-D ``p`` with its gradient ``g`` and state ``s1``, ``s2``
    (momentum: v; Adam: m, v; unused otherwise), ``sc`` the rule's scalars in p's dtype:

    - GD ``(α)``: ``p ← p − α g``;
    - momentum / Nesterov ``(α, β)``: ``v ← β v − α g``; ``p ← p + v``, or ``p ← p + (β v − α g)``;
    - Adam ``(β₁, 1 − β₁, β₂, 1 − β₂, α / (1 − β₁ᵗ), √(1 − β₂ᵗ), ε)``: ``m ← β₁m + (1 − β₁)g``,
      ``v ← β₂v + (1 − β₂)g²``, ``p ← p − m·step / (√v / √(1 − β₂ᵗ) + ε)``.
    """
    if rule == GD:
        lr = sc[0]
        for i in range(p.size):
            p[i] -= lr * g[i]
    elif rule == MOMENTUM or rule == NESTEROV:
        lr, beta = sc[0], sc[1]
        if rule == NESTEROV:
            for i in range(p.size):
                ag = lr * g[i]
                vi = beta * s1[i] - ag
                s1[i] = vi
                p[i] += beta * vi - ag
        else:
            for i in range(p.size):
                vi = beta * s1[i] - lr * g[i]
                s1[i] = vi
                p[i] += vi
    else:
        b1, c1, b2, c2, step, root_c2, eps = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]
        for i in range(p.size):
            gi = g[i]
            mi = b1 * s1[i] + c1 * gi
            vi = b2 * s2[i] + c2 * (gi * gi)
            s1[i] = mi
            s2[i] = vi
            p[i] -= mi * step / (np.sqrt(vi) / root_c2 + eps)


def _update(chunks, at, like, lams, l1, rule, sc):
    """:func:`rule_step` on every parameter, a weight penalty's gradient added first.

    ``chunks`` rows are ``(k, start, end)``: elements start…end of parameter k; ``at`` holds
    the addresses of p, g and the state's arrays in its rows."""
    for c in prange(chunks.shape[0]):
        k, lo, hi = chunks[c, 0], chunks[c, 1], chunks[c, 2]
        p, g = _view(at, 0, k, lo, hi, like), _view(at, 1, k, lo, hi, like)
        s1 = _view(at, 2, k, lo, hi, like) if at.shape[0] > 2 else p
        s2 = _view(at, 3, k, lo, hi, like) if at.shape[0] > 3 else p
        decay(g, p, lams[k], l1)
        rule_step(rule, p, g, s1, s2, sc)


bias_g = compiled_twice(_bias_g)
bias_exponent = compiled_twice(_bias_exponent)
sigmoid_of = compiled_twice(_sigmoid_of)
delta_g = compiled_twice(_delta_g)
softmax_cce = compiled_twice(_softmax_cce)
unitwise_output = compiled_twice(_unitwise_output)
sklearn_output = compiled_twice(_sklearn_output)
gather = compiled_twice(_gather)
gather_pair = compiled_twice(_gather_pair)
update = compiled_twice(_update)
