"""The elementwise work around a dense layer's products, with NumPy or with compiled kernels.

:class:`Elementwise` is what :class:`mlplab.accel.dense.DenseStep` calls after each product:
the bias and the activation (``z = product + b``, ``a = g(z)``), the output layer with its cost
and its delta, the activation's derivative (``δ = dA ⊙ g'(z)``), and the gather of a shuffled
minibatch. It computes them with NumPy (:mod:`mlplab.accel.kernels`: a few passes each, on one
core); :class:`Compiled` computes the same in one pass each with the numba kernels of
:mod:`mlplab.accel.numba_kernels`, the rows shared among :mod:`mlplab.accel.threads`' threads.

numba is optional (``pip install 'mlplab[fast]'``) and its first use in a process costs a
fraction of a second (importing it, loading the compiled kernels from its cache; compiling
them, a few seconds, once per installation). :func:`compiled_kernels` loads them only for a fit
whose work is worth it (:func:`worth_compiling`).
``MLPLAB_NUMBA=off`` in the environment never loads them (``on``: for every fit).
"""

from __future__ import annotations

import os

import numpy as np

from ..core.activations import ACTIVATIONS
from ..errors import ConfigError
from ..core.losses import LOSSES, bce_value, mse_value
from .kernels import CODES, DELTA_INTO, G_INTO, SIGMOID, SKLEARN_OUT, SOFTMAX_CCE, TANH
from .kernels import UNITWISE, softmax_cce_into

Array = np.ndarray
WORTH = 2e8  # multiply-adds of a fit (epochs × rows × parameters) that pay for loading numba
PARALLEL_SIZE = 1 << 17  # elements of a batch array from which its pass is shared by threads
GATHER_THREADS = 4  # from this many threads on, a batch is gathered by all of them
GATHER_SIZE = 1 << 14  # elements from which a shared pool's threads gather a batch together


class Elementwise:
    """The NumPy passes (one core). ``name`` is added to the step's name in the History."""

    name = ""

    def bias_g(self, layer, Z: Array, A: Array) -> Array:
        """``Z += b``, then ``A = g(Z)``; returns A."""
        Z += layer.b  # z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾
        g_into = G_INTO.get(layer.g.name)
        if g_into is not None:
            return g_into(Z, A)
        np.copyto(A, layer.g(Z))
        return A

    def delta_g(self, layer, dA: Array, D: Array) -> Array:
        """``D = dA ⊙ g'(z⁽ˡ⁾)`` (δ⁽ˡ⁾) from the layer's cached ``Z`` and ``A``; returns D."""
        layer.check_differentiable()
        delta_into = DELTA_INTO.get(layer.g.name)
        if delta_into is not None:
            return delta_into(dA, layer.Z, layer.A, D)
        np.multiply(dA, layer.g.g_prime(layer.Z), out=D)
        return D

    def output(self, layer, loss, Z: Array, Y: Array, A: Array, D: Array) -> float:
        """The output layer: ``Z += b``, ``A = g(Z)``, ``D = δ⁽ᴸ⁾``; returns the batch's mean
        cost. A loss of its own (not mlplab's registry's) runs its own formulas."""
        if LOSSES.get(loss.name) is not loss:
            self.bias_g(layer, Z, A)
            np.copyto(D, loss.output_delta(Z, A, Y, layer.g))
            return float(loss.value(A, Y, Z))
        if loss.name == "categorical_cross_entropy":
            Z += layer.b
            cost = softmax_cce_into(Z, Y, A)
        else:
            self.bias_g(layer, Z, A)
            cost = float((mse_value if loss.name == "mse" else bce_value)(A, Y, Z))
        np.subtract(A, Y, out=D)  # a⁽ᴸ⁾ − y
        if loss.name == "mse":  # δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)
            self.delta_g(layer, D.copy(), D)
        return cost

    def gather(self, X: Array, rows: Array, out: Array) -> Array:
        """``out = X[rows]`` (rows of a permutation: no bounds to check)."""
        return X.take(rows, axis=0, out=out, mode="clip")

    def gather_pair(self, X: Array, Y: Array, rows: Array, X_out: Array, Y_out: Array):
        """``(X[rows], Y[rows])`` into ``X_out``, ``Y_out``: a batch and its targets."""
        return self.gather(X, rows, X_out), self.gather(Y, rows, Y_out)

    def close(self) -> None:
        """The fit is over."""


