"""The tiny regime: full-batch gradient descent on a small network, in one compiled loop.

For the lecture's networks (XOR on a 2-2-1 sigmoid network: 4 samples, 9 parameters) an epoch
is a few hundred floating-point operations, and NumPy's ~1 µs per call dominates: the generic
loop of :mod:`mlplab.train.loop` costs 20–60 µs an epoch, PyTorch ~190 µs. This module runs the
same 7 steps (forward, δ⁽ᴸ⁾, the δ recursion, ∂C/∂W, the update ``W ← W − α ∂C/∂W``, the ε test)
as scalar loops compiled by numba, well under 1 µs an epoch (numbers in ``bench/README.md``).

:func:`applies` is the one condition under which ``fit`` takes this path: numba importable
(``pip install 'mlplab[fast]'``), ``ENABLED``, plain gradient descent on the full batch, no
callbacks, no validation data, no checkpoint, a stack of Dense layers on NumPy, and a small
problem (``m × parameters ≤ MAX_WORK``). Everything else, and any machine without numba, runs
the training loop. Results equal the core's up to float rounding: the sums over samples and
inputs run in a different order than BLAS's (tests compare the weights after many epochs).
"""

from __future__ import annotations

import numpy as np

from ..core.optimizers import GradientDescent
from .dense import dense_stack

ENABLED = True  # set False to force the NumPy reference loop (tests, benchmarks)
MAX_WORK = 4096  # m × parameters below which scalar loops beat NumPy calls (even at ~8000)
ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "softmax": 4}
LOSS_CODES = {"mse": 0, "binary_cross_entropy": 1, "categorical_cross_entropy": 2}
CHUNK_EPOCHS = 100_000
_kernel = None


def applies(run) -> bool:
    """True when ``fit`` can run the compiled full-batch loop for this run."""
    net = run.net
    if not (ENABLED and run.batch_size == run.m and not run.callbacks.all
            and run.validation is None and run.checkpointer is None
            and type(run.optimizer) is GradientDescent and net.loss.name in LOSS_CODES
            and dense_stack(net) is not None):
        return False
    n_params = sum(p.size for p in net.params)
    if run.m * n_params > MAX_WORK or not all(
            layer.g.name in ACTIVATION_CODES for layer in net.layers[1:]):
        return False
    return _load() is not None


def fit_unwatched(run) -> bool:
    """Train ``run.net`` in one compiled loop when :func:`applies`; False (the weights as they
    were) when it does not, or when training diverged: the guarded loop then reruns it and
    stops at the failing step."""
    if not applies(run):
        return False
    import time

    net, history, epsilon = run.net, run.history, run.epsilon
    initial = [p.copy() for p in net.params]
    dense = net.layers[1:]
    sizes = np.array(net.sizes, dtype=np.int64)
    acts = np.array([0] + [ACTIVATION_CODES[d.g.name] for d in dense], dtype=np.int64)
    theta = np.concatenate([p.ravel() for d in dense for p in (d.W, d.b)])
    chunk = min(run.max_epochs, CHUNK_EPOCHS)  # histories come back a chunk of epochs at a time
    losses, changes = np.empty(chunk), np.empty(chunk)
    eps = -1.0 if epsilon is None else epsilon
    start, epochs, converged = time.perf_counter(), 0, False
    while epochs < run.max_epochs and not converged:
        ran, converged = _kernel(theta, sizes, acts, LOSS_CODES[net.loss.name], run.X, run.Y,
                                 run.optimizer.learning_rate,
                                 min(chunk, run.max_epochs - epochs), eps, losses, changes)
        history.loss += losses[:ran].tolist()
        history.max_change += changes[:ran].tolist()
        epochs += ran
    i = 0
    for d in dense:  # unpack θ into every W⁽ˡ⁾, b⁽ˡ⁾ in place
        for p in (d.W, d.b):
            p[...] = theta[i:i + p.size].reshape(p.shape)
            i += p.size
    if not (np.isfinite(history.loss[-1]) and all(np.isfinite(p).all() for p in net.params)):
        for p, saved in zip(net.params, initial):  # NaN/inf: the guarded loop reruns it
            p[...] = saved
        history.loss.clear()
        history.max_change.clear()
        return False
    history.time_s = time.perf_counter() - start
    history.epochs, history.converged, history.backend = epochs, bool(converged), "numba-tiny"
    history.stop_reason = (f"converged: every |ΔW|, |Δb| < ε = {epsilon:g} after {epochs} epochs"
                           if converged else f"reached max_epochs = {run.max_epochs}")
    run.optimizer.t += epochs
    net.history = history
    return True


def _load():
    """Compile (or load from numba's cache) the kernel; None where numba is unavailable."""
    global _kernel
    from .fused import numba_setting

    if numba_setting() == "off":  # MLPLAB_NUMBA=off: NumPy only, even once the kernel loaded
        return None
    if _kernel is None:
        try:
            from ._tinykernel import train
        except ImportError:  # no numba: the NumPy loop is the reference, numba only speeds it
            return None
        _kernel = train
    return _kernel
