"""The bad-input catalogue: every case raises a named mlplab error whose message names the
problem (and usually the fix). Python API, model and checkpoint files, CSV files, the CLI
(exit code 2, one line, no traceback), one real ``python -m mlplab`` process, and the
playground's HTTP API (a 4xx naming the field)."""

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab import (ConfigError, DataError, DivergenceError, ModelFileError, Network,
                    load, load_checkpoint, save)
from mlplab.cli import app
from mlplab.datasets.csv import load_csv
from mlplab.io import loads

ROOT = Path(__file__).resolve().parents[1]
X, Y = mlplab.datasets.xor()
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def net(**kw):
    return Network([2, 2, 1], seed=0, **kw)


# ----------------------------------------------------------------- Python API
API = [
    (lambda: net().fit(X, Y, on_divergence="ignore"), ConfigError, "on_divergence must be one of"),
    (lambda: net().fit(X, Y, resume=True), ConfigError, "resume=True needs checkpoint=PATH"),
    (lambda: net().fit(X, Y, checkpoint="ck", checkpoint_every=0), ConfigError,
     "checkpoint_every must be an integer ≥ 1"),
    (lambda: Network([2, 2.5, 1]), ConfigError, "layer size"),
    (lambda: net().fit(X, Y, optimizer="momentum", momentum=1.5), ConfigError,
     r"momentum β must be in \[0, 1\)"),
    (lambda: net().fit(X, Y, optimizer="gd", momentum=0.9), ConfigError,
     "takes no option 'momentum'"),
    (lambda: net().fit(X, Y, optimizer="adam", beta_1=1.0), ConfigError, "beta_1 must be in"),
    (lambda: net().fit(X, Y, learning_rate="0.1"), ConfigError, "learning rate α"),
    (lambda: net().fit(X, Y, batch_size=True), ConfigError, "batch_size must be an integer"),
    (lambda: net().fit(X, Y, validation_data=(np.ones((2, 3)), np.ones(2))), DataError,
     "validation X has 3 features"),
    (lambda: net().fit(X, np.array(["a", "b", "a", "b"])), DataError, "Y must be numeric"),
    (lambda: net().fit([[1, 2], [3]], Y[:2]), DataError, "could not be read as an array"),
    (lambda: net().fit(np.ones((4, 2, 1)), Y), DataError, "must be 2-D.*3-D"),
    (lambda: net().predict(np.array([[np.nan, 1.0]])), DataError, "X contains NaN or inf"),
    (lambda: net().predict(np.ones((1, 0))), DataError, "0 features"),
    (lambda: mlplab.gradcheck(net(), np.ones((2, 5)), np.ones((2, 1))), DataError,
     "5 features but the network expects 2"),
    (lambda: mlplab.trace(net(), [1, 0], [1], learning_rate=2), ConfigError, "learning rate α"),
    (lambda: Network([2, 3], loss="cross_entropy").fit(X, np.array([0, 1, 2, -1])), DataError,
     "labels must be 0..2"),
    (lambda: Network([2, 2, 1], seed="a"), ConfigError, "seed must be a non-negative integer"),
    (lambda: net().fit(X, Y, seed=-1), ConfigError, "seed must be a non-negative integer"),
    (lambda: mlplab.datasets.moons(seed="x"), ConfigError, "seed must be a non-negative"),
    (lambda: Network([10**6, 10**6, 10**6]), ConfigError, "more than this machine's memory"),
    (lambda: mlplab.gradcheck(net(), X, Y, h=0), ConfigError, "gradcheck's h must be a number > 0"),
    (lambda: mlplab.trace(net(), "ab", [1]), DataError, "one numeric sample"),
    (lambda: net().fit(X, Y, callbacks=[print]), ConfigError, "mlplab.Callback instances"),
    (lambda: net().fit(X, Y, validation_data=(X,)), ConfigError, r"pair \(X_val, Y_val\)"),
    (lambda: net().fit(X, Y, checkpoint=5), ConfigError, "must be a str or os.PathLike"),
    (lambda: net().fit(X + 1j, Y), DataError, "X is complex"),
    (lambda: mlplab.EarlyStopping(patience="3"), ConfigError, "patience must be an integer"),
    (lambda: save("not a network", "m.safetensors"), ConfigError, "save expects a Network"),
    (lambda: save(mlplab.MLPClassifier((3,), max_iter=3).fit(X, Y.ravel()), "m.safetensors"),
     ConfigError, r"got MLPClassifier; .* mlplab.save\(est.net_, path\), or .* joblib.dump"),
    (lambda: mlplab.MLPClassifier(hidden_layer_sizes=(0,)).fit(X, Y.ravel()), ConfigError,
     "hidden_layer_sizes must be a sequence of positive ints"),
    (lambda: mlplab.MLPRegressor(solver="lbfgs", dropout=0.5).fit(X, Y.ravel()), ConfigError,
     "dropout must be 0 with solver='lbfgs'"),
    (lambda: mlplab.MLPClassifier(learning_rate_init=5).fit(X, Y.ravel()), ConfigError,
     r"MLPClassifier: learning_rate_init must be a number in \(0, 1\]"),
    (lambda: load(3), ConfigError, "must be a str or os.PathLike"),
    (lambda: Network([3, 4, 1], activation="identity", output="identity", seed=0).fit(
        np.full((8, 3), 1e3), np.full(8, 1e6), learning_rate=1.0, on_divergence="raise",
        max_epochs=1000), DivergenceError, "diverged at epoch .*lower the learning rate"),
]


