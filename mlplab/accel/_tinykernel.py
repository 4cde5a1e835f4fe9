"""The full-batch training loop as scalar loops, compiled by numba in :mod:`mlplab.fastpath`.

Plain Python, compiled by numba (``train.py_func`` is the uncompiled function). All parameters live in one flat vector θ, layer
by layer ``[W⁽¹⁾ (row-major), b⁽¹⁾, W⁽²⁾, b⁽²⁾, …]``; ``Z``, ``A`` and ``D`` (δ) hold every
layer's units side by side, columns ``u[l] … u[l+1]`` for layer l (layer 0 is the input).
Activation codes: 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 softmax. Loss codes: 0 MSE
(mean of ½‖a − y‖²), 1 binary and 2 categorical cross-entropy (from the logits).
"""

import math

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def train(theta, sizes, acts, loss, X, Y, lr, max_epochs, epsilon, losses, changes):
    """Run up to ``max_epochs`` full-batch epochs on θ in place.

    Fills ``losses[e]`` (the cost before epoch e's update) and ``changes[e]`` (max |Δθ|);
    returns ``(epochs run, converged)``; converged when max |Δθ| < ε (ε < 0: never).
    """
    m, L = X.shape[0], len(sizes) - 1
    u = np.zeros(L + 2, np.int64)  # column offsets of each layer's units
    w = np.zeros(L + 1, np.int64)  # offset of W⁽ˡ⁾ in θ; b⁽ˡ⁾ follows it
    for l in range(L + 1):
        u[l + 1] = u[l] + sizes[l]
    for l in range(1, L):
        w[l + 1] = w[l] + sizes[l] * sizes[l - 1] + sizes[l]
    Z = np.zeros((m, u[L + 1]), X.dtype)
    A = np.zeros((m, u[L + 1]), X.dtype)
    D = np.zeros((m, u[L + 1]), X.dtype)
    grad = np.zeros_like(theta)
    A[:, :sizes[0]] = X  # a⁽⁰⁾ = x
    inv_m = 1.0 / m
    for epoch in range(max_epochs):
        for l in range(1, L + 1):  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = g(z⁽ˡ⁾)
            n_in, n_out, b = sizes[l - 1], sizes[l], w[l] + sizes[l] * sizes[l - 1]
            for s in range(m):
                for i in range(n_out):
                    z = 0.0
                    for j in range(n_in):
                        z += theta[w[l] + i * n_in + j] * A[s, u[l - 1] + j]
                    Z[s, u[l] + i] = z + theta[b + i]
                _activate(Z, A, s, u[l], n_out, acts[l])
        cost = _cost(Z, A, Y, u[L], sizes[L], loss) * inv_m
        losses[epoch] = cost * m / m  # as the NumPy loop: batch cost × rows / rows
        for s in range(m):  # δ⁽ᴸ⁾: (a − y) ⊙ g'(z) for MSE, a − y for the cross-entropies
            for i in range(sizes[L]):
                k = u[L] + i
                d = A[s, k] - Y[s, i]
                D[s, k] = d * _g_prime(Z[s, k], A[s, k], acts[L]) if loss == 0 else d
        for l in range(L, 0, -1):
            n_in, n_out, b = sizes[l - 1], sizes[l], w[l] + sizes[l] * sizes[l - 1]
            for i in range(n_out):  # ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ, ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾, means over rows
                for j in range(n_in):
                    g = 0.0
                    for s in range(m):
                        g += D[s, u[l] + i] * A[s, u[l - 1] + j]
                    grad[w[l] + i * n_in + j] = g * inv_m
                g = 0.0
                for s in range(m):
                    g += D[s, u[l] + i] * inv_m
                grad[b + i] = g
            if l > 1:  # δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾)ᵀδ⁽ˡ⁾ ⊙ g'(z⁽ˡ⁻¹⁾)
                for s in range(m):
                    for j in range(n_in):
                        d = 0.0
                        for i in range(n_out):
                            d += D[s, u[l] + i] * theta[w[l] + i * n_in + j]
                        k = u[l - 1] + j
                        D[s, k] = d * _g_prime(Z[s, k], A[s, k], acts[l - 1])
        change = 0.0
        for p in range(theta.size):  # W ← W − α ∂C/∂W
            new = theta[p] - lr * grad[p]
            change = max(change, abs(new - theta[p]))
            theta[p] = new
        changes[epoch] = change
        if change < epsilon:
            return epoch + 1, True
    return max_epochs, False


@jit
def _activate(Z, A, s, k, n, act):
    if act == 4:  # softmax over the row, shifted by its maximum
        zmax = Z[s, k]
        for i in range(n):
            zmax = max(zmax, Z[s, k + i])
        total = 0.0
        for i in range(n):
            A[s, k + i] = math.exp(Z[s, k + i] - zmax)
            total += A[s, k + i]
        for i in range(n):
            A[s, k + i] /= total
        return
    for i in range(k, k + n):
        z = Z[s, i]
        if act == 1:
            A[s, i] = 1.0 / (1.0 + math.exp(-z))  # e^(−z) = inf for z ≪ 0: σ = 0
        elif act == 2:
            A[s, i] = math.tanh(z)
        elif act == 3:
            A[s, i] = max(z, 0.0)
        else:
            A[s, i] = z


@jit
def _g_prime(z, a, act):
    if act == 1:
        return a * (1.0 - a)  # σ' = a(1 − a)
    if act == 2:
        return 1.0 - a * a
    if act == 3:
        return 1.0 if z > 0 else 0.0
    return 1.0


@jit
def _cost(Z, A, Y, k, n, loss):
    """The summed (not yet averaged) cost over the rows."""
    total = 0.0
    for s in range(Z.shape[0]):
        if loss == 0:  # ½‖a − y‖²
            for i in range(n):
                d = A[s, k + i] - Y[s, i]
                total += 0.5 * d * d
        elif loss == 1:  # softplus(z) − y z, summed over output units
            for i in range(n):
                z = Z[s, k + i]
                total += max(z, 0.0) + math.log1p(math.exp(-abs(z))) - Y[s, i] * z
        else:  # logsumexp(z) − Σ y z
            zmax = Z[s, k]
            for i in range(n):
                zmax = max(zmax, Z[s, k + i])
            e, yz = 0.0, 0.0
            for i in range(n):
                e += math.exp(Z[s, k + i] - zmax)
                yz += Y[s, i] * Z[s, k + i]
            total += math.log(e) + zmax - yz
    return total