class Compiled(Elementwise):
    """The same passes, each one compiled pass over its arrays, on ``threads`` threads."""

    name = "+numba"

    def __init__(self, kernels, threads: int, pool: int = 1):
        import numba

        self.k, self.threads, self.pool = kernels, threads, pool
        self._before = numba.get_num_threads()  # numba's count is per calling thread
        numba.set_num_threads(max(threads, pool))

    def close(self) -> None:
        import numba

        numba.set_num_threads(self._before)

    def _parallel(self, a: Array) -> bool:
        return self.threads > 1 and a.size >= PARALLEL_SIZE

    def bias_g(self, layer, Z, A):
        code = _code_of(layer.g)
        if code is None or code == TANH or not _rows(Z, A, layer.b):
            return super().bias_g(layer, Z, A)  # tanh: NumPy's is vectorized, numba's is not
        parallel = self._parallel(Z)
        if code == SIGMOID:  # e^(−|z|) by NumPy's vectorized exp, the rest compiled
            self.k.bias_exponent[parallel](Z, layer.b, A)
            np.exp(A, out=A)
            self.k.sigmoid_of[parallel](Z, A)
        else:
            self.k.bias_g[parallel](Z, layer.b, A, code)
        return A

    def delta_g(self, layer, dA, D):
        code = _code_of(layer.g)
        if code is None or not _rows(dA, layer.Z, layer.A, D):
            return super().delta_g(layer, dA, D)
        layer.check_differentiable()
        self.k.delta_g[self._parallel(D)](dA, layer.Z, layer.A, D, code)
        return D

    def output(self, layer, loss, Z, Y, A, D):
        choice = self.output_choice(layer, loss, Z, Y)
        if choice is None or not _rows(Z, Y, A, D):
            return super().output(layer, loss, Z, Y, A, D)
        which, kind, flag, eps, scale = choice
        parallel = self._parallel(Z)
        if which == SKLEARN_OUT:
            cost = self.k.sklearn_output[parallel](Z, layer.b, Y, A, D, kind, eps, scale)
        elif which == SOFTMAX_CCE:
            cost = self.k.softmax_cce[parallel](Z, layer.b, Y, A, D)
        else:
            cost = self.k.unitwise_output[parallel](Z, layer.b, Y, A, D, kind, flag)
        return cost / len(Z)

    def output_choice(self, layer, loss, Z, Y):
        """The output kernel for ``layer``'s activation and ``loss`` on Z's and Y's rows, as
        :meth:`output` and :func:`mlplab.accel._mklkernels.output_tail` call it: ``(which,
        kind, flag, eps, scale)``; None where the loss's own formulas run (a loss of its own,
        a pairing no kernel computes, arrays not C-contiguous of one dtype)."""
        code, dtype = _code_of(layer.g), Z.dtype
        none = (0, False, dtype.type(0), _NO_SCALE)
        if LOSSES.get(loss.name) is not loss:  # scikit-learn's, or a loss of its own
            kernel, args = self._sklearn_output(layer, loss, Z)
            choice = None if kernel is None else (SKLEARN_OUT, args[0], False, args[1], args[2])
        elif loss.name == "categorical_cross_entropy" and layer.g is ACTIVATIONS["softmax"]:
            choice = (SOFTMAX_CCE, *none)
        elif loss.name == "binary_cross_entropy" and layer.g is ACTIVATIONS["sigmoid"]:
            choice = (UNITWISE, SIGMOID, True, *none[2:])
        elif loss.name == "mse" and code is not None:
            choice = (UNITWISE, code, False, *none[2:])
        else:
            choice = None
        return choice if choice is not None and _rows(Z, Y) else None

    def _sklearn_output(self, layer, loss, Z):
        """(kernel, its last arguments) for scikit-learn's loss and output pairings
        (:mod:`mlplab.sklearn._losses`), else (None, ()): the loss's own formulas."""
        state = getattr(loss, "state", None)
        name = getattr(state, "kind", None)
        kind = _SKLEARN_KINDS.get((name, layer.g.name))
        if kind is None or loss.name != f"sklearn_{name}" or \
                layer.g is not ACTIVATIONS.get(layer.g.name):
            return None, ()
        scale = getattr(state, "scale", None)
        if scale is None:
            scale = _NO_SCALE
        elif not (isinstance(scale, np.ndarray) and scale.ndim == 1 and len(scale) == len(Z)):
            return None, ()
        eps = np.finfo(Z.dtype).eps  # scikit-learn's clip of the probabilities
        return self.k.sklearn_output, (kind, eps, scale.astype(np.float64, copy=False))

    def gather(self, X, rows, out):
        if (self.threads < GATHER_THREADS and (self.pool < 2 or out.size < GATHER_SIZE)) \
                or not _rows(X, out):
            return super().gather(X, rows, out)
        self.k.gather[True](X, rows, out)
        return out

    def gather_pair(self, X, Y, rows, X_out, Y_out):
        """One compiled call where the batch is gathered by the threads (the targets' rows
        with it: NumPy's ``take`` of 200 rows of 10 floats took 8.5 µs inside a fit)."""
        if (self.threads < GATHER_THREADS and (self.pool < 2 or X_out.size < GATHER_SIZE)) \
                or not (_rows(X, X_out) and _rows(Y, Y_out)):
            return super().gather_pair(X, Y, rows, X_out, Y_out)
        self.k.gather_pair[True](X, Y, rows, X_out, Y_out)
        return X_out, Y_out


