"""Costs and their output-layer deltas.

Convention: every cost is the **mean over the samples of the batch** of a per-sample cost.
For MSE the per-sample cost is the lecture's ``C = ½‖a⁽ᴸ⁾ − y‖²``.

Each :class:`Loss` gives

- ``value(a, y, z=None)``: the mean cost, a 0-d array (cross-entropies use the logits ``z``
  when given, so they stay finite where ``a`` rounds to 0 or 1);
- ``output_delta(z, a, y, g)``: the per-sample output delta ``δ⁽ᴸ⁾ = ∂C/∂z⁽ᴸ⁾`` (rows are
  samples; the mean's 1/m is applied with the gradients).

For MSE ``δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)``; for binary cross-entropy after a sigmoid and
categorical cross-entropy after a softmax the derivative cancels and ``δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError, DataError
from .activations import Activation, get_activation
from .xp import namespace

Array = object


@dataclass(frozen=True)
class Loss:
    """A cost with its output-layer delta.

    Attributes
    ----------
    name : str
    value : callable, (a, y, z=None) -> the mean cost (0-d array)
    output_delta : callable, (z, a, y, g) -> δ⁽ᴸ⁾
    output : str or None
        The output activation this loss is designed for (None: any).
    state : object or None
        What ``value`` and ``output_delta`` read besides their arguments, for an accelerator
        that computes the same formulas in one pass (scikit-learn's losses: the
        :class:`~mlplab.sklearn._losses.SklearnLoss` with its ``kind`` and the batch's
        sample weights); None for the lecture's losses.
    """

    name: str
    value: Callable[..., Array]
    output_delta: Callable[[Array, Array, Array, Activation], Array]
    output: str | None = None
    state: object = None

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def mse_value(a, y, z=None):
    """C = mean over samples of ½‖a − y‖²."""
    diff = a - y
    return 0.5 * namespace(a).sum(diff * diff) / a.shape[0]


def mse_output_delta(z, a, y, g: Activation):
    return (a - y) * g.g_prime(z)  # δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ g'(z⁽ᴸ⁾)


def bce_value(a, y, z=None):
    """Binary cross-entropy, mean over samples, summed over output units.

    From the logits: −[y log σ(z) + (1 − y) log(1 − σ(z))] = log(1 + e^z) − y·z.
    """
    xp = namespace(a if z is None else z)
    if z is not None:
        return xp.sum(xp.logaddexp(xp.zeros_like(z), z) - y * z) / z.shape[0]
    eps = xp.finfo(a.dtype).eps
    a = xp.clip(a, eps, 1 - eps)
    return -xp.sum(y * xp.log(a) + (1 - y) * xp.log1p(-a)) / a.shape[0]


def cce_value(a, y, z=None):
    """Categorical cross-entropy −Σ y log softmax(z), mean over samples.

    From the logits: log Σⱼ e^(zⱼ) − Σ y·z, each row shifted by its maximum so that exp never
    overflows.
    """
    xp = namespace(a if z is None else z)
    if z is not None:  # the classes lie along the last axis (a sequence's steps before it)
        zmax = xp.max(z, axis=-1, keepdims=True)
        log_sum = xp.log(xp.sum(xp.exp(z - zmax), axis=-1)) + zmax[..., 0]
        return (xp.sum(log_sum) - xp.sum(y * z)) / z.shape[0]
    eps = xp.finfo(a.dtype).eps
    return -xp.sum(y * xp.log(xp.clip(a, eps, 1))) / a.shape[0]


def ce_output_delta(z, a, y, g: Activation):
    return a - y  # δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y: σ'(z) (or the softmax Jacobian) cancels against ∂C/∂a


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", mse_value, mse_output_delta, None),
    "binary_cross_entropy": Loss("binary_cross_entropy", bce_value, ce_output_delta, "sigmoid"),
    "categorical_cross_entropy": Loss("categorical_cross_entropy", cce_value, ce_output_delta,
                                      "softmax"),
}
ALIASES = {"squared_error": "mse", "bce": "binary_cross_entropy",
           "log_loss": "binary_cross_entropy", "cce": "categorical_cross_entropy"}


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
        raise ConfigError(f"loss {loss.name!r} needs output activation {loss.output!r}, got "
                          f"{output.name!r}; pass output={loss.output!r} or use loss='mse'")
    if output.name == "softmax" and loss.name != "categorical_cross_entropy":
        raise ConfigError("a softmax output needs loss='cross_entropy' (categorical); "
                          "for MSE choose output='sigmoid' or 'identity'")


def check_targets(loss: Loss, Y: Array, name: str = "Y") -> None:
    """Cross-entropy's targets are probabilities: each in [0, 1] and, for the categorical one,
    each row a distribution over the classes (summing to 1: one-hot, or soft labels). Beyond
    them the cost has no minimum (y = 2 pushes z to infinity) and training diverges."""
    if loss.name not in ("binary_cross_entropy", "categorical_cross_entropy"):
        return
    xp = namespace(Y)
    if bool(xp.any(Y < 0)) or bool(xp.any(Y > 1)):
        raise DataError(f"{name} holds values outside [0, 1], but {loss.name} needs "
                        "probabilities (0/1 labels or soft labels); pass class labels or "
                        "one-hot rows (±1 labels: (y + 1) / 2), or use loss='mse' for other "
                        "targets")
    if loss.name == "categorical_cross_entropy":
        off = xp.abs(xp.sum(Y, axis=-1) - 1) > 1e-3
        if bool(xp.any(off)):
            raise DataError(f"{name}'s rows must each sum to 1 for categorical cross-entropy "
                            f"({int(xp.sum(xp.astype(off, xp.int64)))} do not): one-hot rows "
                            "or a distribution over the classes (every step of a sequence "
                            "too: there is no per-step mask); for several labels per sample "
                            "use output='sigmoid' with binary cross-entropy")


def default_output(loss: Loss, hidden: Activation) -> Activation:
    """The output activation used when the user does not name one."""
    # MSE: the lecture's network uses the sigmoid in every layer, output included; with any
    # other hidden activation MSE is regression and the output is linear.
    if loss.output is not None:
        return get_activation(loss.output)
    return hidden if hidden.name == "sigmoid" else get_activation("identity")
