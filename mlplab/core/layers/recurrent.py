"""Recurrent layers: the lecture's layer applied at every time step with shared weights, and
backpropagation through time as the δ recursion run backwards along t instead of along l.

Sequences are ``(m, T, features)`` (samples first, then time), declared ``Input((T, features))``.
The simple recurrent layer, for t = 1 … T, with ``h₀`` the initial state (0 by default)::

    zₜ = W_x xₜ + W_h hₜ₋₁ + b,   hₜ = g(zₜ)                       (one step forward)
    δₜ = (W_hᵀ δₜ₊₁ + ∂C/∂hₜ) ⊙ g′(zₜ)                              (one step backward)
    ∂C/∂W_x = Σₜ δₜ xₜᵀ,   ∂C/∂W_h = Σₜ δₜ hₜ₋₁ᵀ,   ∂C/∂b = Σₜ δₜ

``∂C/∂hₜ`` is what the layer above sends for step t (only for t = T when the layer returns its
last state), and ``W_hᵀ δₜ₊₁`` is what step t+1 sends back through ``W_h``: the lecture's
``(W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾`` with the next *time step* in the place of the next *layer*. Unrolled, the
error reaching step t from step T is multiplied by ``W_hᵀ diag(g′(zₖ))`` once per step between
them: "若此部分大于1…梯度爆炸，小于1…梯度消失", in time. Gradients are means over the batch,
as everywhere in mlplab.

Shapes follow the dense layer: ``W_x`` is ``(n_hidden, n_in)``, ``W_h`` is
``(n_hidden, n_hidden)``, ``b`` is ``(n_hidden,)``; with rows of samples ``W_x xₜ`` is
``X[:, t] @ W_x.T``. :class:`~mlplab.core.layers.lstm.LSTM` and
:class:`~mlplab.core.layers.gru.GRU` keep one such triple per gate and change only the step.

Options every recurrent layer has:

- ``return_sequences``: False gives the last state ``h_T`` (many-to-one, ``(m, n_hidden)``);
  True gives every ``hₜ`` (many-to-many, ``(m, T, n_hidden)``), for a
  :class:`~mlplab.core.layers.timedense.TimeDense` head or another recurrent layer;
- ``initial_state``: an attribute, None (zeros) or ``h₀`` (``(n_hidden,)`` or ``(m, n_hidden)``;
  for the LSTM a pair ``(h₀, c₀)``); after a forward, ``state`` holds the last state, so a
  sequence can be continued (sampling text one character at a time); after a backward,
  ``dstate0`` holds ``∂C/∂h₀`` (and ``∂C/∂c₀``);
- ``mask_value``: variable-length sequences by *padding*. A time step whose every feature equals
  ``mask_value`` is padding: the state is carried through unchanged (``hₜ = hₜ₋₁``) and so is its
  gradient, so the last state is that of the last real step whether the padding comes before or
  after. With ``return_sequences=True`` a padded step outputs its carried state, and a loss
  over ``(m, T, k)`` outputs still counts it (there is no per-step loss mask).
"""

from __future__ import annotations

import numbers

import numpy as np

from ...errors import ConfigError, DataError
from ..activations import Activation, get_activation
from ..initializers import get_initializer
from ..validation import check_positive_int
from ..xp import float_dtype, namespace, place
from .base import Layer

Array = object


