"""Export given bad input: one ConfigError (one line and exit code 2 in the CLI) naming the
fix, every output checked and every conversion done before any file is written; and what the
CLI says about what it wrote."""

import errno
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import mlplab
from mlplab import ConfigError, ModelFileError, Network
from mlplab.cli import app
from mlplab.export import to_onnx
from mlplab.io import files
from mlplab.layers import LSTM, Conv2D, Dense, Flatten, Input, SimpleRNN

onnx = pytest.importorskip("onnx")
runner = CliRunner()


def cnn() -> Network:
    return Network.from_layers([Input((1, 6, 6)), Conv2D(1, 2, 3), Flatten(),
                                Dense(32, 2, "softmax")], loss="cross_entropy", seed=0)


def rnn(kind=SimpleRNN, **options) -> Network:
    return Network.from_layers([Input((5, 2)), kind(2, 3, **options), Dense(3, 1)], loss="mse",
                               seed=0)


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), \
        result.output
    return lines[0]


@pytest.mark.parametrize("options, message", [
    ({"opset": 99}, rf"opset must be a whole number from 17 to {onnx.defs.onnx_opset_version()} "
                    r"\(the newest this onnx"),
    ({"opset": 16}, "opset must be a whole number from 17 to"),
    ({"opset": True}, "opset must be a whole number"),
    ({"opset": 18.0}, "opset must be a whole number"),
    ({"dtype": "banana"}, "dtype must be 'float32' or 'float64', got 'banana'"),
    ({"dtype": None}, "dtype must be 'float32' or 'float64', got None"),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'"),
])
def test_bad_opset_and_dtype_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        to_onnx(Network([2, 3, 1], seed=0), **options)


def test_numpy_integers_and_types_are_accepted():
    model = to_onnx(Network([2, 3, 1], seed=0), opset=np.int64(18), dtype=np.float64)
    assert model.opset_import[0].version == 18
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


