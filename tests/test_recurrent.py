"""Recurrent layers: BPTT worked by hand, gradient-checked for every layer and option (and by
hypothesis over random sizes and lengths), equal to PyTorch's nn.RNN / nn.LSTM / nn.GRU."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlplab import ConfigError, DataError, Network, gradcheck
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense

KINDS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def make(kind, T=4, n_in=2, H=3, k=2, return_sequences=False, output="identity",
         loss="mse", seed=0, **options):
    """Input((T, n_in)) → recurrent layer → a Dense head (TimeDense for sequences)."""
    head = TimeDense if return_sequences else Dense
    return Network.from_layers(
        [Input((T, n_in)),
         KINDS[kind](n_in, H, return_sequences=return_sequences,
                     rng=np.random.default_rng(seed), **options),
         head(H, k, output, rng=np.random.default_rng(seed + 1))], loss=loss, seed=seed)


def data(net, m=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, *net.input_shape))
    out = net.layers[-1].out_shape
    if net.output == "softmax":
        return X, rng.integers(0, out[-1], (m, *out[:-1]))
    return X, rng.normal(size=(m, *out))


# ------------------------------------------------------------------ worked by hand
def test_bptt_worked_by_hand():
    # one unit, g = identity, W_x = 0.5, W_h = 0.8, b = 0; head a = h_T; x = (1, 2), y = 1
    net = Network.from_layers([Input((2, 1)), SimpleRNN(1, 1, "identity"),
                               Dense(1, 1, "identity")], loss="mse")
    rnn, head = net.layers[1], net.layers[2]
    rnn.W_x[:], rnn.W_h[:], rnn.b[:], head.W[:], head.b[:] = 0.5, 0.8, 0.0, 1.0, 0.0
    X, Y = np.array([[[1.0], [2.0]]]), np.array([[1.0]])
    # h₁ = 0.5·1 = 0.5;  h₂ = 0.5·2 + 0.8·0.5 = 1.4;  C = ½(1.4 − 1)² = 0.08
    assert net.cost(X, Y) == pytest.approx(0.08)
    grads = {}
    net.forward(X, training=True)
    net.backward(Y)
    for name in rnn.param_names:
        grads[name] = float(getattr(rnn, "d" + name)[0, 0] if name != "b" else rnn.db[0])
    # δ₂ = ∂C/∂h₂ = 0.4;  δ₁ = W_h δ₂ = 0.32;  ∂C/∂h₀ = W_h δ₁ = 0.256
    np.testing.assert_allclose([s["delta"][0, 0] for s in rnn.steps], [0.32, 0.4])
    assert rnn.dstate0[0][0, 0] == pytest.approx(0.256)
    # ∂C/∂W_x = δ₁x₁ + δ₂x₂ = 0.32 + 0.8;  ∂C/∂W_h = δ₁h₀ + δ₂h₁ = 0 + 0.2;  ∂C/∂b = δ₁ + δ₂
    assert grads == pytest.approx({"W_x": 1.12, "W_h": 0.2, "b": 0.72})


# ------------------------------------------------------------------ gradient checks
CASES = [  # kind, options
    ("rnn", {}), ("rnn", {"activation": "sigmoid"}), ("rnn", {"activation": "relu"}),
    ("rnn", {"return_sequences": True}), ("lstm", {}), ("lstm", {"return_sequences": True}),
    ("gru", {}), ("gru", {"return_sequences": True}),
    ("lstm", {"return_sequences": True, "output": "softmax", "loss": "cross_entropy", "k": 3}),
    ("gru", {"output": "sigmoid", "loss": "cross_entropy", "k": 1}),
]


@pytest.mark.parametrize("kind, options", CASES)
def test_gradcheck_every_layer_and_option(kind, options):
    net = make(kind, **options)
    X, Y = data(net)
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)


@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_padding_initial_state_and_a_stack(kind):
    # two layers (the lower returns sequences, so BPTT also sends ∂C/∂xₜ down), padded rows,
    # and a given initial state
    cls = KINDS[kind]
    net = Network.from_layers(
        [Input((5, 2)), cls(2, 3, return_sequences=True, mask_value=0.0,
                            rng=np.random.default_rng(0)),
         cls(None, 2, mask_value=0.0, rng=np.random.default_rng(1)),
         Dense(2, 1, "identity", rng=np.random.default_rng(2))], loss="mse")
    X, Y = data(net, m=4)
    X[0, 3:], X[1, :2] = 0.0, 0.0  # padding after, padding before
    h0 = np.random.default_rng(3).normal(size=3)
    net.layers[1].initial_state = (h0, -h0) if kind == "lstm" else h0
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KINDS)), T=st.integers(1, 6), n_in=st.integers(1, 3),
       H=st.integers(1, 4), m=st.integers(1, 3), sequences=st.booleans(),
       seed=st.integers(0, 2**16))
def test_gradcheck_random_sizes_and_lengths(kind, T, n_in, H, m, sequences, seed):
    net = make(kind, T=T, n_in=n_in, H=H, return_sequences=sequences, seed=seed)
    X, Y = data(net, m=m, seed=seed)
    result = gradcheck(net, X, Y)
    assert result.passed, str(result)


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("kind", KINDS)
def test_padding_before_or_after_gives_the_last_real_state(kind):
    net = make(kind, T=6, mask_value=0.0)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 2))
    after = np.concatenate([x, np.zeros((2, 2))])[None]
    before = np.concatenate([np.zeros((2, 2)), x])[None]
    short = make(kind, T=4)  # the same weights (same seeds), no padding
    np.testing.assert_allclose(net.forward(after), short.forward(x[None]), rtol=1e-12)
    np.testing.assert_allclose(net.forward(before), short.forward(x[None]), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_continues_a_sequence(kind):
    whole, first, second = (make(kind, T=T, return_sequences=True) for T in (6, 2, 4))
    X = np.random.default_rng(5).normal(size=(3, 6, 2))
    A = whole.forward(X)
    a1 = first.forward(X[:, :2])
    second.layers[1].initial_state = first.layers[1].state  # carry h (and c) over
    a2 = second.forward(X[:, 2:])
    np.testing.assert_allclose(np.concatenate([a1, a2], axis=1), A, rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("accelerate", [True, False])
def test_an_initial_state_of_the_wrong_shape_is_named(kind, accelerate):
    """A state carried from a batch of 3 rows into one of 5, or of another width: a DataError
    naming the shapes (it was NumPy's broadcast error from deep inside)."""
    net = make(kind, T=4)
    layer = net.layers[1]
    X = np.random.default_rng(6).normal(size=(5, 4, 2))
    states = lambda h: (h, -h) if kind == "lstm" else h  # noqa: E731
    for h0, shape in ((np.ones((3, 3)), r"\(3, 3\)"), (np.ones(7), r"\(7,\)")):
        layer.initial_state = states(h0)
        with pytest.raises(DataError, match=rf"initial_state's h₀ has shape {shape}, but this "
                                            r"batch has 5 rows of 3 units; give \(3,\)"):
            net.predict(X)
        with pytest.raises(DataError, match="initial_state's h₀"):
            net.fit(X, np.zeros((5, 2)), max_epochs=1, accelerate=accelerate)
    for h0 in (np.ones(3), np.ones((5, 3))):  # one state for every row, or one a row
        layer.initial_state = states(h0)
        assert net.predict(X).shape == (5, 2)


def test_return_sequences_needs_a_time_dense_head():
    with pytest.raises(ConfigError, match="Flatten|sequences"):
        Network.from_layers([Input((4, 2)), LSTM(2, 3, return_sequences=True), Dense(3, 1)])
    with pytest.raises(ConfigError, match="return_sequences=True"):
        Network.from_layers([Input((4, 2)), LSTM(2, 3), TimeDense(3, 1)])
    with pytest.raises(ConfigError, match="Input\\(\\(T, features\\)\\)"):
        Network.from_layers([Input(4), SimpleRNN(4, 3), Dense(3, 1)])
    with pytest.raises(ConfigError, match="features per time step"):
        Network.from_layers([Input((4, 2)), GRU(3, 3), Dense(3, 1)])
    with pytest.raises(ConfigError, match="activation"):
        SimpleRNN(2, 3, activation="softmax")


def test_sequence_data_is_checked():
    net = make("lstm", T=4)
    with pytest.raises(DataError, match="reshape it to \\(m, 4, 2\\)"):
        net.predict(np.zeros((3, 5, 2)))
    seq = make("gru", return_sequences=True, output="softmax", loss="cross_entropy", k=3)
    X, y = data(seq)
    with pytest.raises(DataError, match="labels must be 0..2"):
        seq.fit(X, y + 3, max_epochs=1)


def test_labels_per_step_and_predictions_per_step():
    net = make("lstm", return_sequences=True, output="softmax", loss="cross_entropy", k=3)
    X, y = data(net, m=5)
    onehot = np.eye(3)[y]
    assert net.cost(X, y) == pytest.approx(net.cost(X, onehot))
    assert net.predict(X).shape == (5, 4)
    np.testing.assert_array_equal(net.predict(X), net.predict_proba(X).argmax(-1))
    assert net.score(X, y) == pytest.approx(np.mean(net.predict(X) == y))


def test_summary_shows_output_shapes_and_parameter_counts():
    net = make("lstm", T=7, n_in=5, H=8, return_sequences=True, k=3)
    text = net.summary()
    assert "LSTM(5 → 8, return_sequences=True)  output (7, 8), 448 parameters" in text
    assert "W_xi (8, 5), W_hi (8, 8), b_i (8,)" in text  # 4 gates × 8 × (5 + 8 + 1) = 448
    assert "TimeDense(8 → 3, identity)  output (7, 3), 27 parameters" in text
    assert "475 parameters" in text


# ------------------------------------------------------------------ against PyTorch autograd
def _torch_twin(net, torch):
    """nn.RNN/LSTM/GRU + nn.Linear with ``net``'s weights (PyTorch's gate order, two biases)."""
    rnn, head = net.layers[1], net.layers[2]
    H, n_in = rnn.n_hidden, rnn.n_in
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    if isinstance(rnn, SimpleRNN):
        module = torch.nn.RNN(n_in, H, nonlinearity=rnn.g.name, batch_first=True,
                              dtype=torch.float64)
    else:
        module = getattr(torch.nn, type(rnn).__name__)(n_in, H, batch_first=True,
                                                       dtype=torch.float64)
    gates = rnn.GATES
    zero = np.zeros(H)
    hidden_bias = [zero] * (len(gates) - 1) + [getattr(rnn, "b_hn", zero)]
    with torch.no_grad():
        module.weight_ih_l0.copy_(t(np.concatenate([getattr(rnn, f"W_x{g}") for g in gates])))
        module.weight_hh_l0.copy_(t(np.concatenate([getattr(rnn, f"W_h{g}") for g in gates])))
        module.bias_ih_l0.copy_(t(np.concatenate([getattr(rnn, "b_" + g if g else "b")
                                                  for g in gates])))
        module.bias_hh_l0.copy_(t(np.concatenate(hidden_bias)))
    linear = torch.nn.Linear(H, head.n_units, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(t(head.W))
        linear.bias.copy_(t(head.b))
    return module, linear


@pytest.mark.parametrize("kind, options", [("rnn", {}), ("rnn", {"activation": "relu"}),
                                           ("lstm", {}), ("gru", {}),
                                           ("lstm", {"return_sequences": True}),
                                           ("gru", {"return_sequences": True})])
def test_equal_to_pytorch_autograd(kind, options):
    torch = pytest.importorskip("torch")
    net = make(kind, T=7, n_in=3, H=5, **options)
    X, Y = data(net, m=4)
    module, linear = _torch_twin(net, torch)
    Xt = torch.tensor(X, requires_grad=True)
    out, _ = module(Xt)
    a = linear(out if net.layers[1].return_sequences else out[:, -1])
    cost = 0.5 * ((a - torch.tensor(Y)) ** 2).sum() / len(X)  # mlplab's MSE: ½‖a − y‖², mean
    cost.backward()
    assert net.cost(X, Y) == pytest.approx(cost.item(), rel=1e-12)
    net.forward(X, training=True)
    net.backward(Y)
    rnn, H = net.layers[1], net.layers[1].n_hidden
    for j, gate in enumerate(rnn.GATES):
        rows = slice(j * H, (j + 1) * H)
        np.testing.assert_allclose(getattr(rnn, f"dW_x{gate}"),
                                   module.weight_ih_l0.grad[rows].numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(getattr(rnn, f"dW_h{gate}"),
                                   module.weight_hh_l0.grad[rows].numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(getattr(rnn, "db_" + gate if gate else "db"),
                                   module.bias_ih_l0.grad[rows].numpy(), rtol=1e-10, atol=1e-14)
    if kind == "gru":  # b_hn sits inside the reset gate's product: its own gradient
        np.testing.assert_allclose(rnn.db_hn, module.bias_hh_l0.grad[2 * H:].numpy(), rtol=1e-10)
    np.testing.assert_allclose(net.layers[2].dW, linear.weight.grad.numpy(), rtol=1e-10)
    # ∂C/∂x per sample, as every layer sends it down (the mean's 1/m comes with the gradients)
    dX = net.layers[1].backward(net.layers[2].backward_delta(net.layers[2].delta))
    np.testing.assert_allclose(dX / len(X), Xt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("make_layer, message", [
    (lambda: LSTM(None, 4, forget_bias=float("nan")), "forget_bias must be a finite number"),
    (lambda: GRU(None, 4, mask_value=float("nan")), "mask_value must be a finite number"),
    (lambda: SimpleRNN(None, 4, mask_value=True), "mask_value must be a finite number"),
    (lambda: SimpleRNN(None, 4, mask_value=np.float32(np.inf)), "mask_value must be a finite"),
    (lambda: LSTM(None, 4, return_sequences="no"), "return_sequences must be True or False"),
])
def test_recurrent_options_are_checked(make_layer, message):
    with pytest.raises(ConfigError, match=message):
        make_layer()


def test_numpy_scalars_are_mask_values():
    assert LSTM(None, 4, mask_value=np.float32(0)).mask_value == 0.0
    assert type(GRU(None, 4, mask_value=np.int64(-1)).mask_value) is float  # for the JSON


def test_the_messages_name_the_sequence_fixes(tmp_path):
    with pytest.raises(ConfigError, match=r"use TimeDense\(...\) .* return_sequences=False"):
        Network.from_layers([Input((10, 2)), LSTM(None, 4, return_sequences=True),
                             Dense(None, 1, "identity")], loss="mse", seed=0)
    net = Network.from_layers([Input((10, 2)), LSTM(None, 4, forget_bias=2.0),
                               Dense(None, 1, "identity")], loss="mse", seed=0)
    X = np.random.default_rng(0).normal(size=(3, 10, 2))
    with pytest.raises(DataError, match=r"add the batch axis: X\[None\]"):
        net.predict(X[0])
    from mlplab import load, save  # the forget gate's starting bias is part of the model
    save(net, tmp_path / "m.safetensors")
    assert load(tmp_path / "m.safetensors").layers[1].forget_bias == 2.0
