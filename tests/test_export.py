"""Export to ONNX and PyTorch: every layer kind, checked by running the exported model.

ONNX models are checked with ``onnx.checker.check_model(full_check=True)`` inside ``to_onnx``
and run by onnxruntime against mlplab's own ``forward``/``predict``/``predict_proba`` (float32
graphs, 1e-5). PyTorch modules are run against ``forward`` in float64 (1e-6, in practice
~1e-15) and converted back. The torch tests skip where torch is not installed.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import mlplab
from mlplab import ConfigError, MLPClassifier, MLPRegressor, Network
from mlplab.cli import app
from mlplab.export import from_torch, to_onnx, to_torch
from mlplab.io.export.onnx_layers import LAYER_CONVERTERS, register_layer
from mlplab.layers import BatchNorm, Dense, Dropout, Input, Layer, Residual

ort = pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.usefixtures("one_blas_thread")
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "step"]
runner = CliRunner()


def run_onnx(model, X) -> dict:
    """Every output of the ONNX model on float32 ``X``, by name."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": np.asarray(X, np.float32)})))


def random_network(seed: int, output: str) -> Network:
    """A stack of every layer kind: dense (each hidden g), batch norm with trained-looking
    running statistics, residual blocks (with batch norm inside), dropout."""
    rng = np.random.default_rng(seed)
    width = int(rng.integers(1, 7))
    layers = [Input(width)]
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.choice(["dense", "batchnorm", "residual", "dropout"])
        g = str(rng.choice(HIDDEN[:-1] if kind == "batchnorm" else HIDDEN))
        if kind == "dense":
            n = int(rng.integers(1, 8))
            layers.append(Dense(width, n, g, init="xavier_normal", rng=rng))
            width = n
        elif kind == "batchnorm":
            layers.append(BatchNorm(width, g, momentum=0.8, eps=1e-3))
        elif kind == "residual":
            layers.append(Residual([Dense(width, width, g, init="xavier_normal", rng=rng),
                                    BatchNorm(width), Dense(width, width, "identity", rng=rng)]))
        else:
            layers.append(Dropout(width, 0.4, seed=1))
    n_out = 1 if output in ("sigmoid", "step", "identity") else int(rng.integers(2, 5))
    layers.append(Dense(width, n_out, output, init="xavier_normal", rng=rng))
    net = Network.from_layers(layers, loss="cross_entropy" if output in ("softmax", "sigmoid")
                              else "mse", seed=seed)
    for layer in _all_layers(net.layers):
        if isinstance(layer, BatchNorm):  # as after training: not the identity map
            n = layer.n_out
            layer.gamma[:], layer.beta[:] = rng.uniform(0.5, 2, n), rng.normal(size=n)
            layer.running_mean[:], layer.running_var[:] = rng.normal(size=n), rng.uniform(0.2, 3, n)
    return net


def decided_rows(net, X, labels: bool = True) -> np.ndarray:
    """Rows where no step unit's z (and, with ``labels``, no sigmoid output's a − ½) lies
    within 1e-5 (the test's tolerance) of 0; exact zeros, as from dead units, are exact in
    float32 too. Only elsewhere could float32 and float64 rounding decide a step or a label
    differently."""
    def close(V):
        return ((np.abs(V) <= 1e-5) & (V != 0)).any(axis=1)

    A = net.forward(X)  # caches each layer's z
    near = np.zeros(len(X), bool)
    for layer in _all_layers(net.layers):
        if isinstance(layer, Dense) and layer.g.name == "step":
            near |= close(layer.Z)
    if labels and net.output == "sigmoid":
        near |= close(A - 0.5)
    return ~near


def _all_layers(layers):
    for layer in layers:
        yield layer
        yield from _all_layers(getattr(layer, "layers", []))


