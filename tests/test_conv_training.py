"""Convolutional networks through everything else: fit with every optimizer, regularizers and
callbacks, the divergence guard, checkpoints resumed bit for bit, model files (untrusted ones
refused before allocation), the trace of one image, export to ONNX and PyTorch."""

import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlplab
from mlplab import ConfigError, ModelFileError, Network
from mlplab.callbacks import Callback, EarlyStopping
from mlplab.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPool2D)
from mlplab.regularizers import L1, L2, MaxNorm


def bars(m=60, size=6, seed=0):
    """Images of one bar, horizontal (0), vertical (1) or diagonal (2), anywhere, with noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.1, (m, 1, size, size))
    y = np.arange(m) % 3
    for x, label, at in zip(X, y, rng.integers(0, size, m)):
        if label == 0:
            x[0, at, :] += 1
        elif label == 1:
            x[0, :, at] += 1
        else:
            x[0] += np.eye(size)
    return X, y


def small_cnn(seed=0, dropout=False, bn=False, dtype="float64"):
    layers = [Input((1, 6, 6)), Conv2D(1, 4, 3, "identity" if bn else "relu", padding="same",
                                       dtype=dtype)]
    layers += [BatchNorm(None, "relu", dtype=dtype)] if bn else []
    layers += [MaxPool2D(2)] + ([Dropout(None, 0.25, seed=seed + 1)] if dropout else [])
    layers += [Conv2D(None, 3, 2, "tanh", dtype=dtype), AvgPool2D(2), Flatten(),
               Dense(None, 3, "softmax", "xavier_normal", dtype=dtype)]
    return Network.from_layers(layers, loss="cross_entropy", seed=seed)


def _cnn_file_changer():
    """``change(config) -> bytes`` of a saved CNN whose architecture record was changed."""
    net = small_cnn(seed=12)
    with tempfile.TemporaryDirectory() as d:
        raw = mlplab.save(net, Path(d) / "c.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]

    def change(fn):
        header = json.loads(raw[8:8 + n])
        config = json.loads(header["__metadata__"]["config"])
        fn(config["network"])
        header["__metadata__"]["config"] = json.dumps(config)
        hb = json.dumps(header).encode()
        return struct.pack("<Q", len(hb)) + hb + raw[8 + n:]

    return change


cnn_file_with = _cnn_file_changer()  # a saved CNN, its record changed


@pytest.mark.parametrize("optimizer, lr", [("gd", 0.5), ("sgd", 0.1), ("momentum", 0.05),
                                           ("nesterov", 0.05), ("adam", 0.01)])
def test_every_optimizer_trains_a_cnn(optimizer, lr):
    X, y = bars()
    net = small_cnn()
    h = net.fit(X, y, optimizer=optimizer, learning_rate=lr, batch_size=None if optimizer == "gd"
                else 16, max_epochs=40, epsilon=None, accelerate=False)
    assert h.backend == "core"
    assert h.loss[-1] < 0.6 * h.loss[0], (optimizer, h.loss[0], h.loss[-1])


def test_weight_penalties_and_max_norm_reach_the_filters():
    X, y = bars(30)
    seen = []

    class Grads(Callback):
        def on_gradients(self, trainer):
            seen.append(trainer.net.layers[1].dW.copy())

    for penalty in (None, L2(0.5), L1(0.5)):
        net = small_cnn(seed=3)
        net.fit(X, y, optimizer="sgd", learning_rate=0.1, max_epochs=1, epsilon=None,
                callbacks=[Grads()] + ([penalty] if penalty else []), accelerate=False)
        if penalty is not None:  # the callback before it saw the data gradient only
            net.fit(X, y, max_epochs=1, learning_rate=0.1, callbacks=[penalty, Grads()])
        assert penalty is None or penalty.penalty(net) > 0
    plain, l2_before, _, l1_before, _ = seen
    assert np.array_equal(plain, l2_before) and np.array_equal(plain, l1_before)
    assert not np.allclose(seen[2], l2_before)  # λW added to ∂C/∂W of the first filters
    net = small_cnn(seed=4)
    net.fit(X, y, optimizer="adam", learning_rate=0.2, max_epochs=3, callbacks=[
        MaxNorm(0.5, include_output=True)])
    for layer in (net.layers[1], net.layers[3]):
        norms = np.linalg.norm(layer.W.reshape(len(layer.W), -1), axis=1)
        assert norms.max() <= 0.5 + 1e-9  # each filter on the ball


def test_l2_adds_lambda_w_to_each_filter_gradient_exactly():
    X, y = bars(20)
    net = small_cnn(seed=5)
    grads = net.gradients(X, y)
    data_dW = grads[1][0].copy()
    got = []

    class After(Callback):
        def on_gradients(self, trainer):
            got.append(trainer.net.layers[1].dW.copy())

    W = net.layers[1].W.copy()
    net.fit(X, y, optimizer="gd", learning_rate=0.1, max_epochs=1, epsilon=None,
            callbacks=[L2(0.3), After()], accelerate=False)
    np.testing.assert_allclose(got[0], data_dW + 0.3 * W, rtol=1e-12)


def test_early_stopping_with_validation_images():
    X, y = bars(90)
    net = small_cnn(seed=1)
    h = net.fit(X[:60], y[:60], optimizer="adam", learning_rate=0.05, batch_size=20,
                max_epochs=200, validation_data=(X[60:], y[60:]), epsilon=None,
                callbacks=[EarlyStopping(patience=5)])
    assert h.epochs < 200 and len(h.val_loss) == h.epochs
    assert net.score(X[60:], y[60:]) > 0.8


def test_the_divergence_guard_stops_a_cnn_with_its_last_finite_weights():
    X, y = bars(30)
    net = small_cnn(seed=2)
    net.layers[1].W *= 1e300  # z⁽¹⁾ overflows to inf, and inf − inf is NaN in layer 3
    W = net.layers[1].W.copy()
    h = net.fit(X * 1e10, y, optimizer="sgd", learning_rate=1.0, max_epochs=5, accelerate=False)
    assert h.diverged["epoch"] == 1 and "z⁽1⁾, layer 1, overflowed" in h.stop_reason
    assert np.array_equal(net.layers[1].W, W)  # no step taken: the last finite weights
    net.layers[1].W[...] = W
    with pytest.raises(mlplab.DivergenceError, match="diverged at epoch 1, batch 0"):
        net.fit(X * 1e10, y, learning_rate=1.0, max_epochs=5, on_divergence="raise")


def test_a_cnn_with_dropout_and_batch_norm_resumes_bit_for_bit(tmp_path):
    X, y = bars(40, seed=3)

    def run(max_epochs, **kw):
        net = small_cnn(seed=6, dropout=True, bn=True)
        net.fit(X, y, optimizer="adam", learning_rate=0.01, batch_size=16, seed=8,
                max_epochs=max_epochs, epsilon=None, **kw)
        return net

    path = tmp_path / "cnn.ckpt"
    run(3, checkpoint=path, checkpoint_every=2)
    resumed = run(5, checkpoint=path, resume=True)
    straight = run(5)
    assert all(np.array_equal(p, q) for p, q in zip(resumed.params, straight.params))
    assert resumed.history.loss == straight.history.loss
    assert np.array_equal(resumed.layers[2].running_var, straight.layers[2].running_var)


def test_model_files_round_trip_every_image_layer(tmp_path):
    X, y = bars(24)
    net = small_cnn(seed=7, dropout=True, bn=True)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, batch_size=8, max_epochs=2)
    path = mlplab.save(net, tmp_path / "cnn.safetensors")
    back = mlplab.load(path)
    assert back.input_shape == (1, 6, 6)
    assert [type(layer).__name__ for layer in back.layers] == [
        "Input", "Conv2D", "BatchNorm", "MaxPool2D", "Conv2D", "AvgPool2D", "Flatten", "Dense"]
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    assert repr(back.layers[1]) == repr(net.layers[1])
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
    assert header["stack.1.W"]["shape"] == [4, 1, 3, 3]


def _tampered(tmp_path, change):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(cnn_file_with(change))
    return bad


@pytest.mark.parametrize("change, message", [
    (lambda c: c["stack"][0].update(out_channels=10**5, in_channels=10**5),
     "numbers but holds only"),  # refused before any W is allocated
    (lambda c: c["stack"][0].update(kernel=[3, 10**6]), "impossible conv2d"),
    (lambda c: c["stack"][0].update(pads=[1, 0, 1, 0], padding=[1, 1]), "neither symmetric"),
    (lambda c: c["stack"][1].update(stride=[0, 2]), "impossible maxpool2d"),
    (lambda c: c["stack"][0].update(out_channels=5), "tensor stack.1.W has shape|receives"),
    (lambda c: c.update(input_shape=[1, 6, 7]), "does not match 36 inputs"),
    (lambda c: c.update(input_shape=[2, 3, 6]), "invalid layer stack.*receives"),
    (lambda c: c["stack"][0].update(activation="swish"), "unknown activation"),
])
def test_untrusted_cnn_files_are_refused_by_name(tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message):
        mlplab.load(_tampered(tmp_path, change))


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                       | st.text(max_size=8), lambda inner: st.lists(inner, max_size=4),
                       max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([0, 1, 2, 4, None]),
       st.sampled_from(["kind", "kernel", "stride", "pads", "padding", "in_channels",
                        "out_channels", "activation", "input_shape", "n_inputs"]), JSONISH)
def test_any_corruption_of_a_cnn_record_gives_only_a_model_file_error(at, key, value):
    from mlplab.io import loads

    def change(config):
        (config if at is None else config["stack"][at])[key] = value

    data = cnn_file_with(change)
    try:
        net = loads(data, "fuzz.safetensors")
    except ModelFileError as exc:
        assert "fuzz.safetensors" in str(exc)
    else:  # whatever loads must be a usable network
        assert net.forward(np.zeros((1, *net.input_shape))).shape == (1, 3)


def test_the_trace_of_one_image_shows_maps_and_equals_the_gradients():
    X, y = bars(3)
    net = small_cnn(seed=9)
    t = mlplab.trace(net, X[0], y[0], learning_rate=0.5)
    assert t["a⁽⁰⁾"].shape == (1, 6, 6) and t["a⁽¹⁾"].shape == (4, 6, 6)
    assert t["a⁽²⁾"].shape == (4, 3, 3) and t["δ⁽¹⁾"].shape == (4, 6, 6)
    assert t["∂C/∂a⁽²⁾"].shape == (4, 3, 3)
    grads = net.gradients(X[:1], y[:1])
    np.testing.assert_allclose(t["∂C/∂W⁽¹⁾"], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(t["W⁽³⁾ new"], net.layers[3].W - 0.5 * grads[3][0], rtol=1e-12)
    assert t.cost == pytest.approx(net.cost(X[:1], y[:1]), rel=1e-12)
    # max pooling sends ∂C/∂a⁽²⁾ to one place per window: at most 9 of 36 per map are nonzero
    assert (np.count_nonzero(t["∂C/∂a⁽¹⁾"], axis=(1, 2)) <= 9).all()
    text = str(t)
    assert "z⁽¹⁾       = W⁽¹⁾ ⋆ a⁽⁰⁾ + b⁽¹⁾" in text and "full correlation of δ⁽³⁾" in text
    assert json.loads(json.dumps(t.as_dict()))["cost"] == pytest.approx(t.cost)
    with pytest.raises(mlplab.DataError, match=r"one image x of shape \(1, 6, 6\)"):
        mlplab.trace(net, np.zeros(35), 0)


def test_onnx_export_of_a_cnn_runs_in_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from mlplab.export import to_onnx

    X, y = bars(12)
    net = small_cnn(seed=10, bn=True)
    net.layers[1].padding, net.layers[1].pads = 1, (1, 1, 1, 1)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=2, batch_size=4)
    model = to_onnx(net)
    assert [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim] \
        == ["N", 1, 6, 6]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    output, label = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(output, net.forward(X), atol=1e-5)
    np.testing.assert_array_equal(label, net.predict(X))


def test_pytorch_export_and_back_keep_every_output():
    torch = pytest.importorskip("torch")
    from mlplab.export import from_torch, to_torch

    X, y = bars(12)
    net = Network.from_layers(
        [Input((1, 6, 6)), Conv2D(1, 3, 2, "relu", padding="same"), BatchNorm(None, "tanh"),
         MaxPool2D(3, 1), Conv2D(None, 2, 3, "sigmoid", stride=2, padding=1), AvgPool2D(2),
         Flatten(), Dense(None, 3, "softmax")], loss="cross_entropy", seed=11)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=2, batch_size=4)
    module = to_torch(net)
    assert [type(m).__name__ for m in module][:5] == ["Conv2d", "ReLU", "BatchNorm2d", "Tanh",
                                                      "MaxPool2d"]
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.tensor(X)).numpy(), net.forward(X), rtol=1e-12)
    back = from_torch(module, input_shape=(1, 6, 6))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    with pytest.raises(ConfigError, match=r"needs input_shape=\(channels, height, width\)"):
        from_torch(module)
