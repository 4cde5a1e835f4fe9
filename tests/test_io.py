"""Model files: round trips, no pickle, and clear errors for files that are not ours."""

import json
import struct

import numpy as np
import pytest

import mlplab
from mlplab import ModelFileError, Network, load, save


def trained(tmp_path, **kw):
    X, y = mlplab.datasets.moons(50, seed=0)
    net = Network([2, 5, 1], activation="tanh", loss="cross_entropy", seed=0, **kw)
    net.fit(X, y, optimizer="adam", learning_rate=0.05, max_epochs=20)
    return net, X


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    net, X = trained(tmp_path, dtype=dtype)
    path = save(net, tmp_path / "m.safetensors", extra={"note": "hi"})
    back = load(path)
    assert repr(back) == repr(net) and back.dtype == net.dtype
    np.testing.assert_array_equal(back.forward(X.astype(dtype)), net.forward(X.astype(dtype)))
    assert back.extra == {"note": "hi"} and back.saved_history["epochs"] == 20


def test_file_is_safetensors_with_json_metadata_and_no_pickle(tmp_path):
    net, _ = trained(tmp_path)
    path = save(net, tmp_path / "m.safetensors")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert set(header) - {"__metadata__"} == {"layers.1.W", "layers.1.b", "layers.2.W", "layers.2.b"}
    assert header["layers.1.W"]["shape"] == [5, 2]
    meta = header["__metadata__"]
    assert meta["format"] == "mlplab" and meta["format_version"] == "1"
    assert json.loads(meta["config"])["network"]["sizes"] == [2, 5, 1]
    assert not raw.startswith(b"\x80")  # not a pickle stream


def test_save_over_existing_file_is_atomic(tmp_path):
    net, _ = trained(tmp_path)
    path = tmp_path / "m.safetensors"
    save(net, path)
    save(Network([2, 3, 1], seed=1), path)
    assert load(path).sizes == [2, 3, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left


def corrupt(tmp_path, mutate):
    net, _ = trained(tmp_path)
    path = save(net, tmp_path / "m.safetensors")
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    header, body = mutate(header, body)
    hb = json.dumps(header).encode()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(hb)) + hb + body)
    return bad


def _meta(header, **changes):
    header["__metadata__"].update(changes)
    return header


def _arch(header, **changes):
    config = json.loads(header["__metadata__"]["config"])
    config["network"].update(changes)
    header["__metadata__"]["config"] = json.dumps(config)
    return header


@pytest.mark.parametrize("mutate,message", [
    (lambda h, b: (_meta(h, format_version="99"), b), "format version '99'"),
    (lambda h, b: (_meta(h, format="other"), b), "not an mlplab model"),
    (lambda h, b: (_arch(h, sizes=[2, 6, 1]), b), "shape"),
    (lambda h, b: (_arch(h, sizes=[2, 10**9, 1]), b), "impossible layer sizes"),
    (lambda h, b: (_arch(h, activation="swish"), b), "unknown activation"),
    (lambda h, b: (_arch(h, dtype="int8"), b), "dtype"),
    (lambda h, b: (h, b[: len(b) // 2]), "corrupt tensor data"),
])
def test_bad_files_raise_model_file_error(tmp_path, mutate, message):
    with pytest.raises(ModelFileError, match=message):
        load(corrupt(tmp_path, mutate))


@pytest.mark.parametrize("content,message", [
    (b"", "only 0 bytes"), (b"\xff" * 8 + b"{}", "truncated"),
    (struct.pack("<Q", 5) + b"{nope", "bad JSON"), (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
])
def test_garbage_raises_model_file_error(tmp_path, content, message):
    path = tmp_path / "g.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_missing_file_and_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="folder .* does not exist"):
        save(Network([2, 1]), tmp_path / "no" / "m.safetensors")


# ------------------------------------------------------------------ batch norm and residual
def _stack_net(dtype="float64"):
    from mlplab.layers import BatchNorm, Dense, Input, Residual

    rng = np.random.default_rng(0)
    layers = [Input(4), Dense(4, 6, "identity", rng=rng, dtype=dtype), BatchNorm(6, "tanh",
              momentum=0.8, dtype=dtype),
              Residual([Dense(6, 6, "identity", rng=rng, dtype=dtype),
                        BatchNorm(6, "relu", dtype=dtype),
                        Residual([Dense(6, 6, "sigmoid", rng=rng, dtype=dtype)])]),
              Dense(6, 3, "softmax", rng=rng, dtype=dtype)]
    net = Network.from_layers(layers, loss="cross_entropy", seed=0)
    X = rng.normal(size=(60, 4)).astype(dtype)
    y = rng.integers(0, 3, 60)
    net.fit(X, y, optimizer="adam", learning_rate=0.01, batch_size=16, max_epochs=5)
    return net, X


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batchnorm_and_residual_networks_round_trip(tmp_path, dtype):
    net, X = _stack_net(dtype)
    path = save(net, tmp_path / "bn.safetensors")
    back = load(path)
    assert repr(back.layers) == repr(net.layers) and back.dtype == net.dtype
    for a, b in zip(net.params, back.params):
        assert np.array_equal(a, b)
    bn, bn_back = net.layers[2], back.layers[2]
    assert bn_back.momentum == 0.8 and np.array_equal(bn.running_var, bn_back.running_var)
    assert not np.allclose(bn.running_mean, 0)  # trained statistics, not the defaults
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    raw = path.read_bytes()
    header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
    assert "stack.3.3.1.W" in header  # the Dense inside the residual inside the residual


@pytest.mark.parametrize("change,message", [
    (lambda s: s[1].update(n=7), "receives 6"),
    (lambda s: s[2]["layers"].append({"kind": "dense", "n_in": 6, "n_out": 2,
                                      "activation": "tanh"}), "keep the width"),
    (lambda s: s[1].update(kind="lstm"), "impossible layer"),
    (lambda s: s[1].update(momentum="x"), "invalid layer stack"),
    (lambda s: s.clear(), "malformed layer stack"),
    (lambda s: s[0].update(n_out=10**9), "impossible layer|numbers but holds only"),
])
def test_bad_layer_stacks_raise_model_file_error(tmp_path, change, message):
    net, _ = _stack_net()
    save(net, tmp_path / "bn.safetensors")

    def mutate(header, body):
        config = json.loads(header["__metadata__"]["config"])
        change(config["network"]["stack"])
        header["__metadata__"]["config"] = json.dumps(config)
        return header, body

    raw = (tmp_path / "bn.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header, body = mutate(json.loads(raw[8:8 + n]), raw[8 + n:])
    hb = json.dumps(header).encode()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(hb)) + hb + body)
    with pytest.raises(ModelFileError, match=message):
        load(bad)
