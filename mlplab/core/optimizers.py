"""Update rules: step 5 of the lecture's algorithm. Each optimizer writes only its rule.

``params`` and ``grads`` are aligned lists (``[W⁽¹⁾, b⁽¹⁾, …]`` and their gradients);
:meth:`Optimizer.step` applies :meth:`~Optimizer.update` to each pair, keeping per-parameter
state (velocity, moments) by position. Parameters are changed in place (``p -= …``), so that a
reference to ``net.layers[l].W`` stays the live weight matrix. ``state_dict`` and
``load_state_dict`` save and restore the state (for checkpoints).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ConfigError
from .validation import check_learning_rate
from .xp import is_array_api_obj, place, to_numpy

Array = object


class Optimizer:
    """Base class: ``step`` calls ``update`` on every (parameter, gradient) pair."""

    name = "optimizer"

    def __init__(self, learning_rate: float):
        self.learning_rate = check_learning_rate(learning_rate)
        self.t = 0  # steps taken
        self.state: list[dict[str, Array]] = []

    def step(self, params: list[Array], grads: list[Array]) -> None:
        """One update of every parameter: ``p ← rule(p, ∂C/∂p)``."""
        if len(self.state) != len(params):
            self.state = [self.init_state(p) for p in params]
        self.t += 1
        for p, g, s in zip(params, grads, self.state):
            self.update(p, g, s)

    def init_state(self, p: Array) -> dict[str, Array]:
        return {}

    def update(self, p: Array, g: Array, state: dict[str, Array]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """The step count and the state as NumPy arrays."""
        return {"t": self.t, "state": [{k: to_numpy(v).copy() for k, v in s.items()}
                                       for s in self.state]}

    def load_state_dict(self, d: dict, params: list[Array] | None = None) -> None:
        """Take back :meth:`state_dict`'s record (moved to ``params``' device when given), as
        copies: training goes on in the optimizer's own arrays, never in the record's."""
        self.t = int(d["t"])
        where = [place(p) for p in params] if params else [None] * len(d["state"])
        self.state = [{k: w.asarray(to_numpy(v).copy()) if w is not None else _copy(v)
                       for k, v in s.items()} for s, w in zip(d["state"], where)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


def _copy(v):
    """A copy of a state array, of its own library (a NumPy array for anything else)."""
    return place(v).xp.asarray(v, copy=True) if is_array_api_obj(v) else np.array(v)


def _zeros_like(p):
    return place(p).xp.zeros_like(p)


class GradientDescent(Optimizer):
    """The lecture's rule ``W ← W − α ∂C/∂W`` (full batch: "gd"; minibatches: "sgd")."""

    name = "gd"

    def update(self, p, g, state):
        p -= self.learning_rate * g  # W ← W − α ∂C/∂W


class Momentum(Optimizer):
    """Gradient descent with momentum β (Polyak), or Nesterov's look-ahead::

        v ← β v − α g
        p ← p + v                      (classical)
        p ← p + β v − α g              (Nesterov)
    """

    name = "momentum"

    def __init__(self, learning_rate: float, momentum: float = 0.9, nesterov: bool = False):
        super().__init__(learning_rate)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum < 1:
            raise ConfigError(f"momentum β must be in [0, 1), got {momentum!r}; 0.9 is usual")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def init_state(self, p):
        return {"v": _zeros_like(p)}

    def update(self, p, g, state):
        v = state["v"] = self.momentum * state["v"] - self.learning_rate * g
        if self.nesterov:
            p += self.momentum * v - self.learning_rate * g
        else:
            p += v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015)::

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        p ← p − α · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

    The two bias corrections are folded into scalars, as PyTorch does.
    """

    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8):
        super().__init__(learning_rate)
        for nm, val in (("beta_1", beta_1), ("beta_2", beta_2)):
            if isinstance(val, bool) or not isinstance(val, numbers.Real) or not 0 <= val < 1:
                raise ConfigError(f"Adam's {nm} must be in [0, 1), got {val!r}")
        if not (isinstance(epsilon, numbers.Real) and epsilon > 0):
            raise ConfigError(f"Adam's epsilon must be > 0, got {epsilon!r}")
        self.beta_1, self.beta_2, self.eps = float(beta_1), float(beta_2), float(epsilon)

    def init_state(self, p):
        return {"m": _zeros_like(p), "v": _zeros_like(p)}

    def update(self, p, g, state):
        m = state["m"] = self.beta_1 * state["m"] + (1 - self.beta_1) * g
        v = state["v"] = self.beta_2 * state["v"] + (1 - self.beta_2) * (g * g)
        step = self.learning_rate / (1 - self.beta_1 ** self.t)  # α / (1 − β₁ᵗ)
        root_c2 = math.sqrt(1 - self.beta_2 ** self.t)  # √(1 − β₂ᵗ)
        p -= m * step / (place(v).xp.sqrt(v) / root_c2 + self.eps)


OPTIMIZERS = {"gd": GradientDescent, "sgd": GradientDescent, "momentum": Momentum,
              "nesterov": Momentum, "adam": Adam}


def get_optimizer(name: str | Optimizer, learning_rate: float, **options) -> Optimizer:
    """Build an optimizer by name: gd, sgd, momentum, nesterov, adam."""
    if isinstance(name, Optimizer):
        return name
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[key]
    if key == "nesterov":
        options.setdefault("nesterov", True)
    accepted = {GradientDescent: (), Momentum: ("momentum", "nesterov"),
                Adam: ("beta_1", "beta_2", "epsilon")}[cls]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"optimizer {key!r} takes no option {unknown[0]!r}; "
                          f"it accepts: {', '.join(accepted) or 'only learning_rate'}")
    return cls(learning_rate, **options)