OUTPUTS = ["sigmoid", "softmax", "identity", "step", "tanh"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), output=st.sampled_from(OUTPUTS))
@example(seed=373370, output="sigmoid")  # every sigmoid output within 1e-5 of ½ (CI found it)
def test_random_architectures_run_in_onnxruntime_as_in_mlplab(seed, output):
    net = random_network(seed, output)
    X = np.random.default_rng(seed + 1).normal(size=(64, net.n_inputs))
    got = run_onnx(to_onnx(net), X)
    rows = decided_rows(net, X, labels=False)
    assert rows.sum() >= 16  # never a vacuous comparison
    np.testing.assert_allclose(got["output"][rows], net.forward(X)[rows], rtol=1e-5, atol=1e-5)
    if output in ("sigmoid", "softmax", "step"):
        # a sigmoid output within 1e-5 of ½ (a network of tiny weights: seed 373370 gave 64
        # of 64 rows) has no label float32 and float64 must agree on: those rows are left out
        rows = decided_rows(net, X)
        np.testing.assert_array_equal(got["label"][rows], net.predict(X)[rows])
    else:
        assert list(got) == ["output"]


def test_the_graph_is_standard_onnx(tmp_path):
    import onnx

    net = random_network(3, "softmax")
    path = tmp_path / "net.onnx"
    model = to_onnx(net, path, opset=18)
    again = onnx.load(str(path))  # the file holds the same checked model
    onnx.checker.check_model(again, full_check=True)
    assert again.opset_import[0].version == 18 and again.producer_name == "mlplab"
    assert [i.name for i in again.graph.input] == ["X"]
    assert model.SerializeToString() == again.SerializeToString()
    ops = {node.op_type for node in again.graph.node}
    assert "Gemm" in ops and "Softmax" in ops
    f64 = to_onnx(net, dtype="float64")
    session = ort.InferenceSession(f64.SerializeToString(), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).normal(size=(5, net.n_inputs))
    np.testing.assert_allclose(session.run(["output"], {"X": X})[0], net.forward(X),
                               rtol=1e-9, atol=1e-9)
    with pytest.raises(ConfigError, match="opset must be a whole number from 17 to"):
        to_onnx(net, opset=13)
    with pytest.raises(ConfigError, match="unfitted MLPClassifier: call fit first"):
        to_onnx(MLPClassifier())


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("case", ["binary text", "multiclass ints", "multilabel",
                                  "squared error", "dropout"])
def test_classifier_outputs_label_and_probabilities_like_sklearn_converters(case):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 5))
    y = {"binary text": np.where(X[:, 0] + X[:, 1] > 0, "yes", "no"),
         "multiclass ints": np.digitize(X[:, 0], [-0.5, 0.5]) + 10,
         "multilabel": (X[:, :3] > 0).astype(int),
         "squared error": np.digitize(X[:, 0], [-0.5, 0.5]),
         "dropout": np.digitize(X[:, 1], [0.0])}[case]
    params = {"squared error": {"loss": "squared_error"}, "dropout": {"dropout": 0.3}}
    clf = _fit(MLPClassifier((7, 5), max_iter=60, random_state=0, learning_rate_init=0.01,
                             **params.get(case, {})), X, y)
    X_new = rng.normal(size=(200, 5))
    got = run_onnx(to_onnx(clf), X_new)
    assert list(got) == ["label", "probabilities"]  # skl2onnx's names and order
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X_new), atol=1e-5)
    np.testing.assert_array_equal(got["label"], clf.predict(X_new))


def test_regressor_outputs_variable():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    for y in (X @ [1.0, -2.0, 0.5, 0.0], np.c_[X[:, 0], X[:, 1] ** 2]):
        reg = _fit(MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=50,
                                random_state=0), X, y)
        got = run_onnx(to_onnx(reg), X)["variable"]
        np.testing.assert_allclose(got, reg.predict(X).reshape(len(X), -1), rtol=1e-5, atol=1e-5)