@pytest.mark.parametrize("call,error,message", API)
def test_python_api(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------- model and checkpoint files
def _model_bytes(**kw) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return save(net(**kw), Path(d) / "m.safetensors").read_bytes()


def _split(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def _pack(header, body):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body


def _edit(fn):
    header, body = _split(_model_bytes())
    fn(header)
    return _pack(header, body)


def _set_config(header, **changes):
    config = json.loads(header["__metadata__"]["config"])
    for key, value in changes.items():
        if key == "extra":
            config["extra"] = value
        else:
            config["network"][key] = value
    header["__metadata__"]["config"] = json.dumps(config)


def _nan_body():
    header, body = _split(_model_bytes())
    start = header["layers.1.b"]["data_offsets"][0]
    return _pack(header, body[:start] + np.array([np.nan]).tobytes() + body[start + 8:])


def _f32_tensors_in_a_float64_record():
    header, body = _split(_model_bytes(dtype="float32"))
    _set_config(header, dtype="float64")
    return _pack(header, body)


FILES = [
    (lambda: b"", "only 0 bytes"),
    (lambda: struct.pack("<Q", 2**40) + b"{}", "truncated or not a safetensors file"),
    (lambda: struct.pack("<Q", 5) + b"{oops", "bad JSON"),
    (lambda: _edit(lambda h: h["__metadata__"].update(format_version="2")),
     "format version '2'.*upgrade mlplab"),
    (lambda: _edit(lambda h: h.pop("__metadata__")), "not an mlplab model"),
    (lambda: _edit(lambda h: _set_config(h, sizes=[100_000, 100_000, 1])),
     "declares 10000200001 parameters but holds only"),
    (lambda: _edit(lambda h: _set_config(h, sizes=[2, -3, 1])), "impossible layer sizes"),
    (lambda: _edit(lambda h: _set_config(h, dtype="complex128")), "declares dtype 'complex128'"),
    (lambda: _edit(lambda h: _set_config(h, extra=[1, 2])), "invalid extra record"),
    (lambda: _edit(lambda h: h["__metadata__"].update(config="[1")), "invalid config record"),
    (_f32_tensors_in_a_float64_record, "dtype float32, expected float64"),
    (lambda: _edit(lambda h: h["layers.1.W"].update(shape=[3, 2], data_offsets=[0, 48])),
     "corrupt tensor data|shape"),
    (_nan_body, "contains NaN or inf"),
    (lambda: _model_bytes()[:-5], "corrupt tensor data"),
]


@pytest.mark.parametrize("make,message", FILES)
def test_model_files(make, message):
    with pytest.raises(ModelFileError, match=message):
        loads(make(), "bad.safetensors")


def test_missing_folder_and_empty_file_paths(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load(tmp_path)
    with pytest.raises(ModelFileError, match="folder .* does not exist; create it first"):
        save(net(), tmp_path / "no" / "m.safetensors")
    with pytest.raises(ModelFileError, match="it is a folder; give a file name"):
        save(net(), tmp_path)
    with pytest.raises(ModelFileError, match="not JSON-serializable"):
        save(net(), tmp_path / "m.safetensors", extra={"f": print})


def test_checkpoint_misuse(tmp_path):
    ck = tmp_path / "run.ckpt"
    with pytest.raises(ConfigError, match="cannot resume: no checkpoint at"):
        net().fit(X, Y, checkpoint=ck, resume=True)
    with pytest.raises(ConfigError, match="is a folder; give a file path"):
        net().fit(X, Y, checkpoint=tmp_path)
    net().fit(X, Y, max_epochs=5, checkpoint=ck)
    with pytest.raises(ConfigError, match="written with learning_rate=0.5 but this run has "
                                          "learning_rate=0.25"):
        net().fit(X, Y, learning_rate=0.25, checkpoint=ck, resume=True)
    with pytest.raises(ConfigError, match=r"checkpoint .* is of network \[2, 2, 1\]"):
        Network([2, 3, 1]).fit(X, Y, checkpoint=ck, resume=True)
    with pytest.raises(ModelFileError, match="is not an mlplab model"):
        load(ck)
    save(net(), tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="not an mlplab-checkpoint file"):
        load_checkpoint(tmp_path / "m.safetensors")


# ----------------------------------------------------------------- CSV files
CSV = [
    ("a,b,y\n1,2,3\n", "nope", DataError, "has no column 'nope'; its columns are: a, b, y"),
    ("a,b,y\n1,x,3\n", "y", DataError, "column 'b' is not numeric"),
    ("a,b,y\n1,,3\n", "y", DataError, "column 'b' has missing values"),
    ("y\n1\n2\n", "y", DataError, "only the target column 'y'"),
    ("a,y\n1e999,1\n", "y", DataError, "inf or a number too large"),
    ("", "y", DataError, "could not be read as CSV"),
    ("a,y\n", "y", DataError, "has a header but no data rows"),
    ("a,y\n1,cat\n", "y", DataError, "target column 'y' must be numeric"),
    ('a,y\n"1,2\n', "y", DataError, "could not be read as CSV"),
]


@pytest.mark.parametrize("text,target,error,message", CSV)
def test_csv_files(tmp_path, text, target, error, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(error, match=message):
        load_csv(path, target)


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match="CSV file .*absent.csv does not exist"):
        load_csv(tmp_path / "absent.csv", "y")


# ----------------------------------------------------------------- the command line
@pytest.fixture
def files(tmp_path):
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x00" * 7)
    (tmp_path / "text.csv").write_text("a,b,y\n1,x,0\n2,y,1\n")
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,0\n2,1,1\n")
    (tmp_path / "big.csv").write_text("a,b,c,y\n" + "".join(
        f"{i * 1e3},{-i * 1e3},{i % 3 * 1e3},{i * 1e6}\n" for i in range(20)))
    (tmp_path / "indexed.csv").write_text(",a,y\n" + "".join(f"{i},{i * 0.5},{i % 2}\n"
                                                              for i in range(30)))
    (tmp_path / "named_index.csv").write_text("row,a,y\n" + "".join(
        f"{i},{i * 0.5},{i % 2}\n" for i in range(30)))  # named: a feature the user chose
    (tmp_path / "dup.csv").write_text("a,y,y\n" + "".join(f"{i},{i % 2},{i % 2}\n"
                                                           for i in range(10)))
    (tmp_path / "huge.csv").write_text("a,y\n" + "".join(
        f"{i},{'1e308' if i % 2 else '-1e308'}\n" for i in range(10)))
    (tmp_path / "longcell.csv").write_text("a,y\nb,0\n" + "c" * 20_000 + ",1\n")
    (tmp_path / "latin.csv").write_bytes("name,y\ncafé,0\nnaïve,1\n".encode("latin-1"))
    (tmp_path / "table.csv").write_text("a,b,y\n" + "".join(
        f"{i},{'xy'[i % 2]},{i % 2}\n" for i in range(20)))
    (tmp_path / "dir").mkdir()
    (tmp_path / "m" / "history.json").mkdir(parents=True)  # train --out m cannot write it
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop2.csv")
    (tmp_path / "loop2.csv").symlink_to(tmp_path / "loop.csv")
    save(Network([3, 2, 1], seed=0), tmp_path / "m" / "model.safetensors", extra={"tabular": {
        "encoder": {"columns": [{"name": "a", "kind": "numeric", "median": 9.5, "mean": 9.5,
                                 "std": 5.8}, {"name": "b", "kind": "categorical", "fill": "x",
                                               "categories": ["x", "y"]}]},
        "target": {"name": "y", "task": "classification", "classes": [0, 1]}}})
    return tmp_path


M = "{d}/m/model.safetensors"  # a model trained on {d}/table.csv
CLI = [
    (["show", "{d}/corrupt.safetensors"], "only 7 bytes"),
    (["predict", "{d}/corrupt.safetensors", "xor"], "not an mlplab model file"),
    (["gradcheck", "--model", "{d}/absent.safetensors"], "does not exist"),
    (["train", "{d}/ok.csv"], "name the column to predict with --target"),
    (["train", "--checkpoint", "{d}/none.ckpt", "--resume"], "cannot resume: no checkpoint"),
    (["train", "--resume"], "resume=True needs checkpoint=PATH"),
    (["train", "--checkpoint", "{d}/c.ckpt", "--checkpoint-every", "0"],
     "checkpoint_every must be an integer ≥ 1"),
    (["train", "--on-divergence", "ignore"], "on_divergence must be one of stop, raise"),
    (["train", "--checkpoint", "{d}", "--max-epochs", "3"],
     "--checkpoint .* is a folder; give a file name inside it"),
    (["train", "{d}/big.csv", "--target", "y", "--task", "regression", "--layers", "3,4,1",
      "--activation", "identity", "--output", "identity", "--optimizer", "gd", "--lr", "1",
      "--on-divergence", "raise"], "training diverged at epoch"),
    (["train", "--max-epochs", "0"], "max_epochs must be an integer ≥ 1"),
    (["train", "--lr", "0"], r"learning rate α must be in \(0, 1\]"),
    (["train", "--checkpoint", "{d}/no/such/c.ckpt"], "folder .*no/such does not exist; create "
                                                      "it first"),
    (["lab", "xor", "--out", "/proc/mlplab-forbidden"], "cannot write in folder /proc"),
    (["tour", "--out", "{d}/ok.csv/sub"], "ok.csv is a file, not a folder"),
    (["lab", "nope"], "unknown experiment 'nope'"),
    (["train", "--csv", "{d}/text.csv"], "name the column to predict with --target"),
    (["train", "--csv", "{d}/text.csv", "--target", "nope"], "has no column 'nope'"),
    (["train", "--csv", "{d}/text.csv", "--target", "y", "--task", "clustering"],
     "task must be auto, classification or regression"),
    (["train", "--csv", "{d}/text.csv", "--target", "y", "--test-size", "2"],
     r"test size must be in \(0, 1\)"),
    (["train", "--csv", "{d}/text.csv", "--target", "y", "--hidden", "0"],
     "every layer size must be an integer ≥ 1, got 0"),
    (["predict", "{d}/absent.safetensors", "--csv", "{d}/text.csv"], "does not exist"),
    # issue 22: output locations, checked before training (each used to be a traceback)
    (["predict", M, "--csv", "{d}/table.csv", "--output", "{d}/missing-dir/pred.csv"],
     "--output .*pred.csv: folder .*missing-dir does not exist"),
    (["predict", M, "--csv", "{d}/table.csv", "--output", "{d}/dir"],
     "--output .*dir is a folder; give a file name inside it"),
    (["predict", M, "{d}/table.csv", "--output", "/dev/null"],
     "--output /dev/null is a character device, not a regular file"),
    (["train", "--csv", "{d}/table.csv", "--target", "y", "--out", M + "/sub"],
     "model.safetensors is a file, not a folder"),
    (["train", "{d}/table.csv", "--target", "y", "--out", "{d}/ok.csv"],
     "--out .*ok.csv is a file; give a folder"),
    (["train", "--out", "{d}/ok.csv/sub"], "ok.csv is a file, not a folder"),
    (["train", "--out", "{d}/m", "--csv", "{d}/table.csv", "--target", "y", "--max-epochs", "1"],
     "history.json is not a regular file .*move it away or give another --out"),
    (["train", "--checkpoint", "{d}/ok.csv/c.ckpt"], "ok.csv is a file, not a folder"),
    (["lab", "nosuchlab", "--out", "{d}/new"], "unknown experiment 'nosuchlab'"),
    # issue 22: one CSV route, every option honoured or refused
    (["train", "--test-size", "0.3"], "--test-size applies to a CSV file"),
    (["train", "and", "--target", "y"], "--target applies to a CSV file"),
    (["train", "--layers", "2,2,1", "--hidden", "3"], "give --layers .* or --hidden .*not both"),
    (["train", "{d}/table.csv", "--target", "y", "--layers", "2,4,1"],
     r"layer sizes \[2, 4, 1\] do not fit table.csv: it encodes to 3 inputs .*--layers 3,4,1"),
    (["train", "{d}/big.csv", "--target", "y", "--task", "regression", "--loss",
      "cross_entropy"], "its loss is mse, not cross-entropy"),
    (["train", "{d}/table.csv", "--csv", "{d}/ok.csv", "--target", "y"],
     "give the data once"),
    (["predict", M, "xor"], "trained on a CSV table; give a CSV file"),
    (["predict", M, "{d}/table.csv", "--rows", "-1"], "--rows must be ≥ 0"),
    # issue 22: smaller things
    (["train", "--csv", "{d}/dir", "--target", "y"], "is a folder; give the CSV file inside it"),
    (["train", "--epsilon", "0"], "--epsilon must be > 0, got 0: .*e.g. 1e-8"),
    (["train", "{d}/latin.csv", "--target", "y", "--encoding", "utf-8"],
     "is not UTF-8 text .*pass --encoding latin-1"),
    (["train", "{d}/latin.csv", "--target", "y", "--encoding", "klingon"],
     "unknown text encoding 'klingon'"),
    (["train", "--lr", "abc"], "Invalid value for '--lr'.*see '.*train --help'"),
    (["trian"], "No such command 'trian'"),
    # issue 24, items 9 and 10: inputs that explode, files that are not files
    (["train", "{d}/longcell.csv", "--target", "y"],
     "line 3, column 'a' holds a cell of 20,000 characters"),
    (["train", "{d}/huge.csv", "--target", "y"],
     "target column 'y' holds -1e\\+308 on line 2, beyond ±1e\\+150 .*rescale the column"),
    (["train", "{d}/dup.csv", "--target", "y"],
     "two columns named 'y' \\(columns 2 and 3\\); rename one"),
    (["train", "{d}/indexed.csv", "--target", "y"],
     "first column has no name and counts the rows 0, 1, 2, …: the row index pandas writes "
     "with to_csv\\(\\).*to_csv\\(index=False\\), or name the column"),
    (["train", "--csv", "{d}/pipe.csv", "--target", "y"], "is a FIFO \\(named pipe\\)"),
    (["train", "--csv", "/dev/zero", "--target", "y"], "/dev/zero is a character device"),
    (["train", "--csv", "{d}/loop.csv", "--target", "y"], "Too many levels of symbolic links"),
    (["predict", M, "--csv", "{d}/pipe.csv"], "is a FIFO \\(named pipe\\)"),
]


@pytest.mark.parametrize("args,message", CLI)
def test_cli(files, args, message):
    result = CliRunner().invoke(app, [a.format(d=files) for a in args] + ["--no-progress"]
                                if args[0] == "train" else [a.format(d=files) for a in args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ")
    assert re.search(message, lines[-1]), lines[-1]
    assert "Traceback" not in result.output
    assert not (files / "new").exists()  # nothing is created before the input is checked


@pytest.mark.parametrize("args", [
    ["train", "--out", "{u}/run"],
    ["train", "{d}/table.csv", "--target", "y", "--out", "{u}/run"],
    ["train", "--checkpoint", "{u}/c.ckpt"],
    ["predict", M, "{d}/table.csv", "--output", "{u}/pred.csv"],
    ["lab", "xor", "--out", "{u}/lab"],
    ["tour", "--out", "{u}/tour"],
])
def test_cli_unwritable_locations(files, unwritable, args):
    result = CliRunner().invoke(app, [a.format(d=files, u=unwritable) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output  # nothing trained or printed before
    assert re.search(f"error: .*: cannot write in folder {unwritable} ", result.output)


WARNINGS = [  # input that is fixed up, with one line saying how; the command goes on
    (lambda d: (d / "ids.csv").write_text("id,x,y\n" + "".join(
        f"u{i},{i % 7},{i % 2}\n" for i in range(60))), "ids.csv",
     "dropped column 'id': 48 distinct values in 48 rows make it an identifier"),
    (lambda d: (d / "towns.csv").write_text("town,y\n" + "".join(
        f"t{i % 150},{i % 2}\n" for i in range(600))), "towns.csv",
     "column 'town' has 1.. distinct values; kept the 100 most frequent"),
    (lambda d: (d / "latin1.csv").write_bytes("name,y\n".encode() + "".join(
        f"{'café' if i % 2 else 'thé'},{i % 2}\n" for i in range(10)).encode("latin-1")),
     "latin1.csv", "is not UTF-8 text \\(byte 0xe9 .*read it as cp1252"),
]


@pytest.mark.parametrize("make,name,message", WARNINGS, ids=[w[1] for w in WARNINGS])
def test_cli_warnings(tmp_path, make, name, message):
    make(tmp_path)
    result = CliRunner().invoke(app, ["train", str(tmp_path / name), "--target", "y",
                                      "--max-epochs", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1 and re.search(message, warned[0]), result.output


PREPARED = [  # the library behind train FILE.csv: DataError naming the problem
    ("id,y\n" + "".join(f"u{i},{i % 2}\n" for i in range(60)), {},
     "no usable feature column is left \\(identifier-like columns dropped: id\\)"),
    ("x,y\n" + "".join(f"{i},c{i}\n" for i in range(1500)), {},
     "target column 'y' has 1,500 distinct values, more classes than 1000"),
    ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)), {"test_size": 0.0},
     r"test size must be in \(0, 1\)"),
    ("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(10)), {"max_categories": 0},
     "max_categories must be an integer ≥ 1"),
]


@pytest.mark.parametrize("text,options,message", PREPARED,
                         ids=["only-ids", "1500-classes", "test-size-0", "max-categories-0"])
@pytest.mark.filterwarnings("ignore::mlplab.preprocessing.ColumnWarning")
def test_prepared_csv(tmp_path, text, options, message):
    from mlplab.datasets.csv_model import prepare_csv

    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        prepare_csv(path, "y", **options)


def test_real_process_on_a_corrupt_model_file(files):
    proc = subprocess.run([sys.executable, "-m", "mlplab", "show",
                           str(files / "corrupt.safetensors")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "not an mlplab model file" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr + proc.stdout


def test_catalogue_is_at_least_forty_cases():
    assert len(API) + len(FILES) + len(CSV) + len(CLI) + len(PLAYGROUND) + 3 >= 40
    assert len(CLI) + len(WARNINGS) + len(PREPARED) >= 55


# ----------------------------------------------------------------- the playground's HTTP API
PLAYGROUND = [
    ("post", "/api/sessions", {"json": {"hidden": [99]}}, 422, "1 to 8 neurons, got 99"),
    ("post", "/api/sessions", {"json": {"learning_rate": 5}}, 422, "learning_rate"),
    ("post", "/api/sessions", {"json": {"dataset": "mnist"}}, 422, "dataset"),
    ("post", "/api/sessions", {"content": b"{oops", "headers": {"content-type":
                                                                 "application/json"}},
     422, "the body is not valid JSON"),
    ("post", "/api/sessions/nope/step", {}, 404, "expired or never existed"),
    ("post", "/api/sessions/{sid}/csv", {"content": b"\xff\xfe"}, 400, "must be UTF-8"),
    ("post", "/api/sessions/{sid}/csv", {"content": b"a,b\n1,2\n"}, 400,
     "exactly 3 columns"),
    ("post", "/api/sessions/{sid}/csv", {"content": b"x1,x2,label\n" + b"1,inf,0\n" * 5}, 400,
     "inf"),
    ("post", "/api/sessions/{sid}/weight", {"json": {"layer": 9, "i": 0, "j": 0, "value": 1}},
     422, "layer"),
]


@pytest.fixture(scope="module")
def playground():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from mlplab.playground.server import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1:8000") as client:
        sid = client.post("/api/sessions", json={}).json()["id"]
        yield client, sid


@pytest.mark.parametrize("method,url,kwargs,status,message", PLAYGROUND)
def test_playground_api(playground, method, url, kwargs, status, message):
    client, sid = playground
    response = getattr(client, method)(url.format(sid=sid), **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


# ================================================================= issue 24: files that are not
# files, crafted records, hostile clients (kept in one block; other blocks are other issues')
def _fifo(d: Path) -> Path:
    os.mkfifo(d / "fifo")
    return d / "fifo"


def _loop(d: Path) -> Path:
    (d / "loop").symlink_to("loop")
    return d / "loop"


def _dangling(d: Path) -> Path:
    (d / "dangling").symlink_to("nowhere")
    return d / "dangling"


def _sparse(d: Path) -> Path:
    path = save(net(), d / "sparse.safetensors")
    os.truncate(path, 3_300_000_000)
    return path


def _ckpt_state(d: Path, edit) -> Path:
    """A real checkpoint (and its history log) with its training state edited."""
    ck = d / "edited.ckpt"
    net().fit(X, Y, max_epochs=4, checkpoint=ck)
    raw = ck.read_bytes()
    header, body = _split(raw)
    state = json.loads(header["__metadata__"]["state"])
    edit(state)
    header["__metadata__"]["state"] = json.dumps(state)
    ck.write_bytes(_pack(header, body))
    return ck


RELIABILITY_FILES = [
    (lambda d: load("/dev/zero"), "model file /dev/zero is a character device, not a regular"),
    (lambda d: load(_fifo(d)), "is a FIFO .named pipe., not a regular file"),
    (lambda d: load(_loop(d)), "is a symlink loop"),
    (lambda d: load(_sparse(d)), "header accounts for .* the file holds 3300000000"),
    (lambda d: save(net(), "/dev/null"), "/dev/null: it is a character device"),
    (lambda d: save(net(), _fifo(d)), "it is a FIFO .named pipe."),
    (lambda d: save(net(), _dangling(d)), "a symlink to nowhere, which does not exist"),
    (lambda d: loads(struct.pack("<Q", 100_000) + b"[" * 50_000 + b"]" * 50_000),
     "JSON nested too deeply"),
    (lambda d: loads(_edit(lambda h: _set_config(h, sizes=[2, int("9" * 4000), 1]))),
     "integer of 4000 digits"),
    (lambda d: loads(_edit(lambda h: _set_config(h, extra={"csv": {"target": "y", "features":
                                                                    [{"x": 1}, 2]}}))),
     "invalid extra record: extra.csv.features must be a non-empty list of strings"),
    (lambda d: loads(_edit(lambda h: _set_config(h, extra={"tabular": {"encoder": {}}}))),
     "invalid extra record: extra.tabular.encoder.columns must be a non-empty list"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s["history"]["tail"].update(loss=[]))),
     r"history.loss holds \d values after 4 epochs"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s["history"].update(diverged="x"))),
     "history.diverged must be a JSON object"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s["history"].update(best_epoch=99))),
     r"history.best_epoch must be an integer in \[0, 4\]"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s["rng"]["state"].update(state="x"))),
     "rng is not a PCG64 state"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s.update(layer_rngs={"../x": {}}))),
     "layer_rngs has an unknown owner"),
    (lambda d: load_checkpoint(_ckpt_state(d, lambda s: s["history"].update(run=[1]))),
     "history.run must be a string"),
    (lambda d: (lambda ck: (Path(f"{ck}.history.jsonl").unlink(), load_checkpoint(ck)))(
        _ckpt_state(d, lambda s: None)), "history log .* does not exist"),
]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices: POSIX")
@pytest.mark.parametrize("call,message", RELIABILITY_FILES)
def test_reliability_files(tmp_path, call, message):
    with pytest.raises(ModelFileError, match=message):
        call(tmp_path)


