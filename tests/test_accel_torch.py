"""The PyTorch accelerator (mlplab.accel.torch_step) computes what the core computes.

CI has no GPU: these tests run the accelerator's code on PyTorch CPU tensors, where it is the
same code as on CUDA but for the graph capture (tested on a GPU by ``bench/gpu.py`` and the
CUDA test at the end, which skips without one).
"""

import numpy as np
import pytest

import mlplab
from mlplab.core import plugins
from mlplab.core.xp import to_numpy
from mlplab.errors import ConfigError
from mlplab.regularizers import L2

torch = pytest.importorskip("torch")
# these tests compare the accelerator with the core: with MLPLAB_ACCEL=off there is none
pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")

CASES = [  # optimizer, options, loss, hidden g, output g, k outputs, batch size
    ("gd", {}, "mse", "sigmoid", None, 1, None),
    ("sgd", {}, "cross_entropy", "relu", None, 3, 16),
    ("sgd", {}, "cross_entropy", "tanh", "sigmoid", 1, 25),
    ("momentum", {"momentum": 0.9}, "mse", "relu", "identity", 1, 16),
    ("nesterov", {"momentum": 0.8}, "cross_entropy", "leaky_relu", None, 3, 32),
    ("adam", {}, "cross_entropy", "sigmoid", None, 3, 20),
]


def _data(k, dtype=np.float64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(90, 5)).astype(dtype), rng.integers(0, max(k, 2), 90)


def _fit(device, accelerate, sizes, X, Y, net_kw, **kw):
    net = mlplab.Network(sizes, seed=5, device=device, **net_kw)
    return net, net.fit(X, Y, accelerate=accelerate, **kw)


@pytest.mark.parametrize("optimizer, options, loss, hidden, output, k, batch_size", CASES)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_the_torch_step_trains_as_the_core_does(optimizer, options, loss, hidden, output, k,
                                                batch_size, dtype, rtol):
    X, Y = _data(k, dtype)
    if output == "identity":
        Y = X[:, 0] * 2.0
    kw = dict(optimizer=optimizer, learning_rate=0.05, max_epochs=6, epsilon=None,
              batch_size=batch_size, seed=4, **options)
    net_kw = {"activation": hidden, "loss": loss, "output": output, "dtype": dtype}
    fast, h_fast = _fit("torch", None, [5, 7, 6, k], X, Y, net_kw, **kw)
    core, h_core = _fit("cpu", False, [5, 7, 6, k], X, Y, net_kw, **kw)
    assert h_fast.backend == "torch-fused" and h_core.backend == "core"
    for p, q in zip(fast.params, core.params):
        assert p.dtype == (torch.float32 if dtype == np.float32 else torch.float64)
        np.testing.assert_allclose(to_numpy(p), q, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=rtol)
    np.testing.assert_allclose(h_fast.max_change, h_core.max_change, rtol=1e3 * rtol)
    assert h_fast.loss[-1] < h_fast.loss[0]


def test_the_optimizer_state_it_leaves_continues_on_the_core():
    X, Y = _data(3)
    kw = dict(optimizer=mlplab.optimizers.Adam(0.01), max_epochs=3, batch_size=30,
              epsilon=None, seed=1)
    net = mlplab.Network([5, 6, 3], activation="tanh", loss="cross_entropy", seed=2,
                         device="torch")
    h1 = net.fit(X, Y, **kw)  # the accelerator ...
    h2 = net.fit(X, Y, accelerate=False, **kw)  # ... then the core, with the same Adam
    ref = mlplab.Network([5, 6, 3], activation="tanh", loss="cross_entropy", seed=2)
    adam = mlplab.optimizers.Adam(0.01)
    for _ in range(2):
        ref.fit(X, Y, accelerate=False, **{**kw, "optimizer": adam})
    assert h1.backend == "torch-fused" and h2.backend == "core" and adam.t == kw["optimizer"].t
    for p, q in zip(net.params, ref.params):
        np.testing.assert_allclose(to_numpy(p), q, rtol=1e-10)


def test_callbacks_that_act_per_batch_get_the_core():
    X, Y = _data(3)
    net = mlplab.Network([5, 6, 3], activation="relu", loss="cross_entropy", seed=0,
                         device="torch")
    h = net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=30, max_epochs=2,
                callbacks=[L2(0.01)])
    assert h.backend == "core"


def test_divergence_is_found_once_an_epoch_and_the_epochs_start_comes_back():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)) * 30
    Y = X @ np.array([1.0, -2.0, 3.0])
    net = mlplab.Network([3, 8, 1], activation="relu", output="identity", loss="mse",
                         init="he_normal", seed=0, device="torch")
    starts = []

    class Watch(mlplab.Callback):
        def on_epoch_begin(self, trainer, epoch):
            starts.append([to_numpy(p).copy() for p in trainer.net.params])

    h = net.fit(X, Y, optimizer="sgd", learning_rate=0.9, batch_size=16, max_epochs=50,
                epsilon=None, callbacks=[Watch()])
    assert h.backend == "torch-fused" and h.diverged is not None
    k = h.diverged["epoch"]
    assert h.epochs == k and "epoch" in h.stop_reason and "layer" in h.stop_reason
    for p, s in zip(net.params, starts[k - 1]):  # the start of the failing epoch, finite
        np.testing.assert_array_equal(to_numpy(p), s)
        assert np.isfinite(s).all()
    with pytest.raises(mlplab.DivergenceError):
        mlplab.Network([3, 8, 1], activation="relu", output="identity", loss="mse",
                       init="he_normal", seed=0, device="torch").fit(
            X, Y, optimizer="sgd", learning_rate=0.9, batch_size=16, max_epochs=50,
            epsilon=None, on_divergence="raise")


def test_a_checkpointed_run_on_torch_resumes_as_the_uninterrupted_one(tmp_path):
    X, Y = _data(3)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=30, epsilon=None, seed=3,
              checkpoint=tmp_path / "run.ckpt")

    def net():
        return mlplab.Network([5, 6, 3], activation="tanh", loss="cross_entropy", seed=2,
                              device="torch")

    whole = net()
    whole.fit(X, Y, max_epochs=6, **kw)
    part = net()
    part.fit(X, Y, max_epochs=3, **kw)
    resumed = net()
    h = resumed.fit(X, Y, max_epochs=6, resume=True, **kw)
    assert h.backend == "torch-fused"
    for p, q in zip(resumed.params, whole.params):
        np.testing.assert_allclose(to_numpy(p), to_numpy(q), rtol=1e-12)


def test_asking_for_a_gpu_without_one_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        mlplab.Network([2, 2, 1], device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_each_step_is_a_graph_and_equals_the_core():
    X, Y = _data(3, np.float32)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=16, max_epochs=5,
              epsilon=None, seed=1)
    gpu, h = _fit("cuda", None, [5, 7, 3], X, Y, {"activation": "relu",
                                                    "loss": "cross_entropy"}, **kw)
    cpu, _ = _fit("cpu", False, [5, 7, 3], X, Y, {"activation": "relu",
                                                    "loss": "cross_entropy"}, **kw)
    assert h.backend == "torch-cuda-graph"
    for p, q in zip(gpu.params, cpu.params):
        np.testing.assert_allclose(to_numpy(p), q, rtol=2e-4, atol=2e-5)
