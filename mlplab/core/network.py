"""The multilayer perceptron: forward pass, the δ recursion, parameters.

Notation follows the lecture, with the input numbered layer 0 (the lecture numbers it 1):
``a⁽⁰⁾ = x``; for l = 1 … L, ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾`` and ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``;
``net.layers[l]`` holds ``W⁽ˡ⁾``, ``b⁽ˡ⁾`` and, after a forward pass, ``z⁽ˡ⁾``, ``a⁽ˡ⁾``.
Samples are rows (see :mod:`mlplab.layers` for the shapes). The cost is the mean over the
batch of the per-sample cost (``½‖a⁽ᴸ⁾ − y‖²`` for MSE).

Backpropagation (:meth:`Network.backward`)::

    δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾)              (the loss's output delta)
    δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾)         (each layer's backward)
    ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ,  ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import get_activation
from ..errors import ConfigError
from .layers import Dense, Input, Layer
from .losses import Loss, check_pairing, default_output, get_loss
from ..accel.flat import FlatParameters
from .validation import check_finite, check_positive_int, check_X, check_Y, make_rng

Array = np.ndarray
BLOCK_ROWS = 1024  # inference runs in blocks of rows whose layer outputs stay in cache


class Network:
    """A feed-forward network of dense layers.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first: ``[2, 2, 1]`` is the lecture's XOR network.
    activation : str or list of str
        g of the hidden layers: step, identity, sigmoid (or logistic), tanh, relu, leaky_relu;
        or one name per hidden layer, e.g. ``["tanh", "relu"]`` for ``[2, 8, 8, 1]``.
    output : str, optional
        g of the output layer. Default: sigmoid for binary cross-entropy, softmax for
        categorical cross-entropy; for MSE the hidden activation if it is the sigmoid (the
        lecture's network), otherwise identity.
    loss : str
        ``"mse"`` (½‖a − y‖², mean over samples) or ``"cross_entropy"`` (binary for one output,
        categorical for several), also ``"binary_cross_entropy"``, ``"categorical_cross_entropy"``.
    init : str
        normal (the lecture's random N(0, 1); ``normal:SCALE`` for N(0, SCALE²)), lecun_normal,
        xavier_normal, xavier_uniform, he_normal, he_uniform.
    seed : int or numpy.random.Generator, optional
        Seeds initialization and, unless ``fit`` gets its own, the shuffling: the same seed
        gives bit-identical weights and loss history.
    dtype : "float64" or "float32"
        Parameter dtype. ``fit`` switches to float32 when it is given float32 data.

    Examples
    --------
    >>> net = Network([2, 2, 1], activation="sigmoid", loss="mse", seed=0)
    >>> net.layers[1].W.shape     # W⁽¹⁾: 2 neurons, 2 inputs
    (2, 2)
    """

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid",
                 output: str | None = None, loss: str = "mse", init: str = "normal",
                 seed: int | np.random.Generator | None = None, dtype="float64"):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ConfigError(f"sizes must list at least two layer sizes (input and output), "
                              f"e.g. [2, 2, 1]; got {sizes!r}")
        sizes = [check_positive_int(n, "every layer size") for n in sizes]
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {dtype}")
        self.sizes = sizes
        self.loss: Loss = get_loss(loss, sizes[-1])
        if isinstance(activation, (list, tuple)):
            if len(activation) != len(sizes) - 2:
                raise ConfigError(f"activation lists one g per hidden layer: sizes {sizes} have "
                                  f"{len(sizes) - 2}, got {len(activation)} names")
            hiddens = [get_activation(a) for a in activation]
        else:
            hiddens = [get_activation(activation)] * (len(sizes) - 2)
        hidden = hiddens[0] if hiddens else get_activation(
            "sigmoid" if isinstance(activation, (list, tuple)) else activation)
        out = get_activation(output) if output is not None else default_output(self.loss, hidden)
        check_pairing(self.loss, out)
        if any(h.name == "softmax" for h in hiddens):
            raise ConfigError("softmax is only an output activation; pick another for hidden layers")
        self.activation, self.output, self.init = hidden.name, out.name, init
        self.rng = make_rng(seed)
        self.seed = None if isinstance(seed, np.random.Generator) else seed
        self.layers: list[Layer] = [Input(sizes[0])]
        try:
            for l in range(1, len(sizes)):
                g = out if l == len(sizes) - 1 else hiddens[l - 1]
                self.layers.append(Dense(sizes[l - 1], sizes[l], g, init, self.rng, dtype))
        except MemoryError:
            n = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
            raise ConfigError(f"sizes {sizes} need {n} parameters, more than this machine's "
                              "memory holds; use smaller layers") from None
        self.dtype = dtype
        self.history = None
        self._flatten()

    @classmethod
    def from_layers(cls, layers: Sequence[Layer], loss: str = "mse",
                    seed: int | np.random.Generator | None = None) -> "Network":
        """A network from an explicit stack: ``[Input(n), Dense(...), <any Layer>, …, Dense(...)]``.

        The last layer must be :class:`Dense` (its activation is the output's g). ``sizes`` is
        then the width after each layer.
        """
        layers = list(layers)
        if len(layers) < 2 or not isinstance(layers[0], Input) or not isinstance(layers[-1], Dense):
            raise ConfigError("from_layers needs Input(n) first and a Dense output layer last")
        net = cls.__new__(cls)
        net.layers = layers
        net.sizes = [layer.n_out for layer in layers]
        net.loss = get_loss(loss, layers[-1].n_out)
        check_pairing(net.loss, layers[-1].g)
        hidden = [layer.g.name for layer in layers[1:-1] if isinstance(layer, Dense)]
        net.activation = hidden[0] if hidden else layers[-1].g.name
        net.output, net.init = layers[-1].g.name, "custom"
        net.rng = make_rng(seed)
        net.seed = None if isinstance(seed, np.random.Generator) else seed
        net.dtype = layers[-1].W.dtype
        net.history = None
        net._flatten()
        return net

    # ----------------------------------------------------------------- structure
    @property
    def L(self) -> int:
        """Index of the output layer (the number of computing layers)."""
        return len(self.layers) - 1

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_out

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def params(self) -> list[Array]:
        """Every trainable array, layer by layer (``[W⁽¹⁾, b⁽¹⁾, W⁽²⁾, …]``)."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[Array]:
        """Gradients from the last ``backward``, aligned with :attr:`params`."""
        return [g for layer in self.layers for g in layer.grads]

    def astype(self, dtype) -> "Network":
        dtype = np.dtype(dtype)
        if dtype != self.dtype:
            for layer in self.layers:
                layer.astype(dtype)
            self.dtype = dtype
            self._flatten()
        return self

    # ------------------------------------------------- one buffer for the parameters
    def _flatten(self) -> None:
        """Put a dense stack's W, b, dW, db into one flat buffer each (:mod:`mlplab.parameters`)."""
        self._flat = FlatParameters.of(self.layers[1:])

    def flat_parameters(self) -> FlatParameters | None:
        """The flat buffers of the parameters and gradients, while every layer still holds its
        views into them (None otherwise: an assigned ``W``, layers other than Dense)."""
        flat = getattr(self, "_flat", None)
        return flat if flat is not None and flat.valid(self.layers[1:]) else None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_flat", None)  # views do not survive pickling or deepcopy: rebuilt below
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._flatten()

    # ----------------------------------------------------------------- the passes
    def forward(self, X: Array, training: bool = False) -> Array:
        """Run ``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)`` for l = 1 … L; cache every ``z⁽ˡ⁾``, ``a⁽ˡ⁾``.

        ``X`` is ``(m, n_inputs)``, already validated; returns ``a⁽ᴸ⁾`` of shape ``(m, n_outputs)``.
        """
        A = X
        for layer in self.layers:
            A = layer.forward(A, training)
        return A.copy() if training else A  # a training pass writes into arrays it reuses

    def forward_cost(self, X: Array, Y: Array) -> float:
        """A training forward pass (``forward(X, training=True)``) and the batch's mean cost.

        What step 2 of :func:`~mlplab.training.fit` needs; with a softmax output and
        categorical cross-entropy the output and the cost are computed together
        (:func:`mlplab.losses.softmax_cce_into`).
        """
        out = self.layers[-1]
        together = self.loss.output_and_value
        if together is None or out.g.name != self.loss.output:
            A = self.forward(X, training=True)
            return self.loss.value(A, Y, out.Z)
        A = X
        for layer in self.layers[:-1]:
            A = layer.forward(A, True)
        Z, A = out.linear(A, True)
        out.A = A
        return together(Z, Y, A)

    def backward(self, Y: Array, step: float | None = None) -> None:
        """The δ recursion from the cached forward pass; fills each layer's ``dW``, ``db``.

        ``step = α`` (dense layers only) also takes the gradient-descent step layer by layer,
        as the δ recursion passes, instead of storing ``dW``, ``db`` (see ``Dense.backward``).
        """
        if step is not None and not self.dense_only:
            raise ConfigError("backward(step=…) takes the step inside dense layers only; this "
                              "network has other layers: call backward(Y), then an optimizer")
        self._backprop(Y, step)

    @property
    def dense_only(self) -> bool:
        """True when every layer after the input is Dense (what ``backward(step=…)`` needs)."""
        return all(isinstance(layer, Dense) for layer in self.layers[1:])

    def _backprop(self, Y: Array, step: float | None) -> None:
        """:meth:`backward` without its check (``fit`` checks ``dense_only`` once per run)."""
        out = self.layers[-1]
        delta = self.loss.output_delta(out.Z, out.A, Y, out.g)  # δ⁽ᴸ⁾
        kw = {} if step is None else {"step": step}
        dA = out.backward(delta=delta, need_dA_prev=self.L > 1, **kw)
        for l in range(self.L - 1, 0, -1):
            # dA = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾; the layer forms δ⁽ˡ⁾ = dA ⊙ g'(z⁽ˡ⁾) and its gradients
            dA = self.layers[l].backward(dA, need_dA_prev=l > 1, **kw)

    def cost(self, X: Array, Y: Array) -> float:
        """The mean cost over the samples of ``X`` (validated here)."""
        X, Y = self._check_XY(X, Y)
        A = self.forward(X)
        return self.loss.value(A, Y, self.layers[-1].Z)

    def gradients(self, X: Array, Y: Array) -> dict[int, tuple[Array, Array]]:
        """``{l: (∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾)}`` for every dense layer l, the cost being the batch mean."""
        X, Y = self._check_XY(X, Y)
        self.forward(X, training=True)
        self.backward(Y)
        return {l: (layer.dW.copy(), layer.db.copy())
                for l, layer in enumerate(self.layers) if isinstance(layer, Dense)}

    # ----------------------------------------------------------------- use
    def predict_proba(self, X: Array) -> Array:
        """The output ``a⁽ᴸ⁾`` read as probabilities (sigmoid or softmax output only)."""
        if self.output not in ("sigmoid", "softmax"):
            raise ConfigError(f"predict_proba needs a sigmoid or softmax output, this network's "
                              f"is {self.output!r}; use predict")
        return self._output(X)

    def predict(self, X: Array) -> Array:
        """Predictions for the rows of ``X``.

        Classifiers (sigmoid, softmax or step output) give labels: 0/1 per output unit (threshold
        0.5, or z > 0 for step), or the class index for softmax. Other outputs give ``a⁽ᴸ⁾``.
        """
        A = self._output(X)
        if self.output == "softmax":
            return A.argmax(axis=1)
        if self.output == "sigmoid":
            return (A > 0.5).astype(np.int64)
        if self.output == "step":
            return A.astype(np.int64)
        return A

    def score(self, X: Array, Y: Array) -> float:
        """Accuracy for classifiers (every output unit right), else the mean cost."""
        if self.output not in ("sigmoid", "softmax", "step"):
            return self.cost(X, Y)
        X, Y = self._check_XY(X, Y)
        pred = self.predict(X)
        if self.output == "softmax":
            return float(np.mean(pred == Y.argmax(axis=1)))
        return float(np.mean(np.all(pred == Y, axis=1)))

    def fit(self, X: Array, Y: Array, **options):
        """Train; see :func:`mlplab.training.fit` for the options. Returns the History."""
        from ..train.loop import fit

        return fit(self, X, Y, **options)

    # ----------------------------------------------------------------- display
    def summary(self) -> str:
        """Every layer's shape, activation, and its W and b (the lecture's step 7)."""
        with np.printoptions(precision=4, suppress=True):
            lines = [repr(self), f"loss: {self.loss.name}"]
            for l, layer in enumerate(self.layers):
                lines.append(f"layer {l}: {layer!r}")
                if isinstance(layer, Dense):
                    lines.append(f"  W({l}) {layer.W.shape} =\n" + _indent(str(layer.W), 4))
                    lines.append(f"  b({l}) {layer.b.shape} = {layer.b}")
            n = sum(p.size for p in self.params)
            lines.append(f"{n} parameters")
        return "\n".join(lines)

    def __repr__(self) -> str:
        hidden = [layer.g.name for layer in self.layers[1:-1] if isinstance(layer, Dense)]
        activation = hidden if len(set(hidden)) > 1 else self.activation
        return (f"Network({self.sizes}, activation={activation!r}, output={self.output!r}, "
                f"loss={self.loss.name!r})")

    # ----------------------------------------------------------------- helpers
    def _output(self, X) -> Array:
        """``a⁽ᴸ⁾`` for the rows of ``X`` (validated here), computed in blocks of rows.

        Row by row the same numbers as one ``forward(X)``; blocks keep each ``z⁽ˡ⁾``, ``a⁽ˡ⁾``
        in cache (predict on 60,000 rows ≈ the time of its matrix products, bench/README.md).
        """
        X = check_X(X, self.n_inputs, dtype=self.dtype, finite=False)
        blocked = len(X) > BLOCK_ROWS and self.dense_only
        # NaN/inf in X: blocked dense inference finds them in each block's z⁽¹⁾ instead of
        # reading all of X once more (a NaN or ±inf times any weight is NaN or ±inf, and stays
        # so in a sum), where every input feeds some neuron (no all-zero column of W⁽¹⁾)
        screen = blocked and bool(np.any(self.layers[1].W != 0, axis=0).all())
        if not screen:
            check_finite(X)
        if len(X) <= BLOCK_ROWS:
            return self.forward(X)
        A = np.empty((len(X), self.n_outputs), self.dtype)
        if not blocked:
            for i in range(0, len(X), BLOCK_ROWS):
                A[i:i + BLOCK_ROWS] = self.forward(X[i:i + BLOCK_ROWS])
            return A

        def check_z(z: Array) -> None:
            nonlocal screen
            if not np.isfinite(z.sum()):
                check_finite(X)  # raises for NaN/inf in X; else large values overflowed z
                screen = False

        # each block's z⁽ˡ⁾ = a⁽ˡ⁾ goes into one array per layer, reused by the next block
        # (fresh 1 MB arrays per block cost page faults), the output into A itself
        hidden = [np.empty((BLOCK_ROWS, layer.n_out), self.dtype) for layer in self.layers[1:-1]]
        for i in range(0, len(X), BLOCK_ROWS):
            a = X[i:i + BLOCK_ROWS]
            for l, layer in enumerate(self.layers[1:], start=1):
                out = A[i:i + len(a)] if l == self.L else hidden[l - 1][:len(a)]
                a = layer.infer_into(a, out, check_z if l == 1 and screen else None)
        return A

    def _check_XY(self, X, Y) -> tuple[Array, Array]:
        X = check_X(X, self.n_inputs, dtype=self.dtype)
        return X, check_Y(Y, len(X), self.n_outputs, self.dtype)

    def _require_trainable(self) -> None:
        for l, layer in enumerate(self.layers[1:], start=1):
            if isinstance(layer, Dense) and not layer.g.differentiable:
                raise ConfigError(
                    f"layer {l} uses the {layer.g.name!r} activation, whose derivative is 0: "
                    "gradient descent cannot train it; use 'sigmoid', or mlplab.Perceptron "
                    "for a single layer with the perceptron rule")


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())
