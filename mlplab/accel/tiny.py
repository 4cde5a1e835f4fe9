"""The tiny regime: full-batch gradient descent on a small network, in one compiled loop.

For the lecture's networks (XOR on a 2-2-1 sigmoid network: 4 samples, 9 parameters) an epoch
is a few hundred floating-point operations, and NumPy's ~1 µs per call dominates: the generic
loop of :mod:`mlplab.training` costs 30–60 µs an epoch, PyTorch ~190 µs. This module runs the
same 7 steps (forward, δ⁽ᴸ⁾, the δ recursion, ∂C/∂W, the update ``W ← W − α ∂C/∂W``, the ε test)
as scalar loops compiled by numba, well under 1 µs an epoch (numbers in ``bench/README.md``).

:func:`applies` is the one condition under which ``fit`` takes this path: numba importable,
``ENABLED``, plain gradient descent on the full batch, no callbacks, no validation data, a
stack of Dense layers, and a small problem (``m × parameters ≤ MAX_WORK``). Everything else,
and any machine without numba, runs the NumPy reference loop. Results equal the reference up
to float rounding: the sums over samples and inputs run in a different order than BLAS's
(tests/test_fastpath.py compares the weights after many epochs).
"""

from __future__ import annotations

import numpy as np

from ..core.layers import Dense, Input

ENABLED = True  # set False to force the NumPy reference loop (tests, benchmarks)
MAX_WORK = 4096  # m × parameters below which scalar loops beat NumPy calls (even at ~8000)
ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "softmax": 4}
LOSS_CODES = {"mse": 0, "binary_cross_entropy": 1, "categorical_cross_entropy": 2}
CHUNK_EPOCHS = 100_000
_kernel = None


def applies(net, optimizer, m: int, batch_size: int, callbacks, validation) -> bool:
    """True when ``fit`` can run the compiled full-batch loop for this network and setup."""
    from ..core.optimizers import GradientDescent

    n_params = sum(p.size for p in net.params)
    if not (ENABLED and batch_size == m and m * n_params <= MAX_WORK and not callbacks
            and validation is None and type(optimizer) is GradientDescent
            and net.loss.name in LOSS_CODES):
        return False
    layers = net.layers
    if not (isinstance(layers[0], Input)
            and all(type(layer) is Dense and layer.g.name in ACTIVATION_CODES
                    for layer in layers[1:])):
        return False
    return _load() is not None


def fit(net, X, Y, learning_rate: float, max_epochs: int, epsilon: float | None, history):
    """Train ``net`` in place; fills and returns ``history`` as the NumPy loop would."""
    import time

    dense = net.layers[1:]
    sizes = np.array(net.sizes, dtype=np.int64)
    acts = np.array([0] + [ACTIVATION_CODES[d.g.name] for d in dense], dtype=np.int64)
    theta = np.concatenate([p.ravel() for d in dense for p in (d.W, d.b)])
    chunk = min(max_epochs, CHUNK_EPOCHS)  # histories come back a chunk of epochs at a time
    losses, changes = np.empty(chunk), np.empty(chunk)
    eps = -1.0 if epsilon is None else epsilon
    start, epochs, converged = time.perf_counter(), 0, False
    while epochs < max_epochs and not converged:
        ran, converged = _kernel(theta, sizes, acts, LOSS_CODES[net.loss.name], X, Y,
                                 learning_rate, min(chunk, max_epochs - epochs), eps,
                                 losses, changes)
        history.loss += losses[:ran].tolist()
        history.max_change += changes[:ran].tolist()
        epochs += ran
    history.time_s = time.perf_counter() - start
    i = 0
    for d in dense:  # unpack θ into every W⁽ˡ⁾, b⁽ˡ⁾ in place
        for p in (d.W, d.b):
            p[...] = theta[i:i + p.size].reshape(p.shape)
            i += p.size
    history.epochs = epochs
    history.converged = bool(converged)
    history.stop_reason = (f"converged: every |ΔW|, |Δb| < ε = {epsilon:g} after {epochs} epochs"
                           if converged else f"reached max_epochs = {max_epochs}")
    net.history = history
    return history


def _load():
    """Compile (or load from numba's cache) the kernel; None where numba is unavailable."""
    global _kernel
    if _kernel is None:
        try:
            from ._tinykernel import train
        except ImportError:  # no numba: the NumPy loop is the reference, numba only speeds it
            return None
        _kernel = train
    return _kernel