@pytest.mark.parametrize("net, layer", [(cnn, "Conv2D"), (rnn, "SimpleRNN")])
def test_float64_layers_onnxruntime_cannot_run_warn(net, layer):
    with pytest.warns(UserWarning, match=f"no float64 kernel for the {layer} layers' operators; "
                                         "export with dtype float32"):
        to_onnx(net(), dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none for float32, nor for layers it runs in float64
        to_onnx(net(), dtype="float32")
        to_onnx(rnn(LSTM), dtype="float64")


def test_the_warned_operators_are_those_onnxruntime_refuses():
    ort = pytest.importorskip("onnxruntime")

    def runs(net) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = to_onnx(net, dtype="float64")
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:  # onnxruntime's NOT_IMPLEMENTED
            return False
        return True

    assert not runs(cnn()) and not runs(rnn()) and runs(rnn(LSTM))


@pytest.mark.parametrize("model, message", [
    (lambda X, y: mlplab.Perceptron().fit(X, y),
     r"converts an mlplab Network, MLPClassifier or MLPRegressor \(fitted\), not a "
     r"mlplab\.sklearn\.perceptron\.Perceptron"),
    (lambda X, y: __import__("sklearn.neural_network").neural_network.MLPClassifier(
        max_iter=3).fit(X, y), "not a sklearn.neural_network.*MLPClassifier; for scikit-learn's "
                               "own estimators use skl2onnx"),
    (lambda X, y: mlplab.MLPRegressor(), "unfitted MLPRegressor: call fit first"),
    (lambda X, y: "model.safetensors", r"takes a model, not the path 'model.safetensors': "
                                       r"pass mlplab.load\(path\)"),
])
def test_what_to_onnx_cannot_convert_is_named(model, message):
    X = np.random.default_rng(0).normal(size=(40, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(ConfigError, match=message):
        to_onnx(model)


@pytest.mark.parametrize("net, shape", [(cnn, "(N, 1, 6, 6)"), (rnn, "(N, 5, 2)"),
                                        (lambda: Network([4, 3, 2], seed=0), "(N, 4)")])
def test_cli_prints_the_graphs_input_shape(tmp_path, net, shape):
    model = mlplab.save(net(), tmp_path / "m.safetensors")
    result = runner.invoke(app, ["export", str(model), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert f"(opset 17, float32; input X {shape}; outputs" in " ".join(result.output.split())


def test_cli_float64_cnn_export_warns_in_one_line(tmp_path):
    model = mlplab.save(cnn(), tmp_path / "m.safetensors")
    result = runner.invoke(app, ["export", str(model), "--onnx", str(tmp_path / "m.onnx"),
                                 "--dtype", "float64"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "(--dtype float32)" in warning[0], result.output


@pytest.mark.parametrize("args, message", [
    (["--onnx", "m.onnx", "--opset", "99"], "opset must be a whole number from 17 to"),
    (["--onnx", "m.onnx", "--dtype", "banana"], "dtype must be 'float32' or 'float64'"),
    (["--onnx", "same.out", "--torch", "same.out"], "--onnx and --torch both write same.out"),
    (["--onnx", "."], "--onnx . is a folder; give a file name inside it, e.g. model.onnx"),
    (["--torch", "."], "--torch . is a folder; give a file name inside it, e.g. model.pt"),
])
def test_cli_refusals_write_nothing(tmp_path, monkeypatch, args, message):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    mlplab.save(Network([2, 3, 1], seed=0), "model.safetensors")
    before = sorted(p.name for p in Path(".").iterdir())
    line = one_error_line(runner.invoke(app, ["export", "model.safetensors", *args]))
    assert message in line, line
    assert sorted(p.name for p in Path(".").iterdir()) == before


def test_a_converter_refusal_leaves_no_onnx_file(tmp_path):
    pytest.importorskip("torch")
    model = mlplab.save(rnn(activation="sigmoid"), tmp_path / "m.safetensors")
    line = one_error_line(runner.invoke(app, ["export", str(model), "--onnx",
                                              str(tmp_path / "m.onnx"), "--torch",
                                              str(tmp_path / "m.pt")]))
    assert "cannot convert SimpleRNN" in line and "to PyTorch" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


@pytest.fixture(scope="module")
def csv_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    csv = folder / "t.csv"
    rows = [f"{i % 7},{'red' if i % 3 else 'blue'},{'yes' if i % 2 else 'no'}" for i in range(40)]
    csv.write_text("x,colour,label\n" + "\n".join(rows) + "\n")
    trained = runner.invoke(app, ["train", "--csv", str(csv), "--target", "label", "--hidden",
                                  "4", "--max-epochs", "3", "--out", str(folder / "run")])
    assert trained.exit_code == 0, trained.output
    return folder / "run" / "model.safetensors"


def test_the_encoding_file_is_checked_before_the_onnx_file_is_written(tmp_path, csv_model):
    (tmp_path / "m.encoding.json").mkdir()
    line = one_error_line(runner.invoke(app, ["export", str(csv_model), "--onnx",
                                              str(tmp_path / "m.onnx")]))
    assert "the encoding file" in line and "is a folder; move it away, or give --onnx " \
                                           "(or --torch) another name" in line, line
    assert not (tmp_path / "m.onnx").exists()


def test_torch_and_the_encoding_file_may_not_share_a_path(tmp_path, csv_model):
    pytest.importorskip("torch")
    line = one_error_line(runner.invoke(app, ["export", str(csv_model), "--onnx",
                                              str(tmp_path / "m.onnx"), "--torch",
                                              str(tmp_path / "m.encoding.json")]))
    assert "--torch and the encoding file both write" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_torch_alone_gets_the_encoding_and_how_to_decode_its_outputs(tmp_path, csv_model):
    """A --torch module of a CSV model needs the inputs' encoding and the classes (it was
    written without them: its bare sigmoid output named no class)."""
    torch = pytest.importorskip("torch")
    result = runner.invoke(app, ["export", str(csv_model), "--torch", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m.encoding.json").read_text())
    assert record["target"]["classes"] == ["no", "yes"] and "a > 0.5" in record["torch_outputs"]
    from mlplab import load
    from mlplab.datasets.preprocessing import TargetEncoder
    from mlplab.io.export import to_torch

    net = load(csv_model)
    module = to_torch(net)
    module.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    X = np.random.default_rng(0).normal(size=(9, net.n_inputs))
    a = module(torch.tensor(X, dtype=torch.float64 if net.dtype == np.float64 else
                            torch.float32)).detach().numpy()
    labels = TargetEncoder.from_dict(record["target"]).decode(a)  # as torch_outputs says
    assert list(labels) == list(TargetEncoder.from_dict(record["target"]).decode(
        net.forward(X)))


def test_help_shows_the_extras_to_install():
    result = runner.invoke(app, ["export", "--help"])
    text = " ".join(result.output.replace("│", " ").split())  # the help's box, unwrapped
    assert "pip install 'mlplab[onnx]'" in text and "pip install 'mlplab[torch]'" in text


def test_a_failed_cleanup_does_not_hide_the_write_error(tmp_path, monkeypatch):
    # on a read-only file system the temporary file cannot be created, and removing it (it
    # is not there) fails with EROFS too: the error to report is the write's
    def refuse(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    def write(f):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(ModelFileError, match="cannot write model file .*: Read-only file system"):
        files.atomic_write(tmp_path / "x.safetensors", write, "model file")
