"""Recurrent networks exported: ONNX (RNN/LSTM/GRU operators, run by onnxruntime) and PyTorch
(nn.RNN/LSTM/GRU) give mlplab's own forward and predict."""

import numpy as np
import pytest

import mlplab
from mlplab import ConfigError
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense

KINDS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def trained_like(kind, sequences, seed=0, **options):
    """Two stacked layers and a softmax head, weights moved off their initialization."""
    rng = np.random.default_rng(seed)
    cls = KINDS[kind]
    layers = [Input((6, 3)), cls(3, 5, return_sequences=True, rng=rng, **options),
              cls(5, 4, return_sequences=sequences, rng=rng),
              TimeDense(4, 3, "softmax", rng=rng) if sequences else Dense(4, 2, "softmax", rng=rng)]
    net = mlplab.Network.from_layers(layers, loss="cross_entropy")
    for p in net.params:
        p += rng.normal(0, 0.3, p.shape)
    return net, rng.normal(size=(9, 6, 3))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sequences", [False, True])
def test_onnx_runs_in_onnxruntime_as_in_mlplab(kind, sequences, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from mlplab.export import to_onnx

    net, X = trained_like(kind, sequences)
    model = to_onnx(net, tmp_path / "rnn.onnx")  # float32: onnxruntime's recurrent kernels
    session = ort.InferenceSession((tmp_path / "rnn.onnx").read_bytes(),
                                   providers=["CPUExecutionProvider"])
    output, label = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(output, net.forward(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(label, net.predict(X))
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 6, 3]
    ops = {node.op_type for node in model.graph.node}
    assert {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind] in ops


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sequences", [False, True])
def test_to_torch_computes_forward(kind, sequences):
    torch = pytest.importorskip("torch")
    from mlplab.export import to_torch

    net, X = trained_like(kind, sequences)
    module = to_torch(net)
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, net.forward(X), rtol=1e-10, atol=1e-14)


def test_what_cannot_be_exported_is_refused_by_name():
    pytest.importorskip("onnx")
    from mlplab.export import to_onnx

    padded, _ = trained_like("lstm", False, mask_value=0.0)
    with pytest.raises(ConfigError, match="mask_value"):
        to_onnx(padded)
    leaky = mlplab.Network.from_layers([Input((4, 2)), SimpleRNN(2, 3, "leaky_relu"),
                                        Dense(3, 1, "identity")])
    with pytest.raises(ConfigError, match="leaky_relu"):
        to_onnx(leaky)
