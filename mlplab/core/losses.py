"""Costs and their output-layer deltas.

Convention: every cost is the **mean over the samples of the batch** of a per-sample cost.
For MSE the per-sample cost is the lecture's ``C = ½‖a⁽ᴸ⁾ − y‖²``.

Each :class:`Loss` gives

- ``value(a, y, z=None)``: the mean cost (cross-entropies use the logits ``z`` when given, so
  they stay finite where ``a`` rounds to 0 or 1);
- ``output_delta(z, a, y, g)``: the per-sample output delta ``δ⁽ᴸ⁾ = ∂C/∂z⁽ᴸ⁾`` (rows = samples,
  not yet divided by the batch size);
- optionally ``output_and_value(z, y, out)``: the output activation written into ``out`` and
  the mean cost, computed together (training's forward pass; see :func:`softmax_cce_into`).

For MSE ``δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)``; for binary cross-entropy after a sigmoid and
categorical cross-entropy after a softmax the derivative cancels and ``δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .activations import EXP_SAFE, Activation, get_activation, ones, softmax_into
from ..errors import ConfigError

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    """A cost with its output-layer delta.

    Attributes
    ----------
    name : str
    output : str
        The output activation this loss is designed for (``None`` for any).
    """

    name: str
    value: Callable[..., float]
    output_delta: Callable[[Array, Array, Array, Activation], Array]
    output: str | None = None
    output_and_value: Callable[[Array, Array, Array], float] | None = None

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def mse_value(a: Array, y: Array, z: Array | None = None) -> float:
    """C = mean over samples of ½‖a − y‖²."""
    diff = a - y
    return float(0.5 * np.einsum("ij,ij->", diff, diff) / len(a))


def mse_output_delta(z: Array, a: Array, y: Array, g: Activation) -> Array:
    # δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)
    return (a - y) * g.derivative(z, a)


def bce_value(a: Array, y: Array, z: Array | None = None) -> float:
    """Binary cross-entropy, mean over samples, summed over output units.

    From the logits: −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y·z.
    """
    if z is not None:
        return float(np.sum(np.logaddexp(0, z) - y * z) / len(z))
    eps = np.finfo(a.dtype).eps
    a = np.clip(a, eps, 1 - eps)
    return float(-np.sum(y * np.log(a) + (1 - y) * np.log1p(-a)) / len(a))


def cce_value(a: Array, y: Array, z: Array | None = None) -> float:
    """Categorical cross-entropy −Σ y log softmax(z), mean over samples.

    From the logits: logsumexp(z) − Σ y·z.
    """
    if z is not None:
        # Σ logsumexp(z) − Σ y·z, each row shifted by its maximum so exp never overflows
        zmax = z.max(axis=1, keepdims=True)
        lse_sum = np.log(np.exp(z - zmax).sum(axis=1)).sum() + zmax.sum()
        return float((lse_sum - np.vdot(y, z)) / len(z))
    eps = np.finfo(a.dtype).eps
    return float(-np.sum(y * np.log(np.clip(a, eps, 1))) / len(a))


def softmax_cce_into(z: Array, y: Array, out: Array) -> float:
    """``out = softmax(z)`` row by row, and the mean categorical cross-entropy, together.

    Softmax is invariant to a shift of each row; the usual shift by the row's maximum only
    keeps ``exp`` in range. When every logit lies within ±70 (float32; ±690 float64), checked
    with two whole-array reductions, ``exp(z)`` needs no shift, and the cost
    ``Σ log Σⱼ exp(zⱼ) − Σ y·z`` reuses the row sums ``Σⱼ exp(zⱼ)`` (a BLAS product with a ones
    vector). Six NumPy calls instead of about fifteen (row maxima of short rows are slow);
    otherwise the shifted formulas of :func:`mlplab.activations.softmax_into` and
    :func:`cce_value` run.
    """
    limit = EXP_SAFE.get(z.dtype)
    if limit is None or z.ndim != 2 or not (z.max() < limit and z.min() > -limit):
        softmax_into(z, out)  # shifted by the row maxima
        return cce_value(out, y, z)
    np.exp(z, out=out)
    s = out @ ones(z.shape[1], z.dtype)  # Σⱼ exp(zⱼ) per row
    cost = (float(np.log(s).sum()) - float(np.vdot(y, z))) / len(z)
    out /= s[:, None]
    return cost


def ce_output_delta(z: Array, a: Array, y: Array, g: Activation) -> Array:
    # δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y: σ'(z) (or the softmax Jacobian) cancels against ∂C/∂a
    return a - y


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", mse_value, mse_output_delta, None),
    "binary_cross_entropy": Loss("binary_cross_entropy", bce_value, ce_output_delta, "sigmoid"),
    "categorical_cross_entropy": Loss(
        "categorical_cross_entropy", cce_value, ce_output_delta, "softmax", softmax_cce_into
    ),
}
ALIASES = {
    "squared_error": "mse",
    "bce": "binary_cross_entropy",
    "log_loss": "binary_cross_entropy",
    "cce": "categorical_cross_entropy",
}


def get_loss(name: str | Loss, n_outputs: int = 1) -> Loss:
    """Look a loss up by name.

    ``"cross_entropy"`` picks binary cross-entropy for one output unit and categorical
    cross-entropy for several.
    """
    if isinstance(name, Loss):
        return name
    key = str(name).lower()
    if key == "cross_entropy":
        key = "binary_cross_entropy" if n_outputs == 1 else "categorical_cross_entropy"
    key = ALIASES.get(key, key)
    if key not in LOSSES:
        known = ", ".join(sorted(LOSSES) + sorted(ALIASES) + ["cross_entropy"])
        raise ConfigError(f"unknown loss {name!r}; choose one of: {known}")
    return LOSSES[key]


def check_pairing(loss: Loss, output: Activation) -> None:
    """Cross-entropies need their own output activation; the delta a − y depends on it."""
    if loss.output is not None and output.name != loss.output:
        raise ConfigError(
            f"loss {loss.name!r} needs output activation {loss.output!r}, got "
            f"{output.name!r}; pass output={loss.output!r} or use loss='mse'"
        )
    if output.name == "softmax" and loss.name != "categorical_cross_entropy":
        raise ConfigError(
            "a softmax output needs loss='cross_entropy' (categorical); "
            "for MSE choose output='sigmoid' or 'identity'"
        )


def default_output(loss: Loss, hidden: Activation) -> Activation:
    """The output activation used when the user does not name one."""
    # MSE: the lecture's network uses the sigmoid in every layer, output included; with any
    # other hidden activation MSE is regression and the output is linear.
    if loss.output is not None:
        return get_activation(loss.output)
    return hidden if hidden.name == "sigmoid" else get_activation("identity")
