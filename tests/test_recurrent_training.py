"""Recurrent networks with everything else: optimizers, clipping, the divergence guard,
checkpoints (bit-identical resume), model files (untrusted ones refused), trace, other array
libraries."""

import json
import struct

import numpy as np
import pytest

import mlplab
from mlplab import ModelFileError, Network, load, save, trace
from mlplab.clipping import ClipByGlobalNorm
from mlplab.core.xp import to_numpy
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense

KINDS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def seq_net(kind="lstm", T=6, H=5, sequences=False, seed=0, **options):
    """Input((T, 2)) → kind → Dense(…, 1) (many-to-one) or two stacked layers and a
    TimeDense softmax head over 3 classes (many-to-many)."""
    cls, rng = KINDS[kind], np.random.default_rng(seed)
    if sequences:
        layers = [Input((T, 2)), cls(2, H, return_sequences=True, rng=rng, **options),
                  cls(H, H, return_sequences=True, rng=rng), TimeDense(H, 3, "softmax", rng=rng)]
        return Network.from_layers(layers, loss="cross_entropy", seed=seed)
    layers = [Input((T, 2)), cls(2, H, rng=rng, **options), Dense(H, 1, "identity", rng=rng)]
    return Network.from_layers(layers, loss="mse", seed=seed)


