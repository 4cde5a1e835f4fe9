"""The elementwise part of one LSTM or GRU step, for :mod:`mlplab.accel.recurrent`: the core's
formulas (:mod:`mlplab.core.layers.lstm`, :mod:`~mlplab.core.layers.gru`) written into reused
arrays, once in NumPy and once as loops compiled by numba (``pip install 'mlplab[fast]'``),
tested equal to each other and to the core.

What numba can and cannot speed up here: a step's gate arithmetic is ~20 tiny NumPy calls of
1–2 µs each (most of it call overhead), which one compiled loop replaces; but numba's scalar
``exp``/``tanh`` (no SVML in this build) cost ~250 µs for an LSTM step's 16k gate values where
NumPy's SIMD ``tanh`` takes ~9 µs. So the squashing stays in NumPy, one ``tanh`` over all gates
at once: the sigmoid gates' rows of the stacked weights are pre-scaled by ½ (exact: a power of
two), which makes ``σ(z) = ½ + ½·tanh(z/2)`` a multiply-add on what ``tanh`` gave, and the
compiled loops do the rest.

Every cell takes ``one``, the number 1 in the arrays' dtype (the compiled loops keep float32
arithmetic in float32 with it). Layouts (N samples, H units), gate blocks side by side along
the columns:

- LSTM ``G`` ``(N, 4H)``: i, f, o, c̃ (the three sigmoid gates first). On entry to
  :func:`lstm_cell` it holds ``tanh`` of ``(z_i/2, z_f/2, z_o/2, z_c)``; on exit the gates;
- GRU ``G`` ``(N, 3H)``: r, u, n; ``hn = W_hn hₜ₋₁ + b_hn`` (N, H).
"""

from __future__ import annotations

import numpy as np

from .fused import numba_setting
from .mkl import setting as mkl_setting

Array = np.ndarray
ENABLED = True  # False: the NumPy versions even where numba is installed (tests, benchmarks)
MKL = True  # False: no compiled time loops even where MKL is installed (tests, benchmarks)
_compiled = None
_loops = None  # mlplab.accel._rnnloops once imported, False where it cannot be


# ----------------------------------------------------------------------------- NumPy
def lstm_cell(G: Array, c_prev: Array, c: Array, one=1.0) -> None:
    """Gates from their tanh (σ = ½ + ½·tanh(z/2)), then ``cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ c̃ₜ``."""
    H = c.shape[1]
    S = G[:, :3 * H]
    S *= 0.5
    S += 0.5
    np.multiply(G[:, H:2 * H], c_prev, out=c)
    c += G[:, :H] * G[:, 3 * H:]


def lstm_back(dh: Array, dc: Array, G: Array, c_prev: Array, tc: Array, dZ: Array,
              one=1.0) -> None:
    """One step of the LSTM's backward: ``dZ`` gets δi, δf, δo, δc̃; ``dc`` becomes ∂C/∂cₜ₋₁.

    ``dh`` is ``∂C/∂hₜ`` (all of it), ``dc`` on entry ``∂C/∂cₜ`` through ``cₜ₊₁``, ``tc`` is
    ``tanh(cₜ)``.
    """
    H = dh.shape[1]
    i, f, o, g = G[:, :H], G[:, H:2 * H], G[:, 2 * H:3 * H], G[:, 3 * H:]
    dc += dh * o * (1 - tc * tc)  # dc ← dc + dh ⊙ oₜ ⊙ tanh′(cₜ)
    np.multiply(dc * g, i * (1 - i), out=dZ[:, :H])  # δi = dc ⊙ c̃ ⊙ σ′
    np.multiply(dc * c_prev, f * (1 - f), out=dZ[:, H:2 * H])  # δf = dc ⊙ cₜ₋₁ ⊙ σ′
    np.multiply(dh * tc, o * (1 - o), out=dZ[:, 2 * H:3 * H])  # δo = dh ⊙ tanh(cₜ) ⊙ σ′
    np.multiply(dc * i, 1 - g * g, out=dZ[:, 3 * H:])  # δc̃ = dc ⊙ i ⊙ tanh′
    dc *= f  # ∂C/∂cₜ₋₁ = dc ⊙ fₜ


