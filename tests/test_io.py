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