class Recurrent(Layer):
    """The time loop shared by the recurrent layers; a subclass writes one step each way.

    A subclass sets ``GATES`` (one ``W_x·``, ``W_h·``, ``b_·`` triple per name), ``STATES`` (the
    names of the carried state: ``("h",)`` or ``("h", "c")``) and writes

    - ``step_forward(x, state) -> (new state, cache)``: one time step, ``cache`` a dict of the
      named values the backward step needs (the trace shows them);
    - ``step_backward(dstate, cache) -> (dstate_prev, dx)``: ``dstate`` is ``∂C/∂`` of the new
      state (its ``h`` part already holds ``W_hᵀ δₜ₊₁ + ∂C/∂hₜ``, kept as ``cache["dC_dh"]``);
      it adds this step's terms to the gradients, stores its deltas in ``cache``, and returns
      ``∂C/∂`` of the previous state and ``∂C/∂xₜ``.
    """

    GATES: tuple[str, ...] = ()
    STATES: tuple[str, ...] = ("h",)
    EXTRA_BIASES: tuple[str, ...] = ()  # biases outside the triples (the GRU's b_hn)

    def __init__(self, n_in: int | None, n_hidden: int, return_sequences: bool = False,
                 init="xavier_uniform", rng: np.random.Generator | None = None,
                 dtype=np.float64, mask_value: float | None = None):
        self.n_hidden = check_positive_int(n_hidden, f"{type(self).__name__} n_hidden")
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise ConfigError(f"{type(self).__name__} return_sequences must be True or False, "
                              f"got {return_sequences!r}")
        self.return_sequences = bool(return_sequences)
        self.init, self._init_rng, self.dtype = init, rng, np.dtype(dtype)
        get_initializer(init)  # an unknown name fails here, not at build
        if mask_value is not None and (isinstance(mask_value, (bool, np.bool_)) or not isinstance(
                mask_value, numbers.Real) or not np.isfinite(mask_value)):
            raise ConfigError(f"mask_value must be a finite number or None, got {mask_value!r} "
                              "(NaN equals nothing: pad with e.g. 0.0 and pass mask_value=0.0)")
        self.mask_value = None if mask_value is None else float(mask_value)
        self.param_names = tuple(
            name for gate in self.GATES for name in (f"W_x{gate}", f"W_h{gate}", _bias(gate))
        ) + self.EXTRA_BIASES
        for name in self.param_names:
            setattr(self, name, None)
            setattr(self, "d" + name, None)
        self.initial_state = None
        self.steps: list[dict] = []
        self.A_prev = self.A = self.state = self.dstate0 = self.keep = None
        if n_in is not None:
            self.build((1, check_positive_int(n_in, f"{type(self).__name__} n_in")))
            self.in_shape = None  # the length T is known only when the network is built

    @property
    def n_in(self) -> int | None:
        W = getattr(self, f"W_x{self.GATES[0]}")
        return None if W is None else W.shape[1]

    def build(self, in_shape: tuple) -> tuple:
        check_sequence_input(self, in_shape, "declare the input as Input((T, features))")
        self.in_shape = tuple(in_shape)
        T = in_shape[0]
        self.out_shape = (T, self.n_hidden) if self.return_sequences else (self.n_hidden,)
        if self.n_in is None:
            self._draw_weights(in_shape[1])
        return self.out_shape

    def redraw(self) -> None:
        self._draw_weights(self.n_in)

    def _draw_weights(self, n_in: int) -> None:
        unseeded = self._init_rng is None
        self._draw(n_in)
        self._unseeded = self.fingerprint() if unseeded else None  # see Layer.seed_from

    def _draw(self, n_in: int) -> None:
        """W_x, W_h and b of each gate, drawn once when the input width is known."""
        rng = self._init_rng if self._init_rng is not None else np.random.default_rng()
        self._init_rng = None  # not kept: the network's generator goes on elsewhere
        init, H = get_initializer(self.init), self.n_hidden
        for gate in self.GATES:
            W_x, b = init(n_in, H, rng)  # the initializer's b (0 for Xavier's and He's)
            W_h, _ = init(H, H, rng)
            for name, value in ((f"W_x{gate}", W_x), (f"W_h{gate}", W_h), (_bias(gate), b)):
                setattr(self, name, np.asarray(value, self.dtype))
        for name in self.EXTRA_BIASES:
            setattr(self, name, np.zeros(H, self.dtype))
        for name in self.param_names:
            setattr(self, "d" + name, np.zeros_like(getattr(self, name)))

    # ---------------------------------------------------------------------- the time loop
    def forward(self, A_prev: Array, training: bool = False) -> Array:
        xp = namespace(A_prev)
        T = A_prev.shape[1]
        self.A_prev, self.steps = A_prev, []
        self.keep = self._keep(A_prev)
        state = self._initial(A_prev)
        outputs = []
        for t in range(T):
            new, cache = self.step_forward(A_prev[:, t, :], state)
            if self.keep is not None:  # padding: hₜ = hₜ₋₁ where step t is padded
                k = self.keep[t]
                new = tuple(k * n + (1 - k) * s for n, s in zip(new, state))
            self.steps.append(cache)
            state = new
            outputs.append(state[0])
        self.state = state
        self.A = xp.stack(outputs, axis=1) if self.return_sequences else state[0]
        return self.A

    def backward(self, dA: Array, need_dA_prev: bool = True) -> Array | None:
        """BPTT: the δ recursion along t = T … 1; ``dA`` is ``∂C/∂hₜ`` from the layer above
        (every t with ``return_sequences``, else t = T only)."""
        xp = namespace(dA)
        T, m = len(self.steps), dA.shape[0]
        for name in self.param_names:
            p = getattr(self, name)
            setattr(self, "d" + name, xp.zeros_like(p))
        dstate = tuple(xp.zeros_like(s) for s in self.state)  # nothing comes from step T + 1
        dX = []
        for t in range(T - 1, -1, -1):
            dC_dh = dA[:, t, :] if self.return_sequences else (dA if t == T - 1 else None)
            if dC_dh is not None:  # W_hᵀ δₜ₊₁ + ∂C/∂hₜ
                dstate = (dstate[0] + dC_dh,) + dstate[1:]
            self.steps[t]["dC_dh"] = dstate[0]  # ∂C/∂hₜ, all of it: ‖·‖ shows what reaches t
            carried = None
            if self.keep is not None:  # a padded step passes its gradient on unchanged
                k = self.keep[t]
                carried = tuple((1 - k) * d for d in dstate)
                dstate = tuple(k * d for d in dstate)
            dstate, dx = self.step_backward(dstate, self.steps[t])
            if carried is not None:
                dstate = tuple(d + c for d, c in zip(dstate, carried))
            dX.append(dx)
        self.dstate0 = dstate  # ∂C/∂h₀ (and ∂C/∂c₀), a row per sample as every δ
        for name in self.param_names:  # the mean over the batch
            setattr(self, "d" + name, getattr(self, "d" + name) / m)
        return xp.stack(dX[::-1], axis=1) if need_dA_prev else None

    def _keep(self, X: Array) -> list | None:
        """Per step, a ``(m, 1)`` array: 1 for a real step, 0 for padding (None: no mask)."""
        if self.mask_value is None:
            return None
        xp = namespace(X)
        real = xp.astype(xp.any(X != self.mask_value, axis=2), X.dtype)  # (m, T)
        return [real[:, t:t + 1] for t in range(X.shape[1])]

    def _initial(self, X: Array) -> tuple:
        """``h₀`` (and ``c₀``) for a batch of ``X``'s rows: zeros, or ``initial_state``."""
        xp = namespace(X)
        zeros = xp.zeros((X.shape[0], self.n_hidden), dtype=X.dtype)
        given = self.checked_initial_state(X.shape[0])
        if given is None:
            return tuple(zeros for _ in self.STATES)
        where, dtype = place(X), float_dtype(X)
        return tuple(zeros + where.asarray(s, dtype=dtype) for s in given)

    def checked_initial_state(self, m: int) -> tuple | None:
        """``initial_state`` as one array per state, each ``(n_hidden,)`` or ``(m, n_hidden)``
        for a batch of ``m`` rows (None: zeros)."""
        given = self.initial_state
        if given is None:
            return None
        given = (given,) if len(self.STATES) == 1 and not isinstance(given, tuple) else given
        if not isinstance(given, tuple) or len(given) != len(self.STATES):
            raise ConfigError(f"{self!r} carries the state {self.STATES}: initial_state must "
                              f"give {len(self.STATES)} array(s) as a tuple")
        H = self.n_hidden
        for name, value in zip(self.STATES, given):
            shape = tuple(getattr(value, "shape", None) or np.shape(value))
            if shape not in ((H,), (1, H), (m, H)):
                raise DataError(f"{self!r}: initial_state's {name}₀ has shape {shape}, but this "
                                f"batch has {m} rows of {H} units; give ({H},) (one state for "
                                f"every row) or ({m}, {H}), or None for zeros")
        return given

    # ---------------------------------------------------------------------- helpers
    def affine(self, gate: str, x: Array, h: Array) -> Array:
        """``W_x· xₜ + W_h· hₜ₋₁ + b_·`` for rows of samples."""
        return (x @ getattr(self, f"W_x{gate}").T + h @ getattr(self, f"W_h{gate}").T
                + getattr(self, _bias(gate)))

    def add_gradients(self, gate: str, delta: Array, x: Array, h: Array) -> None:
        """``∂C/∂W_x· += δᵀx``, ``∂C/∂W_h· += δᵀh``, ``∂C/∂b_· += Σδ`` (summed over rows)."""
        for name, value in ((f"W_x{gate}", delta.T @ x), (f"W_h{gate}", delta.T @ h),
                            (_bias(gate), namespace(delta).sum(delta, axis=0))):
            setattr(self, "d" + name, getattr(self, "d" + name) + value)

    def back_to(self, gate: str, delta: Array) -> tuple[Array, Array]:
        """``(W_h·ᵀ δ, W_x·ᵀ δ)`` as rows: what ``δ`` sends to ``hₜ₋₁`` and to ``xₜ``."""
        return delta @ getattr(self, f"W_h{gate}"), delta @ getattr(self, f"W_x{gate}")

    def clear(self) -> None:
        self.A_prev = self.A = self.state = self.dstate0 = self.keep = None
        self.steps = []

    def step_forward(self, x: Array, state: tuple) -> tuple[tuple, dict]:
        raise NotImplementedError

    def step_backward(self, dstate: tuple, cache: dict) -> tuple[tuple, Array]:
        raise NotImplementedError

    def _options(self) -> str:
        return ", return_sequences=True" if self.return_sequences else ""

    def __repr__(self) -> str:
        n_in = self.n_in if self.n_in is not None else "?"
        return f"{type(self).__name__}({n_in} → {self.n_hidden}{self._options()})"