def gru_mix(G: Array, hn: Array, one=1.0) -> None:
    """r, u from their tanh; then ``z_n = (W_xn xₜ + b_n) + rₜ ⊙ hn`` into the n block."""
    H = hn.shape[1]
    S = G[:, :2 * H]
    S *= 0.5
    S += 0.5
    G[:, 2 * H:] += G[:, :H] * hn


def gru_state(G: Array, h_prev: Array, h: Array, one=1.0) -> None:
    """``hₜ = (1 − uₜ) ⊙ nₜ + uₜ ⊙ hₜ₋₁ = nₜ + uₜ ⊙ (hₜ₋₁ − nₜ)``."""
    H = h.shape[1]
    u, n = G[:, H:2 * H], G[:, 2 * H:]
    np.subtract(h_prev, n, out=h)
    h *= u
    h += n


def gru_back(dh: Array, G: Array, hn: Array, h_prev: Array, dZx: Array, dZh: Array,
             carry: Array, one=1.0) -> None:
    """One step of the GRU's backward: ``dZx`` gets δr, δu, δn (for W_x and b), ``dZh`` the
    same with rₜ ⊙ δn in the n block (for W_h and b_hn), ``carry`` gets ``dh ⊙ uₜ``."""
    H = dh.shape[1]
    r, u, n = G[:, :H], G[:, H:2 * H], G[:, 2 * H:]
    dn = np.multiply(dh * (1 - u), 1 - n * n, out=dZx[:, 2 * H:])  # δn
    np.multiply(dh * (h_prev - n), u * (1 - u), out=dZx[:, H:2 * H])  # δu
    np.multiply(dn * hn, r * (1 - r), out=dZx[:, :H])  # δr
    dZh[:, :2 * H] = dZx[:, :2 * H]
    np.multiply(r, dn, out=dZh[:, 2 * H:])  # rₜ ⊙ δn reaches W_hn hₜ₋₁ + b_hn
    np.multiply(dh, u, out=carry)


NUMPY = {"lstm_cell": lstm_cell, "lstm_back": lstm_back, "gru_mix": gru_mix,
         "gru_state": gru_state, "gru_back": gru_back}


def cells() -> dict:
    """The compiled cells where numba is installed and ``ENABLED``, else the NumPy ones."""
    global _compiled
    if not ENABLED or numba_setting() == "off":
        return NUMPY
    if _compiled is None:
        try:
            from . import _rnnkernels
        except ImportError:  # no numba: the NumPy cells compute the same
            _compiled = NUMPY
        else:
            _compiled = {name: getattr(_rnnkernels, name) for name in NUMPY}
    return _compiled


def loops():
    """:mod:`mlplab.accel._rnnloops` (whole chunks of steps compiled, MKL's products) where
    numba and MKL are installed, the compiled cells in use and neither switched off
    (``MLPLAB_NUMBA``, ``MLPLAB_MKL``); else None."""
    global _loops
    setting = mkl_setting()
    if not MKL or setting == "off":
        return None
    if cells() is NUMPY:
        if setting == "on":
            from ..errors import ConfigError

            raise ConfigError("MLPLAB_MKL=on, but the compiled loops need numba too (pip "
                              "install 'mlplab[mkl]'), and MLPLAB_NUMBA must not be off")
        return None
    if _loops is None:
        try:
            from . import _rnnloops
        except ImportError:  # no MKL: the kernels' NumPy steps with the compiled cells
            _loops = False
        else:
            _loops = _rnnloops
    return _loops or None


def name() -> str:
    """"numba" or "numpy": which cells :func:`cells` gives."""
    return "numba" if cells() is not NUMPY else "numpy"