@pytest.fixture
def odd_files(files):
    _fifo(files)
    (files / "out").mkdir()
    os.mkfifo(files / "out" / "model.safetensors")
    save(net(), files / "m.safetensors")
    return files


RELIABILITY_CLI = [
    (["train", "--checkpoint", "/dev/null"], "/dev/null.* a character device, not a regular "
                                             "file"),
    (["train", "--checkpoint", "{d}/fifo"], "is a FIFO"),
    (["train", "--out", "{d}/out"], "model.safetensors.*(is not a regular file|FIFO)"),
    (["show", "/dev/zero"], "is a character device, not a regular file"),
    (["show", "{d}/fifo"], "is a FIFO"),
    (["predict", "{d}/fifo", "xor"], "is a FIFO"),
    (["serve", "--host", ""], "--host must be an address such as 127.0.0.1"),
    (["serve", "--session-timeout", "nan"], "--session-timeout must be a number of seconds > 0"),
]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices: POSIX")
@pytest.mark.parametrize("args,message", RELIABILITY_CLI)
def test_reliability_cli(odd_files, args, message, monkeypatch):
    args = [a.format(d=odd_files) for a in args]
    if args[0] == "train":
        args += ["--no-progress", "--max-epochs", "3"]
    monkeypatch.chdir(odd_files)  # where a model that could not be saved is rescued to
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "Traceback" not in result.output
    assert re.search(message, lines[-1]), lines[-1]
    assert os.stat("/dev/null").st_mode & 0o170000 == 0o020000  # still the device