def encode_from_json(record: dict, frame: pd.DataFrame) -> np.ndarray:
    """The encoding JSON's recipe, followed without mlplab (as a user of the ONNX file would)."""
    blocks = []
    for c in record["columns"]:
        col = frame[c["name"]]
        if c["kind"] == "numeric":
            x = pd.to_numeric(col, errors="coerce").fillna(c["median"]).to_numpy(float)
            blocks.append(((x - c["mean"]) / c["std"])[:, None])
        else:
            text = col.where(col.notna(), c["fill"]).astype(str).to_numpy()[:, None]
            blocks.append((text == np.array(c["categories"])).astype(float))
    return np.hstack(blocks)


@pytest.fixture
def mixed_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 160
    x, colour = rng.normal(size=n), rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame({"x": x.round(3), "colour": colour, "size": rng.uniform(0, 9, n).round(2),
                          "label": np.where((x > 0) ^ (colour == "red"), "yes", "no")})
    frame.loc[4, "x"] = np.nan
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False, na_rep="?")
    return path


@pytest.mark.parametrize("target, labels", [("label", True), ("size", False)])
def test_a_csv_model_exports_with_its_encoding(tmp_path, mixed_csv, target, labels):
    out = tmp_path / "m"
    train = runner.invoke(app, ["train", "--csv", str(mixed_csv), "--target", target,
                                "--hidden", "8", "--lr", "0.01", "--max-epochs", "80",
                                "--out", str(out)])
    assert train.exit_code == 0, train.output
    onnx_path = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", str(out / "model.safetensors"), "--onnx",
                                 str(onnx_path)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m.encoding.json").read_text())
    assert record["features"] == ["x", "colour=blue", "colour=green", "colour=red"] + (
        ["label=no", "label=yes"] if target == "size" else ["size"])
    frame = pd.read_csv(mixed_csv, na_values=["?"])
    import onnx

    got = run_onnx(onnx.load(str(onnx_path)), encode_from_json(record, frame))
    expected = mlplab.datasets.csv_model.predict_csv(mlplab.load(out / "model.safetensors"),
                                                mixed_csv).predictions
    if labels:  # the target's own values, as 'mlplab predict --csv' prints them
        assert got["label"].tolist() == [str(v) for v in expected]
    else:  # in the target's units
        np.testing.assert_allclose(got["variable"][:, 0], expected, rtol=1e-5, atol=1e-4)


def test_export_checks_where_it_writes_before_working(tmp_path):
    net = Network([2, 3, 1], seed=0)
    model = mlplab.save(net, tmp_path / "model.safetensors")
    before = model.read_bytes()
    for args, message in [
        ([], "say what to write"),
        (["--onnx", str(tmp_path / "nope" / "m.onnx")], "does not exist; create it first"),
        (["--onnx", str(tmp_path)], "is a folder"),
        (["--onnx", str(model)], "is the model file itself"),
        (["--onnx", str(tmp_path / "ok.onnx"), "--torch", str(tmp_path / "no" / "m.pt")],
         "does not exist"),
    ]:
        result = runner.invoke(app, ["export", str(model), *args])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:")
        assert message in lines[0], lines[0]
    assert not (tmp_path / "ok.onnx").exists()  # the ONNX file waits for the torch check
    assert model.read_bytes() == before


def test_missing_extras_name_what_to_install(monkeypatch, tmp_path):
    model = mlplab.save(Network([2, 1], seed=0), tmp_path / "model.safetensors")
    for module, extra in (("onnx", "onnx"), ("torch", "torch")):
        with monkeypatch.context() as m:
            m.setitem(sys.modules, module, None)  # import fails as if not installed
            with pytest.raises(ConfigError, match=rf"pip install 'mlplab\[{extra}\]'"):
                (to_onnx if module == "onnx" else to_torch)(Network([2, 1]))
            result = runner.invoke(app, ["export", str(model), f"--{module}",
                                         str(tmp_path / "out")])
            assert result.exit_code == 2
            assert f"pip install 'mlplab[{extra}]'" in result.output