_NO_SCALE = np.zeros(0)  # no sample weights
# scikit-learn's (loss kind, output activation) pairings computed by numba_kernels.sklearn_output
_SKLEARN_KINDS = {("log_loss", "softmax"): 0, ("binary_log_loss", "sigmoid"): 1,
                  ("squared_error", "identity"): 2}  # its LOG_LOSS, BINARY_LOG_LOSS, SQUARED_ERROR


# the kernels' codes of the built-in activations, looked up by id (a frozen dataclass hashes
# all its fields: slower than the kernel call)
_CODES = {id(g): (g, CODES.get(name)) for name, g in ACTIVATIONS.items()}


def _code_of(g) -> int | None:
    """The kernels' code for a built-in activation (None for any other)."""
    entry = _CODES.get(id(g))
    return entry[1] if entry is not None and entry[0] is g else None


def _rows(*arrays) -> bool:
    """True when the arrays are C-contiguous of one dtype (what the kernels take)."""
    dtype = arrays[0].dtype
    for a in arrays:
        if not (a.flags.c_contiguous and a.dtype == dtype):
            return False
    return True


def worth_compiling(run) -> bool:
    """True when a fit is large enough to pay for loading numba: its epochs × rows ×
    parameters (about a third of its multiply-adds) reach :data:`WORTH` (~0.2 s of NumPy)."""
    n_params = sum(p.size for p in run.net.params)
    return run.max_epochs * run.m * n_params >= WORTH


def numba_setting() -> str:
    """``MLPLAB_NUMBA``: "off" (never load numba), "on" (for every fit) or "auto"."""
    return env_switch("MLPLAB_NUMBA", "auto", ("auto", "on", "off"))


def compiled_kernels(run=None):
    """:mod:`mlplab.accel.numba_kernels` when numba may be used for ``run``: installed, not
    switched off, and :func:`worth_compiling` (or ``MLPLAB_NUMBA=on``); else None. The choice
    depends on the run alone, not on what the process did before: the same fit always takes
    the same path (a resumed checkpoint continues bit for bit)."""
    setting = numba_setting()
    if setting == "off" or run is not None and setting != "on" and not worth_compiling(run):
        return None
    try:
        from . import numba_kernels
    except ImportError:  # numba not installed: NumPy computes the same
        return None
    return numba_kernels


def parallel_setting() -> bool:
    """``MLPLAB_PARALLEL=on``: the compiled passes and updates share their work among the
    threads BLAS may use. Off by default: on 2 cores, numba's default (OpenMP) threads spinning
    beside OpenBLAS's made a 784-256-128-10 epoch at batch 1,024 six times slower (1.0 s
    against 0.17 s serial, 30,000 rows; numba's workqueue layer, whose threads sleep: 0.17 s,
    no gain either; ``bench/parallel_passes.py``). ``bench/many_cores.sh`` measures it on many
    cores."""
    return env_switch("MLPLAB_PARALLEL", "off", ("on", "off")) == "on"


def env_switch(name: str, default: str, allowed: tuple[str, ...]) -> str:
    """An on/off switch from the environment (1/yes/true mean on, 0/no/false off)."""
    value = os.environ.get(name, default).strip().lower()
    value = {"1": "on", "yes": "on", "true": "on", "0": "off", "no": "off",
             "false": "off"}.get(value, value)
    if value not in allowed:
        raise ConfigError(f"{name}={os.environ[name]!r} is not one of {', '.join(allowed)}: "
                          f"set it to one of them or unset it")
    return value


def for_run(run, pool: int = 1) -> tuple[Elementwise, object | None, int]:
    """The elementwise passes for ``run``, the compiled kernels (or None) and their threads.
    ``pool``: the threads MKL's products share with numba
    (:func:`mlplab.accel.products.shared_pool_threads`): with more than one, a shuffled batch
    is gathered by all of them (on 2 cores 60 µs against 100 for 200 rows of 784 floats)."""
    parallel = parallel_setting()  # read (and checked) on every fit, used with the kernels
    kernels = compiled_kernels(run)
    if kernels is None:
        return Elementwise(), None, 1
    from .threads import kernel_threads

    threads = kernel_threads() if parallel else 1
    return Compiled(kernels, threads, pool), kernels, threads