def seq_data(sequences=False, m=40, T=6, seed=1):
    """A learnable target: the sum of the first feature (many-to-one), or its sign's running
    class per step (many-to-many)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, T, 2))
    if sequences:
        return X, np.digitize(np.cumsum(X[..., 0], axis=1), [-1.0, 1.0])
    return X, X[..., 0].sum(axis=1, keepdims=True) / np.sqrt(T)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_every_optimizer_trains_every_layer(kind, optimizer):
    net = seq_net(kind)
    X, Y = seq_data()
    lr = 0.01 if optimizer == "adam" else 0.1
    h = net.fit(X, Y, optimizer=optimizer, learning_rate=lr, batch_size=10, max_epochs=15,
                epsilon=None, seed=2)
    assert h.loss[-1] < 0.6 * h.loss[0]


def test_many_to_many_learns_per_step_classes():
    net = seq_net("gru", sequences=True)
    X, y = seq_data(sequences=True, m=60)
    before = net.score(X, y)
    net.fit(X, y, optimizer="adam", learning_rate=0.02, batch_size=20, max_epochs=30, seed=0)
    assert net.score(X, y) > max(0.75, before + 0.2)


def test_clipping_bounds_the_recurrent_gradients():
    net = seq_net("rnn", init="normal:3")  # large W_h: the classic exploding RNN
    X, Y = seq_data()
    clip = ClipByGlobalNorm(1.0)
    seen = []

    class Norm(mlplab.Callback):  # runs after the clipping callback: sees what the step uses
        def on_gradients(self, trainer):
            seen.append(np.sqrt(sum(float(np.vdot(g, g)) for g in trainer.net.grads)))

    net.fit(X, Y, optimizer="sgd", learning_rate=0.05, batch_size=10, max_epochs=3,
            epsilon=None, callbacks=[clip, Norm()])
    assert clip.n_clipped > 0 and clip.last_norm > 1.0
    assert max(seen) <= 1.0 + 1e-9


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_divergence_guard_stops_a_recurrent_network():
    net = seq_net("rnn", activation="relu", init="normal:4")
    X, Y = seq_data()
    h = net.fit(X * 50, Y, optimizer="sgd", learning_rate=1.0, max_epochs=200, epsilon=None)
    assert h.diverged is not None and "lower the learning rate" in h.stop_reason
    assert all(np.isfinite(p).all() for p in net.params)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_checkpoint_resume_is_bit_identical(tmp_path, kind):
    X, Y = seq_data()
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=16, epsilon=None, seed=5)
    whole = seq_net(kind)
    whole.fit(X, Y, max_epochs=6, **kw)
    ck = tmp_path / "run.ckpt"
    seq_net(kind).fit(X, Y, max_epochs=3, checkpoint=ck, **kw)  # stops after epoch 3
    resumed = seq_net(kind)
    h = resumed.fit(X, Y, max_epochs=6, checkpoint=ck, resume=True, **kw)
    assert h.epochs == 6
    for p, q in zip(resumed.params, whole.params):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_model_files_round_trip(tmp_path, kind, dtype):
    net = seq_net(kind, sequences=True, mask_value=0.0)
    X, y = seq_data(sequences=True)
    net.fit(X.astype(dtype), y, optimizer="adam", learning_rate=0.01, max_epochs=2)
    back = load(save(net, tmp_path / "m.safetensors"))
    assert repr(back.layers) == repr(net.layers) and back.input_shape == (6, 2)
    assert back.layers[1].mask_value == 0.0 and back.dtype == np.dtype(dtype)
    for a, b in zip(net.params, back.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))


def _tampered(tmp_path, change):
    net = seq_net("gru", sequences=True)
    raw = save(net, tmp_path / "m.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    config = json.loads(header["__metadata__"]["config"])
    change(config["network"])
    header["__metadata__"]["config"] = json.dumps(config)
    hb = json.dumps(header).encode()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
    return bad


@pytest.mark.parametrize("change, message", [
    (lambda c: c["stack"][0].update(n_hidden=-3), "impossible layer"),
    (lambda c: c["stack"][0].update(n_hidden=10**7), "impossible layer"),
    (lambda c: c["stack"][0].update(n_hidden=6), "shape|receives"),
    (lambda c: c["stack"][0].update(return_sequences="yes"), "impossible layer"),
    (lambda c: c["stack"][0].update(mask_value="0"), "impossible layer"),
    (lambda c: c["stack"][1].update(kind="lstm"), "shape|lacks tensor"),
    (lambda c: c["stack"][2].update(n_in=4), "invalid layer stack"),
    (lambda c: c.update(input_shape=[6, 3]), "invalid layer stack"),
    (lambda c: c.update(input_shape="6x2"), "invalid layer stack"),
])
def test_untrusted_recurrent_files_are_refused(tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message):
        load(_tampered(tmp_path, change))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_trace_of_one_sequence_is_the_networks_own_numbers(kind):
    net = seq_net(kind, T=3, H=2)
    x, y = seq_data(m=1, T=3)
    t = trace(net, x[0], y[0])
    grads = net.gradients(x, y)
    rnn = net.layers[1]
    assert t.cost == pytest.approx(net.cost(x, y), rel=1e-12)
    for name in rnn.param_names:
        np.testing.assert_allclose(t[f"∂C/∂{name}⁽¹⁾"], getattr(rnn, "d" + name), rtol=1e-12)
    np.testing.assert_allclose(t["∂C/∂W⁽²⁾"], grads[2][0], rtol=1e-12)
    net.forward(x)
    for step in (1, 2, 3):
        np.testing.assert_allclose(t[f"h{'₁₂₃'[step - 1]}⁽¹⁾"], rnn.steps[step - 1]["h"][0])
    text = str(t)
    expected = {"rnn": "(W_hᵀδₜ₊₁ + ∂C/∂hₜ) ⊙ tanh′(zₜ)", "lstm": "fₜ ⊙ cₜ₋₁ + iₜ ⊙ c̃ₜ",
                "gru": "(1 − uₜ) ⊙ nₜ + uₜ ⊙ hₜ₋₁"}[kind]
    assert expected in text and "∂C/∂h₀⁽¹⁾" in text


@pytest.mark.parametrize("device", ["array_api_strict", "torch"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_recurrent_layers_on_other_array_libraries(device, kind):
    pytest.importorskip(device)
    X, y = seq_data(sequences=True, m=30)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=10, max_epochs=3, epsilon=None,
              seed=1)
    net = seq_net(kind, sequences=True, mask_value=0.0).to(device)
    X[0, 4:] = 0.0  # a padded row
    h = net.fit(X, y, **kw)
    ref = seq_net(kind, sequences=True, mask_value=0.0)
    h_ref = ref.fit(X, y, accelerate=False, **kw)
    assert h.backend == "core" and type(net.layers[1].W_xn if kind == "gru" else
                                        net.params[0]).__module__.split(".")[0] in (
        "array_api_strict", "torch")
    for p, q in zip(net.params, ref.params):
        np.testing.assert_allclose(to_numpy(p), q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-10)
    np.testing.assert_allclose(to_numpy(net.predict_proba(X)), ref.predict_proba(X), rtol=1e-9)
