"""scikit-learn's MLP losses as mlplab losses: what the estimators minimize and report.

The network's own cost stays the lecture's (:mod:`mlplab.core.losses`, mean over the samples
of ``½‖a − y‖²`` or a cross-entropy). While an estimator trains, its network's loss is a
:class:`SklearnLoss` instead, which differs in three ways:

- **the value scikit-learn reports** (``loss_``, ``loss_curve_``): ``squared_error`` is
  ``½·mean((y − a)²)`` over the samples *and the outputs*, i.e. the lecture's cost divided by
  the number of outputs; the log-losses clip the probabilities to ``[eps, 1 − eps]``;
  ``poisson`` is half the Poisson deviance ``y·log(y/a) − y + a`` after an ``exp`` output;
- **the gradient scikit-learn takes**: the output delta is ``δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y`` for each of its
  pairings (identity and squared error, logistic and binary log-loss, softmax and log-loss,
  exp and Poisson), never divided by the number of outputs: for several regression outputs
  it is the gradient of the lecture's cost, not of the reported value (as in scikit-learn);
- **sample weights** ``s``: the batch's value is the weighted mean ``Σ sᵢ cᵢ / Σ sᵢ``, and
  each row of δ⁽ᴸ⁾ is scaled by ``sᵢ · m / Σ s`` so that the network's mean over the m rows
  gives ``Σ sᵢ δᵢ / Σ s``, scikit-learn's weighted gradient.

mlplab's own ``loss="squared_error"`` for the classifier (logistic outputs with the lecture's
``½‖a − y‖²``) keeps the lecture's value and delta ``(a − y) ⊙ σ'(z)``, weighted the same way.

Everything here computes with the array library of its inputs (:mod:`._device`): NumPy on
the CPU, PyTorch on ``device="torch"`` or a GPU, where a batch's value stays a 0-d array on
the device (the training loop sums it there and reads the epoch's total once).
"""

from __future__ import annotations

import numpy as np

from ..core.activations import Activation
from ..core.losses import Loss, get_loss
from ._device import array_module

Array = np.ndarray


def _exp(z: Array) -> Array:
    return array_module(z).exp(z)


def _exp_derivative(z: Array, a: Array) -> Array:
    return a  # (eᶻ)' = eᶻ = a


# the Poisson regressor's output g (scikit-learn's log link); not in the core's registry
EXP = Activation("exp", _exp, _exp, _exp_derivative)


def _xlogy(x: Array, y: Array) -> Array:
    """``x·log(y)``, 0 where ``x`` is 0 (SciPy's ``xlogy`` on NumPy)."""
    if isinstance(x, np.ndarray):
        from scipy.special import xlogy

        return xlogy(x, y)
    xp = array_module(x)
    return xp.where(x == 0, xp.zeros_like(x), x * xp.log(y))


def per_sample_cost(kind: str, a: Array, y: Array) -> Array:
    """scikit-learn's cost of each row, summed over the outputs (the mean for squared error)."""
    xp = array_module(a)
    if kind == "squared_error":
        return 0.5 * xp.mean((y - a) ** 2, axis=1)
    if kind == "mse":  # mlplab's classifier option: the lecture's ½‖a − y‖²
        return 0.5 * xp.sum((y - a) ** 2, axis=1)
    if kind == "poisson":
        return xp.sum(_xlogy(y, y / a) - y + a, axis=1)
    # the targets are 0/1 and p is clipped away from 0: y·log p is scikit-learn's xlogy(y, p)
    eps = xp.finfo(a.dtype).eps
    p = xp.clip(a, eps, 1 - eps)
    if kind == "binary_log_loss":
        return -xp.sum(y * xp.log(p) + (1 - y) * xp.log(1 - p), axis=1)
    return -xp.sum(y * xp.log(p), axis=1)  # log_loss after a softmax


class SklearnLoss:
    """One of scikit-learn's losses, with the sample weights of the current batch.

    Parameters
    ----------
    kind : {'squared_error', 'poisson', 'log_loss', 'binary_log_loss', 'mse'}
    output : str or None
        The output activation the loss pairs with (for mlplab's pairing check).
    """

    def __init__(self, kind: str, output: str | None):
        self.kind, self.output = kind, output
        self.weights: Array | None = None  # sᵢ of the batch, or None for equal weights
        self.scale: Array | None = None    # sᵢ · m / Σ s, per row of δ⁽ᴸ⁾

    def use_weights(self, weights: Array | None) -> None:
        """Weigh the rows of the next batches by ``weights`` (None: all alike), an array on
        the data's device."""
        self.weights = weights
        if weights is not None:
            self.scale = weights * (weights.shape[0] / array_module(weights).sum(weights))
        else:
            self.scale = None

    def value(self, a: Array, y: Array, z: Array | None = None):
        """The batch's (weighted) mean cost: a float on NumPy, else a 0-d array."""
        costs = per_sample_cost(self.kind, a, y)
        xp = array_module(costs)
        if self.weights is None:
            mean = xp.mean(costs)
        else:  # np.average's Σ sᵢcᵢ / Σ sᵢ
            mean = xp.sum(costs * self.weights) / xp.sum(self.weights)
        return float(mean) if xp is np else mean

    def output_delta(self, z: Array, a: Array, y: Array, g: Activation) -> Array:
        # δ⁽ᴸ⁾ = a − y for scikit-learn's pairings; the lecture's (a − y) ⊙ σ'(z) for "mse"
        delta = get_loss("mse").output_delta(z, a, y, g) if self.kind == "mse" else a - y
        if self.scale is not None:
            delta *= self.scale[:, None]
        return delta

    def as_loss(self) -> Loss:
        """This loss in the form a :class:`~mlplab.Network` takes (``net.loss``)."""
        return Loss(f"sklearn_{self.kind}", self.value, self.output_delta, self.output,
                    state=self)  # an accelerator reads kind and scale (numba_kernels)
