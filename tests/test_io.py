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


# ------------------------------------------------------------------ files that are not files
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from mlplab.io import atomic_write  # noqa: E402

posix = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices, umask: POSIX")


@posix
@pytest.mark.parametrize("make,kind", [
    (lambda p: os.mkfifo(p), "a FIFO"),
    (lambda p: os.symlink("/dev/null", p), "a character device"),
    (lambda p: os.symlink(p.name, p), "a symlink loop"),
    (lambda p: os.symlink("absent", p), "which does not exist"),
    (lambda p: p.mkdir(), "a folder"),
])
def test_writes_refuse_targets_that_are_not_regular_files(tmp_path, make, kind):
    target = tmp_path / "target"
    make(target)
    before = os.lstat(target)
    with pytest.raises(ModelFileError, match=kind):
        save(Network([2, 1], seed=0), target)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)  # left as it was
    assert [p.name for p in tmp_path.iterdir()] == ["target"]  # and no temporary file
    assert os.stat("/dev/null").st_mode & 0o170000 == 0o020000  # still a device


@posix
def test_a_symlink_is_followed_deliberately_its_target_replaced(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "m.safetensors"
    save(Network([2, 1], seed=0), real)
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    save(Network([2, 3, 1], seed=0), link)
    assert link.is_symlink() and load(real).sizes == [2, 3, 1]


@posix
def test_new_files_respect_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write(tmp_path / "new.json", "{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
    path.chmod(0o604)
    atomic_write(path, "{}\n")
    assert path.stat().st_mode & 0o777 == 0o604 and path.read_text() == "{}\n"


def test_a_write_that_fails_midway_leaves_the_old_file_byte_identical(tmp_path):
    import errno

    path = tmp_path / "history.json"
    atomic_write(path, "old contents")

    def fill_the_disk(f):
        f.write(b"new, partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ModelFileError, match="No space left on device.*old file, if any, is "
                                             "unchanged"):
        atomic_write(path, fill_the_disk, "history file")
    assert path.read_text() == "old contents" and len(list(tmp_path.iterdir())) == 1


@posix
@pytest.mark.parametrize("make,message", [
    (lambda p: Path("/dev/zero"), "is a character device, not a regular file"),
    (lambda p: (os.mkfifo(p), p)[1], "is a FIFO"),
    (lambda p: (os.symlink(p.name, p), p)[1], "symlink loop"),
])
def test_loading_never_reads_devices_or_waits_on_fifos(tmp_path, make, message):
    path = make(tmp_path / "m.safetensors")
    # refused by what the path is, before any read: reading /dev/zero would never end, and
    # opening a FIFO would wait for a writer (no time is asserted: a busy machine is slow)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_a_huge_sparse_file_is_refused_after_reading_its_header(tmp_path):
    import resource

    path = save(Network([2, 3, 1], seed=0), tmp_path / "m.safetensors")
    with open(path, "r+b") as f:
        f.truncate(3_300_000_000)  # sparse: 3.3 GB that take no disk
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ModelFileError, match="header accounts for .* the file holds "
                                             "3300000000"):
        load(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100_000  # KB: no 3.3 GB


def _header_with_config(config_text: str) -> bytes:
    header = json.dumps({"__metadata__": {"format": "mlplab", "format_version": "1",
                                          "config": config_text}}).encode()
    return struct.pack("<Q", len(header)) + header


@pytest.mark.parametrize("data,message", [
    (lambda: struct.pack("<Q", 100_002) + b"[" * 50_000 + b"]" * 50_000 + b"  ",
     "nested too deeply|nested deeper than"),
    (lambda: _header_with_config('{"network": {"sizes": [' + "7" * 5000 + ', 1]}}'),
     "bad JSON .*integer of 5000 digits"),
    (lambda: _header_with_config("[" * 40 + "]" * 40), "nested deeper than 32"),
])
def test_absurd_json_is_a_model_file_error(data, message):
    with pytest.raises(ModelFileError, match=message):
        mlplab.io.loads(data(), "crafted.safetensors")


def _extra_file(tmp_path, extra) -> Path:
    net = Network([2, 3, 1], seed=0)
    path = save(net, tmp_path / "ok.safetensors")
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    config = json.loads(header["__metadata__"]["config"])
    config["extra"] = extra
    header["__metadata__"]["config"] = json.dumps(config)
    hb = json.dumps(header).encode()
    bad = tmp_path / "crafted.safetensors"
    bad.write_bytes(struct.pack("<Q", len(hb)) + hb + raw[8 + n:])
    return bad


TABULAR = {"encoder": {"columns": [{"name": "a", "kind": "numeric", "median": 0.0, "mean": 0.0,
                                    "std": 1.0},
                                   {"name": "b", "kind": "numeric", "median": 0.0, "mean": 0.0,
                                    "std": 1.0}]},
           "target": {"name": "y", "task": "classification", "classes": ["no", "yes"]},
           "metrics": {}}


def _tabular(**changes):
    record = json.loads(json.dumps(TABULAR))
    for path, value in changes.items():
        *outer, last = path.split(".")
        node = record
        for key in outer:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value
    return {"tabular": record}


@pytest.mark.parametrize("extra,message", [
    ({"csv": {"target": "y", "features": [1, 2]}}, "extra.csv.features must be a non-empty list"),
    ({"csv": {"target": "y", "features": [{"a": 1}, "b"]}}, "list of strings"),
    ({"csv": {"target": "y", "features": ["a"]}}, "lists 1 names for 2"),
    ({"csv": {"target": "y", "features": ["a", "a"]}}, "repeats a name"),
    ({"csv": "a,b"}, "extra.csv must be a JSON object"),
    ({"tabular": {}}, "extra.tabular.encoder must be a JSON object"),
    (_tabular(**{"encoder.columns": []}), "columns must be a non-empty list"),
    (_tabular(**{"encoder.columns.0.kind": "ordinal"}), "kind must be 'numeric'"),
    (_tabular(**{"encoder.columns.0.std": 0}), "std must be a positive finite number"),
    (_tabular(**{"encoder.columns.1": {"name": "b", "kind": "categorical", "fill": "x",
                                       "categories": ["x", "z"]}}), "gives 3 inputs"),
    (_tabular(**{"target.classes": ["no"]}), "at least 2 labels"),
    (_tabular(**{"target.classes": ["a", "b", "c"]}), "3 classes do not fit"),
    (_tabular(**{"target.task": "ranking"}), "task must be"),
    (_tabular(**{"target.name": None}), "target.name must be a string"),
])
def test_crafted_extra_records_are_refused_at_load(tmp_path, extra, message):
    with pytest.raises(ModelFileError, match=message):
        load(_extra_file(tmp_path, extra))


def test_crafted_extra_records_end_in_one_line_from_predict(tmp_path):
    from typer.testing import CliRunner

    from mlplab.cli import app

    bad = _extra_file(tmp_path, {"csv": {"target": "y", "features": [{"a": 1}, "b"]}})
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    for args in (["predict", str(bad), str(tmp_path / "d.csv")],
                 ["predict", str(_extra_file(tmp_path, _tabular(**{"target.classes": ["x"]}))),
                  "--csv", str(tmp_path / "d.csv")], ["show", str(bad)]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and r.output.startswith("error: ") and "Traceback" not in r.output
        assert "has an invalid extra record" in r.output


@posix
def test_full_disk_during_train_out_and_predict_output_keeps_the_old_files(tmp_path):
    """A real write failure (the file-size limit: EFBIG, like a full disk) in a real process."""
    out, work = tmp_path / "out", tmp_path / "work"  # work: where a rescued model would go
    work.mkdir()
    run = [sys.executable, "-m", "mlplab", "train", "xor", "--no-progress", "--out", str(out)]
    assert subprocess.run(run + ["--max-epochs", "5"], capture_output=True,
                          cwd=work).returncode == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}

    def limited():  # every write past 1,500 bytes of a file fails
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))

    proc = subprocess.run(run + ["--max-epochs", "400", "--epsilon", "1e-12"],
                          capture_output=True, text=True, preexec_fn=limited, cwd=work)
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot write history file")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    # the (small) model file was written whole, history.json not at all: the old one stays
    assert (out / "history.json").read_bytes() == old["history.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(old)  # no temporary file left
    assert load(out / "model.safetensors").history is None  # loads: whole, not torn
    # the CSV path: predictions written over an old file
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(200)))
    model = tmp_path / "tab"
    assert subprocess.run([sys.executable, "-m", "mlplab", "train", "--csv", str(table),
                           "--target", "y", "--max-epochs", "3", "--out", str(model)],
                          capture_output=True, cwd=work).returncode == 0
    predictions = tmp_path / "old.csv"
    predictions.write_text("the old predictions\n")
    proc = subprocess.run([sys.executable, "-m", "mlplab", "predict",
                           str(model / "model.safetensors"), "--csv", str(table),
                           "--output", str(predictions)], capture_output=True, text=True,
                          preexec_fn=limited, cwd=work)
    assert proc.returncode == 2 and "cannot write --output" in proc.stderr
    assert predictions.read_text() == "the old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv", "out", "t.csv", "tab",
                                                          "work"]