class Flatten(Layer):
    """A layer kind mlplab does not have yet: (m, 2, 3) images → (m, 6) rows. A new kind's
    converter is one registered function, as docs/sweeps-and-export.md shows."""

    n_out = 6

    def forward(self, A_prev, training=False):
        return A_prev.reshape(len(A_prev), -1)


def test_a_new_layer_kind_adds_one_converter():
    net = Network.from_layers([Input(6), Flatten(), Dense(6, 2, "softmax",
                                                          rng=np.random.default_rng(0))],
                              loss="cross_entropy")
    net.layers[0].input_shape = (2, 3)  # the graph's input is (N, 2, 3)
    with pytest.raises(ConfigError, match="cannot export a Flatten layer to ONNX: no converter"):
        to_onnx(net)

    @register_layer(Flatten)
    def flatten(graph, layer, a_prev):
        return graph.node("Flatten", [a_prev], axis=1)

    try:
        X = np.random.default_rng(1).normal(size=(10, 2, 3))
        got = run_onnx(to_onnx(net), X)
        np.testing.assert_allclose(got["output"], net.forward(X), atol=1e-6)
        np.testing.assert_array_equal(got["label"], net.predict(X.reshape(10, 6)))
    finally:
        del LAYER_CONVERTERS[Flatten]


# ---------------------------------------------------------------------------- PyTorch
@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors; one pool of threads next to OpenBLAS's
    yield torch
    torch.set_num_threads(threads)


@pytest.mark.parametrize("seed", range(12))
def test_to_torch_computes_forward_to_1e_6_and_converts_back(torch, seed):
    net = random_network(seed, OUTPUTS[seed % len(OUTPUTS)])
    module = to_torch(net)
    X = np.random.default_rng(seed).normal(size=(32, net.n_inputs))
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, net.forward(X), rtol=0, atol=1e-6)
    back = from_torch(module, loss=net.loss.name)
    assert [repr(layer) for layer in back.layers] == [repr(layer) for layer in net.layers]
    for p, q in zip(back.params, net.params):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_from_torch_reads_a_hand_written_sequential(torch):
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8, momentum=0.2), nn.ReLU(),
                           nn.Dropout(0.2), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3),
                           nn.Softmax(dim=1))
    module.train()
    with torch.no_grad():
        module(torch.randn(64, 4))  # running statistics away from 0 and 1
    module.eval()
    net = from_torch(module)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Input", "Dense", "BatchNorm", "Dropout", "Dense", "Dense"]
    assert net.loss.name == "categorical_cross_entropy" and net.dtype == np.float32
    assert net.layers[2].momentum == pytest.approx(0.8)
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-5, atol=1e-6)
    net.fit(X, np.eye(3)[np.arange(20) % 3], learning_rate=0.1, max_epochs=2)  # trains


def test_from_torch_names_what_it_cannot_convert(torch):
    from torch import nn

    for module, message in [
        (nn.Sequential(nn.Linear(3, 3), nn.GELU(), nn.Linear(3, 1)), "module 1 .*GELU"),
        (nn.Sequential(nn.Linear(3, 1, bias=False)), "without bias"),
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 1)),
         "an activation must follow a Linear"),
        (nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1)), "slope 0.01"),
        (nn.Sequential(nn.Linear(3, 2), nn.Dropout()), "last layer must be an nn.Linear"),
        (nn.Linear(3, 1), "expects a non-empty torch.nn.Sequential"),
    ]:
        with pytest.raises(ConfigError, match=message):
            from_torch(module)


def test_export_cli_writes_a_torch_state_dict(torch, tmp_path):
    net = random_network(5, "softmax")
    model = mlplab.save(net, tmp_path / "model.safetensors")
    result = runner.invoke(app, ["export", str(model), "--torch", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    module = to_torch(mlplab.load(model))
    module.load_state_dict(torch.load(tmp_path / "m.pt"))  # weights_only: plain tensors
    X = np.random.default_rng(0).normal(size=(8, net.n_inputs))
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(X)).numpy(), net.forward(X),
                                   atol=1e-6)