RELIABILITY_PLAYGROUND = [
    ("post", "/api/sessions/{sid}/csv", {"content": b"x1,x2,y\n1e308,0,0\n1,1,1\n2,2,0\n3,3,1\n"},
     400, "must lie within ±10000"),
    ("post", "/api/sessions", {"content": b'{"learning_rate": NaN}',
                               "headers": {"content-type": "application/json"}},
     422, "finite number"),
    ("post", "/api/sessions/{sid}/points", {"json": {"action": "add", "x1": 1e5, "x2": 0}},
     422, "x1"),
    ("get", "/api/meta", {"headers": {"host": "rebound.example"}}, 400,
     "Host 'rebound.example' is not served here"),
    ("post", "/api/sessions/{sid}/step", {"headers": {"origin": "http://evil.example"}}, 403,
     "only this playground's own page may drive it"),
]


@pytest.mark.parametrize("method,url,kwargs,status,message", RELIABILITY_PLAYGROUND)
def test_reliability_playground(playground, method, url, kwargs, status, message):
    test_playground_api(playground, method, url, kwargs, status, message)
    client, sid = playground
    assert client.post(f"/api/sessions/{sid}/step").status_code == 200  # the session lives on


def test_a_named_counting_column_is_a_feature(files, tmp_path):
    # only a nameless first column counting the rows is taken for pandas' index
    out = tmp_path / "named-out"
    result = CliRunner().invoke(app, ["train", str(files / "named_index.csv"), "--target", "y",
                                      "--max-epochs", "2", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").exists()