def check_sequence_input(layer, in_shape: tuple, fix: str) -> None:
    """Refuse, naming both, a layer below that does not give ``(T, layer.n_in)`` samples."""
    if len(in_shape) != 2:
        raise ConfigError(f"{layer!r} takes sequences (time, features), but the layer below "
                          f"gives samples of shape {tuple(in_shape)}; {fix}")
    if layer.n_in is not None and in_shape[1] != layer.n_in:
        raise ConfigError(f"{layer!r} takes {layer.n_in} features per time step but receives "
                          f"{in_shape[1]} from the layer below; change one of the two")


def _bias(gate: str) -> str:
    return f"b_{gate}" if gate else "b"


class SimpleRNN(Recurrent):
    """``hₜ = g(W_x xₜ + W_h hₜ₋₁ + b)``: a dense layer applied at every step, fed its own
    previous output.

    Parameters
    ----------
    n_in : int or None
        Features per time step (None: taken from the layer below when the network is built).
    n_hidden : int
        Units, the width of ``hₜ``.
    activation : str or Activation
        g (tanh by default; sigmoid, relu, leaky_relu, identity).
    return_sequences : bool
        False: output ``h_T``, ``(m, n_hidden)``; True: every ``hₜ``, ``(m, T, n_hidden)``.
    init : str or callable
        Initializer of ``W_x`` (n_in → n_hidden) and ``W_h`` (n_hidden → n_hidden); b comes
        with ``W_x``'s draw. Default ``xavier_uniform``: ``Var(W_h) = 1/n_hidden``.
    rng, dtype, mask_value : see :class:`Recurrent` and :class:`~mlplab.core.layers.Dense`.

    Attributes
    ----------
    W_x : (n_hidden, n_in);  W_h : (n_hidden, n_hidden);  b : (n_hidden,)
    dW_x, dW_h, db : gradients of the mean cost, after ``backward``
    steps : list of dicts, one per time step: ``x``, ``h_prev``, ``z``, ``h`` and, after the
        backward, ``delta`` (δₜ)

    Examples
    --------
    >>> from mlplab.layers import Dense, Input, SimpleRNN
    >>> from mlplab import Network
    >>> net = Network.from_layers([Input((20, 1)), SimpleRNN(1, 16), Dense(16, 1, "identity")])
    >>> net.layers[1].W_h.shape
    (16, 16)
    """

    GATES = ("",)

    def __init__(self, n_in: int | None, n_hidden: int, activation: str | Activation = "tanh",
                 return_sequences: bool = False, init="xavier_uniform",
                 rng: np.random.Generator | None = None, dtype=np.float64,
                 mask_value: float | None = None):
        self.g: Activation = get_activation(activation)
        if self.g.name == "softmax" or not self.g.differentiable:
            raise ConfigError(f"SimpleRNN's activation cannot be {self.g.name!r}; use tanh, "
                              "sigmoid, relu, leaky_relu or identity")
        super().__init__(n_in, n_hidden, return_sequences, init, rng, dtype, mask_value)

    def step_forward(self, x, state):
        (h_prev,) = state
        z = self.affine("", x, h_prev)  # zₜ = W_x xₜ + W_h hₜ₋₁ + b
        h = self.g(z)  # hₜ = g(zₜ)
        return (h,), {"x": x, "h_prev": h_prev, "z": z, "h": h}

    def step_backward(self, dstate, cache):
        (dh,) = dstate  # W_hᵀ δₜ₊₁ + ∂C/∂hₜ
        delta = dh * self.g.g_prime(cache["z"])  # δₜ = (W_hᵀ δₜ₊₁ + ∂C/∂hₜ) ⊙ g′(zₜ)
        cache["delta"] = delta
        self.add_gradients("", delta, cache["x"], cache["h_prev"])  # δₜxₜᵀ, δₜhₜ₋₁ᵀ, δₜ
        dh_prev, dx = self.back_to("", delta)  # W_hᵀ δₜ for step t − 1, W_xᵀ δₜ for the input
        return (dh_prev,), dx

    def _options(self) -> str:
        return f", {self.g.name}{super()._options()}"
