"""Update rules. Each optimizer writes only its rule, in place, for one parameter array.

``params`` and ``grads`` are aligned lists (``[W⁽¹⁾, b⁽¹⁾, …]`` and their gradients);
``step`` applies the rule to each pair, keeping per-parameter state (velocity, moments) by
position. ``state_dict``/``load_state_dict`` save and restore that state (for checkpoints).

Every rule runs in place: its intermediate products go into work arrays kept per parameter
shape (:meth:`Optimizer.scratch`, never saved), in the same order of operations as the
formulas in the docstrings, so the numbers are those of the plain NumPy expressions without
their temporaries (an Adam step on a 256 × 784 float32 W allocated 8 arrays of its size).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ConfigError
from .validation import check_learning_rate

Array = np.ndarray


class Optimizer:
    """Base class: ``step`` calls ``update`` on every (parameter, gradient) pair."""

    name = "optimizer"

    def __init__(self, learning_rate: float):
        self.learning_rate = check_learning_rate(learning_rate)
        self.t = 0  # steps taken
        self.state: list[dict[str, Array]] = []
        self._scratch: dict[tuple, list[Array]] = {}
        self._loaded = False  # state from load_state_dict, not yet laid out like the params
        self._flat_state: dict[str, Array] = {}  # the state as flat buffers (flat steps)
        self._flat_of: Array | None = None  # the parameter buffer that state belongs to

    def scratch(self, p: Array, k: int) -> list[Array]:
        """``k`` work arrays shaped like ``p`` (overwritten by every update; not state)."""
        key = (p.shape, p.dtype.str)
        arrays = self._scratch.get(key)
        if arrays is None or len(arrays) < k:
            if len(self._scratch) > 32:
                self._scratch.clear()
            arrays = self._scratch[key] = [np.empty_like(p) for _ in range(k)]
        return arrays

    def step(self, params: list[Array], grads: list[Array], flat=None) -> None:
        """Apply the rule to every (parameter, gradient) pair; with ``flat`` (the network's
        :class:`~mlplab.parameters.FlatParameters`, of which ``params`` are the views) a
        built-in elementwise rule runs once over the whole buffer, with the same numbers."""
        if flat is not None and type(self).update in _ELEMENTWISE:
            self._flat_step(params, flat)
            return
        if not self.state:
            self.state = [self.init_state(p) for p in params]
        elif self._loaded:  # a file's arrays are row-major; Dense's W is column-major
            self.state = [{k: _like(p, v) for k, v in s.items()}
                          for p, s in zip(params, self.state)]
            self._loaded = False
        self.t += 1
        for p, g, s in zip(params, grads, self.state):
            self.update(p, g, s)

    def _flat_step(self, params: list[Array], flat) -> None:
        if self._flat_of is not flat.p:  # first flat step on these buffers: the state moves
            old = self.state or [self.init_state(p) for p in params]  # into flat buffers too
            self._flat_state = {k: np.zeros_like(flat.p) for k in self.init_state(flat.p)}
            views = {k: flat.like(buf, params) for k, buf in self._flat_state.items()}
            for i, s in enumerate(old):
                for k, v in s.items():
                    views[k][i][...] = v
            self.state = [{k: views[k][i] for k in views} for i in range(len(params))]
            self._flat_of, self._loaded = flat.p, False
        self.t += 1
        self.update(flat.p, flat.g, self._flat_state)

    def init_state(self, p: Array) -> dict[str, Array]:
        return {}

    def update(self, p: Array, g: Array, state: dict[str, Array]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"t": self.t, "state": [{k: v.copy() for k, v in s.items()} for s in self.state]}

    def load_state_dict(self, d: dict) -> None:
        self.t = int(d["t"])
        self.state = [{k: np.array(v) for k, v in s.items()} for s in d["state"]]
        self._loaded, self._flat_of = True, None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


def _like(p: Array, v: Array) -> Array:
    """v with p's memory layout (same numbers), so that the in-place rules run as fast as
    on state made by ``init_state``."""
    if v.shape != p.shape or v.strides == p.strides:
        return v
    out = np.empty_like(p, dtype=v.dtype)
    out[...] = v
    return out


class GradientDescent(Optimizer):
    """The lecture's rule ``W ← W − α ∂C/∂W`` (full batch: "gd"; minibatches: "sgd")::

        p -= α · g
    """

    name = "gd"

    def update(self, p, g, state):
        (step,) = self.scratch(p, 1)
        p -= np.multiply(g, self.learning_rate, out=step)  # α·g


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
        return {"v": np.zeros_like(p)}

    def update(self, p, g, state):
        v = state["v"]
        ag, look = self.scratch(p, 2)
        np.multiply(g, self.learning_rate, out=ag)  # α·g
        v *= self.momentum
        v -= ag
        if self.nesterov:
            np.multiply(v, self.momentum, out=look)  # β·v − α·g
            look -= ag
            p += look
        else:
            p += v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015)::

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        p ← p − α · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
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
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def update(self, p, g, state):
        m, v = state["m"], state["v"]
        a, b = self.scratch(p, 2)
        m *= self.beta_1
        m += np.multiply(g, 1 - self.beta_1, out=a)
        v *= self.beta_2
        np.multiply(g, g, out=a)
        v += np.multiply(a, 1 - self.beta_2, out=a)  # (1 − β₂)·g²
        # m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ), folded into scalars (as PyTorch does). Python
        # floats keep float32 parameters float32 under NumPy 2's promotion rules.
        step = float(self.learning_rate / (1 - self.beta_1**self.t))
        root_c2 = float(np.sqrt(1 - self.beta_2**self.t))
        np.sqrt(v, out=a)
        a /= root_c2
        a += self.eps  # √v̂ + ε
        np.multiply(m, step, out=b)
        b /= a
        p -= b


# rules that treat every element alike, so that one call over all parameters equals one per array
_ELEMENTWISE = {GradientDescent.update, Momentum.update, Adam.update}
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
