"""The multilayer perceptron: the forward pass, the δ recursion, parameters.

Notation follows the lecture, with the input numbered layer 0 (the lecture numbers it 1):
``a⁽⁰⁾ = x``; for l = 1 … L, ``z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾`` and ``a⁽ˡ⁾ = g(z⁽ˡ⁾)``;
``net.layers[l]`` holds ``W⁽ˡ⁾``, ``b⁽ˡ⁾`` and, after a forward pass, ``z⁽ˡ⁾``, ``a⁽ˡ⁾``.
Samples are rows (see :mod:`mlplab.core.layers` for the shapes). The cost is the mean over the
batch of the per-sample cost (``½‖a⁽ᴸ⁾ − y‖²`` for MSE).

Backpropagation (:meth:`Network.backward`)::

    δ⁽ᴸ⁾ = (a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾)              (the loss's output delta)
    δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾)         (each layer's backward, l = L−1 … 1)
    ∂C/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ,  ∂C/∂b⁽ˡ⁾ = δ⁽ˡ⁾
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ConfigError
from . import plugins
from .activations import get_activation
from .layers import Dense, Input, Layer
from .losses import Loss, check_pairing, default_output, get_loss
from .validation import check_positive_int, check_X, check_Y, make_rng
from .xp import Place, float_dtype, is_array_api_obj, place, to_numpy

Array = object


class Network:
    """A feed-forward network of layers.

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
    device : str, optional
        Where the numbers live: "cpu" (NumPy, the default), "torch", "cuda", "cuda:N", "cupy"
        (see :mod:`mlplab.core.xp`).

    Examples
    --------
    >>> net = Network([2, 2, 1], activation="sigmoid", loss="mse", seed=0)
    >>> net.layers[1].W.shape     # W⁽¹⁾: 2 neurons, 2 inputs
    (2, 2)
    """

    def __init__(self, sizes: Sequence[int], activation="sigmoid", output: str | None = None,
                 loss: str = "mse", init="normal", seed=None, dtype="float64", device=None):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ConfigError(f"sizes must list at least two layer sizes (input and output), "
                              f"e.g. [2, 2, 1]; got {sizes!r}")
        sizes = [check_positive_int(n, "every layer size") for n in sizes]
        hiddens = _hidden_activations(activation, len(sizes) - 2, sizes)
        the_loss = get_loss(loss, sizes[-1])
        hidden = hiddens[0] if hiddens else get_activation(
            "sigmoid" if isinstance(activation, (list, tuple)) else activation)
        out = get_activation(output) if output is not None else default_output(the_loss, hidden)
        rng = make_rng(seed)
        try:
            layers = [Input(sizes[0])] + [
                Dense(n_in, n_out, out if l == len(sizes) - 1 else hiddens[l - 1], init, rng,
                      _float_dtype(dtype))
                for l, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1)]
        except MemoryError:
            n = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
            raise ConfigError(f"sizes {sizes} need {n} parameters, more than this machine's "
                              "memory holds; use smaller layers") from None
        self._assemble(layers, the_loss, rng, seed, init, device)
        self.activation = hidden.name

    @classmethod
    def from_layers(cls, layers: Sequence[Layer], loss: str = "mse", seed=None,
                    device=None) -> "Network":
        """A network from an explicit stack: ``[Input(shape), <any Layer>, …, Dense(...)]``.

        Every layer is built on the output shape of the one below (a mismatch is a ConfigError
        naming both). The last layer must be :class:`Dense`: its activation is the output's g.
        Layers whose weights are drawn at build (``Dense(None, …)``, ``Conv2D``) and that were
        given no ``rng`` draw them from ``seed``; with a seed, so do layers given their input
        width (``Dense(3, …)``, ``LSTM(3, …)``, also inside a ``Residual``) that drew theirs
        without a generator when made and were not changed since.
        """
        layers = list(layers)
        if len(layers) < 2 or not isinstance(layers[0], Input) or not isinstance(layers[-1], Dense):
            raise ConfigError("from_layers needs Input(n) first and a Dense output layer last")
        net = cls.__new__(cls)
        rng = make_rng(seed)
        net._assemble(layers, get_loss(loss, layers[-1].n_out), rng, seed, "custom", device)
        hidden = [layer.g.name for layer in layers[1:-1] if "W" in layer.param_names]
        net.activation = hidden[0] if hidden else layers[-1].g.name
        return net

    def _assemble(self, layers, loss: Loss, rng, seed, init, device) -> None:
        shape = layers[0].out_shape
        for i, layer in enumerate(layers[1:], 1):
            if not isinstance(layer, Layer):
                raise ConfigError(f"from_layers: item {i} is {type(layer).__name__} "
                                  f"{str(layer)[:40]!r}, not a layer; give mlplab.layers "
                                  "objects such as Dense(None, 4, 'relu')")
            layer.seed_from(rng, redraw=seed is not None)
            shape = layer.build(shape)  # each layer checks the shape it receives
        self.layers: list[Layer] = layers
        self.loss = loss
        check_pairing(loss, layers[-1].g)
        if any(getattr(layer, "g", None) is not None and layer.g.name == "softmax"
               for layer in layers[1:-1]):
            raise ConfigError("softmax is only an output activation; pick another for hidden layers")
        self.output, self.init = layers[-1].g.name, init
        self.rng, self.seed = rng, None if isinstance(seed, np.random.Generator) else seed
        self.dtype = float_dtype(layers[-1].W)
        self.history, self.extra = None, None
        self.place: Place = place(layers[-1].W)
        if device is not None:
            self.to(device)

    # ----------------------------------------------------------------- structure
    @property
    def L(self) -> int:
        """Index of the output layer (the number of computing layers)."""
        return len(self.layers) - 1

    @property
    def sizes(self) -> list[int]:
        """The width of each layer's output, input first."""
        return [layer.n_out for layer in self.layers]

    @property
    def input_shape(self) -> tuple:
        """The shape of one sample: ``(n_inputs,)``, or e.g. ``(channels, height, width)``."""
        return self.layers[0].out_shape

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
        """Cast every parameter to ``dtype`` (float32 or float64)."""
        dtype = np.dtype(dtype)
        if dtype != self.dtype:
            for layer in self.layers:
                layer.astype(dtype)
            self.dtype = dtype
        return self

    def to(self, device) -> "Network":
        """Move every parameter to ``device`` ("cpu", "torch", "cuda", …; see
        :mod:`mlplab.core.xp`)."""
        where = place(device)
        if where != self.place:
            for layer in self.layers:
                layer.to(where)
            self.place = where
        return self

    # ----------------------------------------------------------------- the passes
    def forward(self, X: Array, training: bool = False) -> Array:
        """Run ``a⁽ˡ⁾ = g(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾)`` for l = 1 … L; every layer caches its ``z⁽ˡ⁾``,
        ``a⁽ˡ⁾``. ``X`` is ``(m, n_inputs)``, already checked; returns ``a⁽ᴸ⁾``."""
        A = X
        for layer in self.layers:
            A = layer.forward(A, training)
        return A

    def backward(self, Y: Array) -> None:
        """The δ recursion from the cached forward pass; fills each layer's ``dW``, ``db``."""
        out = self.layers[-1]
        out.check_differentiable()
        delta = self.loss.output_delta(out.Z, out.A, Y, out.g)  # δ⁽ᴸ⁾
        dA = out.backward_delta(delta, need_dA_prev=self.L > 1)  # (W⁽ᴸ⁾)ᵀδ⁽ᴸ⁾
        for l in range(self.L - 1, 0, -1):  # each layer: δ⁽ˡ⁾ = dA ⊙ g'(z⁽ˡ⁾), its gradients,
            dA = self.layers[l].backward(dA, need_dA_prev=l > 1)  # and dA = (W⁽ˡ⁾)ᵀδ⁽ˡ⁾

    def cost(self, X: Array, Y: Array) -> float:
        """The mean cost over the samples of ``X`` (checked here)."""
        X, Y = self.check_XY(X, Y)
        A = self.forward(X)
        return float(self.loss.value(A, Y, self.layers[-1].Z))

    def gradients(self, X: Array, Y: Array) -> dict[int, tuple[Array, Array]]:
        """``{l: (∂C/∂W⁽ˡ⁾, ∂C/∂b⁽ˡ⁾)}`` for every layer l with a W and b (dense and
        convolutional), the cost being the batch mean."""
        X, Y = self.check_XY(X, Y)
        self.forward(X, training=True)
        self.backward(Y)
        return {l: (layer.dW, layer.db)
                for l, layer in enumerate(self.layers) if layer.param_names == ("W", "b")}

    # ----------------------------------------------------------------- use
    def output_for(self, X: Array) -> Array:
        """``a⁽ᴸ⁾`` for the rows of ``X`` (checked here), in the caller's array library.

        An accelerator (:mod:`mlplab.core.plugins`) may compute it; else ``forward(X)``.
        """
        Xc = check_X(X, self.input_shape, dtype=self.dtype, finite=False, where=self.place)
        A = None
        for accelerator in plugins.accelerators():
            A = accelerator.predict(self, Xc)
            if A is not None:
                break
        else:
            _check_finite(Xc, self.place)
            A = self.forward(Xc)
        return _like_caller(A, X, self.place)

    def predict_proba(self, X: Array) -> Array:
        """The output ``a⁽ᴸ⁾`` read as probabilities (sigmoid or softmax output only)."""
        if self.output not in ("sigmoid", "softmax"):
            raise ConfigError(f"predict_proba needs a sigmoid or softmax output, this network's "
                              f"is {self.output!r}; use predict")
        return self.output_for(X)

    def predict(self, X: Array) -> Array:
        """Predictions for the rows of ``X``.

        Classifiers (sigmoid, softmax or step output) give labels: 0/1 per output unit
        (threshold 0.5, or z > 0 for step), or the class index for softmax. Other outputs give
        ``a⁽ᴸ⁾``.
        """
        A = self.output_for(X)
        if self.output not in ("softmax", "sigmoid", "step"):
            return A
        A = to_numpy(A)
        if self.output == "softmax":
            labels = A.argmax(axis=-1)  # the class axis is last (a sequence: one per step)
        else:
            labels = (A > 0.5).astype(np.int64)
        return _like_caller(labels, X, None)

    def score(self, X: Array, Y: Array) -> float:
        """Accuracy for classifiers (every output unit right), else the mean cost."""
        if self.output not in ("sigmoid", "softmax", "step"):
            return self.cost(X, Y)
        Y = check_Y(Y, len(X), self.layers[-1].out_shape, self.dtype)
        pred = to_numpy(self.predict(X))
        if self.output == "softmax":
            return float(np.mean(pred == Y.argmax(axis=-1)))
        return float(np.mean(np.all(pred == Y, axis=-1)))

    def fit(self, X: Array, Y: Array, **options):
        """Train; see :func:`mlplab.train.fit` for the options. Returns the History."""
        return plugins.TRAINER(self, X, Y, **options)

    # ----------------------------------------------------------------- display
    def summary(self) -> str:
        """Every layer with its output shape and parameter count, and each dense layer's W
        and b (the lecture's step 7); other layers' arrays by shape."""
        with np.printoptions(precision=4, suppress=True):
            lines = [repr(self), f"loss: {self.loss.name}"]
            for l, layer in enumerate(self.layers):
                n = sum(int(np.prod(p.shape)) for p in layer.params)
                lines.append(f"layer {l}: {layer!r}  output {tuple(layer.out_shape)}, "
                             f"{n} parameters")
                if isinstance(layer, Dense):
                    W, b = to_numpy(layer.W), to_numpy(layer.b)
                    lines.append(f"  W({l}) {W.shape} =\n" + _indent(str(W), 4))
                    lines.append(f"  b({l}) {b.shape} = {b}")
                elif n:  # a layer of several arrays (gates, filters, γ and β): their shapes
                    lines.append("  " + ", ".join(f"{name} {tuple(p.shape)}" for name, p in
                                                  zip(layer.param_names, layer.params)))
            lines.append(f"{sum(int(np.prod(p.shape)) for p in self.params)} parameters")
        return "\n".join(lines)

    def __repr__(self) -> str:
        device = "" if self.place.is_numpy else f", device={self.place.name!r}"
        if any(type(layer) not in (Input, Dense) for layer in self.layers):
            # images, sequences, residual blocks, dropout: the layers say more than widths
            return (f"Network({' → '.join(map(repr, self.layers))}, "
                    f"loss={self.loss.name!r}{device})")
        hidden = [layer.g.name for layer in self.layers[1:-1] if isinstance(layer, Dense)]
        activation = hidden if len(set(hidden)) > 1 else self.activation
        return (f"Network({self.sizes}, activation={activation!r}, output={self.output!r}, "
                f"loss={self.loss.name!r}{device})")

    # ----------------------------------------------------------------- checks
    def check_XY(self, X, Y) -> tuple[Array, Array]:
        """``X`` and ``Y`` checked and moved to this network's device and dtype."""
        X = check_X(X, self.input_shape, dtype=self.dtype, where=self.place)
        return X, check_Y(Y, X.shape[0], self.layers[-1].out_shape, self.dtype, self.place)

    def require_trainable(self) -> None:
        """Refuse networks that gradient descent cannot train (a step activation)."""
        for l, layer in enumerate(self.layers[1:], start=1):
            g = getattr(layer, "g", None)
            if g is not None and not g.differentiable:
                raise ConfigError(
                    f"layer {l} uses the {g.name!r} activation, whose derivative is 0: "
                    "gradient descent cannot train it; use 'sigmoid', or mlplab.Perceptron "
                    "for a single layer with the perceptron rule")


def _hidden_activations(activation, n_hidden: int, sizes) -> list:
    if isinstance(activation, (list, tuple)):
        if len(activation) != n_hidden:
            raise ConfigError(f"activation lists one g per hidden layer: sizes {sizes} have "
                              f"{n_hidden}, got {len(activation)} names")
        return [get_activation(a) for a in activation]
    return [get_activation(activation)] * n_hidden


def _float_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:  # not a dtype at all ('float16x', an object)
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ConfigError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_finite(X, where: Place) -> None:
    from .validation import check_finite

    if where.is_numpy:
        check_finite(X)
    elif not bool(where.xp.all(where.xp.isfinite(X))):
        check_finite(to_numpy(X))


def _like_caller(A, X, where: Place | None):
    """``A`` in the array library the caller passed ``X`` in (NumPy for lists and frames)."""
    if is_array_api_obj(X) and not isinstance(X, np.ndarray):
        caller = place(X)
        return A if where == caller else caller.asarray(to_numpy(A))
    return to_numpy(A)


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())
