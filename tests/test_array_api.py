"""The core runs unchanged on any array-API library: array_api_strict (the standard's
conformance check, which refuses NumPy-only calls) and PyTorch tensors on the CPU, with the
numbers NumPy's core gives."""

import numpy as np
import pytest

import mlplab
from mlplab.core.xp import NUMPY_IS_XP, place, to_numpy
from mlplab.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPool2D, Residual)

DEVICES = ["array_api_strict", "torch"]


@pytest.fixture(params=DEVICES)
def device(request):
    pytest.importorskip(request.param)
    return request.param


def _moons():
    return mlplab.datasets.moons(60, noise=0.2, seed=0)


def _same(net, ref, rtol=1e-10):
    for p, q in zip(net.params, ref.params):
        np.testing.assert_allclose(to_numpy(p), q, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("optimizer, batch_size", [("gd", None), ("sgd", 16), ("momentum", 16),
                                                    ("nesterov", 20), ("adam", 16)])
def test_fit_on_the_device_equals_numpys_core(device, optimizer, batch_size):
    X, y = _moons()
    kw = dict(optimizer=optimizer, learning_rate=0.05, max_epochs=5, epsilon=None,
              batch_size=batch_size, seed=1)
    net = mlplab.Network([2, 6, 5, 1], activation="tanh", loss="cross_entropy", seed=2,
                         device=device)
    h = net.fit(X, y, accelerate=False, **kw)  # the core itself (its accelerator: test_accel_torch)
    ref = mlplab.Network([2, 6, 5, 1], activation="tanh", loss="cross_entropy", seed=2)
    h_ref = ref.fit(X, y, accelerate=False, **kw)
    assert h.backend == "core" and net.place == place(device)
    assert type(net.layers[1].W).__module__.split(".")[0] in ("array_api_strict", "torch")
    _same(net, ref)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-10)
    assert h.loss[-1] < h.loss[0]


def test_a_stack_of_every_layer_kind_on_the_device(device):
    X, y = _moons()

    def stack():
        return mlplab.Network.from_layers(
            [Input(2), Dense(2, 8, "identity", rng=np.random.default_rng(3)),
             BatchNorm(8, "relu"), Dropout(8, 0.2, seed=4),
             Residual([Dense(8, 8, "tanh", rng=np.random.default_rng(5))]),
             Dense(8, 2, "softmax", rng=np.random.default_rng(6))],
            loss="cross_entropy", seed=7)

    net, ref = stack().to(device), stack()
    kw = dict(optimizer="adam", learning_rate=0.01, max_epochs=4, batch_size=20, epsilon=None)
    net.fit(X, y, **kw)
    ref.fit(X, y, accelerate=False, **kw)
    # PyTorch's variance sums in another order than NumPy's; Adam's 1/√v magnifies that
    _same(net, ref, rtol=1e-7)
    np.testing.assert_allclose(to_numpy(net.layers[2].running_mean), ref.layers[2].running_mean,
                               rtol=1e-7)
    np.testing.assert_allclose(to_numpy(net.predict_proba(X)), ref.predict_proba(X), rtol=1e-7)


def test_a_stack_of_every_image_layer_on_the_device(device):
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(20, 2, 7, 7)), rng.integers(0, 3, 20)

    def stack():
        return mlplab.Network.from_layers(
            [Input((2, 7, 7)), Conv2D(2, 4, 3, "tanh", padding="same"), BatchNorm(None, "relu"),
             Dropout(None, 0.2, seed=9), MaxPool2D(2), Conv2D(None, 3, 2, "relu", padding=1),
             AvgPool2D(2, stride=1), Flatten(), Dense(None, 3, "softmax")],
            loss="cross_entropy", seed=10)

    net, ref = stack().to(device), stack()
    kw = dict(optimizer="adam", learning_rate=0.01, max_epochs=3, batch_size=8, epsilon=None)
    h = net.fit(X, y, **kw)
    ref.fit(X, y, accelerate=False, **kw)
    assert h.backend == "core" and type(net.layers[1].W).__module__.split(".")[0] in (
        "array_api_strict", "torch")
    _same(net, ref, rtol=1e-7)  # the variance's order of summation, magnified by Adam
    np.testing.assert_allclose(to_numpy(net.predict_proba(X)), ref.predict_proba(X), rtol=1e-7)


def test_worked_example_and_gradients_on_the_device(device):
    # the 2-2-2 network worked by hand in test_network.py, its numbers on another library
    net = mlplab.Network([2, 2, 2], activation="sigmoid", loss="mse", seed=0)
    net.layers[1].W[:] = [[0.15, 0.20], [0.25, 0.30]]
    net.layers[1].b[:] = [0.35, 0.35]
    net.layers[2].W[:] = [[0.40, 0.45], [0.50, 0.55]]
    net.layers[2].b[:] = [0.60, 0.60]
    ref = mlplab.Network([2, 2, 2], activation="sigmoid", loss="mse", seed=0)
    for p, q in zip(ref.params, net.params):
        p[...] = q
    net.to(device)
    X, Y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    assert net.cost(X, Y) == pytest.approx(0.298371109, rel=1e-8)
    grads, want = net.gradients(X, Y), ref.gradients(X, Y)
    for l in (1, 2):
        for a, b in zip(grads[l], want[l]):
            np.testing.assert_allclose(to_numpy(a), b, rtol=1e-13)
    assert mlplab.gradcheck(net, X, Y).passed


def test_results_come_back_in_the_callers_library(device):
    X, y = _moons()
    net = mlplab.Network([2, 4, 1], activation="relu", loss="cross_entropy", seed=0)
    caller = place(device)
    P = net.predict_proba(caller.asarray(X))  # a NumPy network, data of another library
    assert type(P).__module__.split(".")[0] == device.split(".")[0]
    np.testing.assert_allclose(to_numpy(P), net.predict_proba(X), rtol=1e-12)
    assert isinstance(net.predict_proba(X.tolist()), np.ndarray)


def test_a_network_on_the_device_saves_and_loads(device, tmp_path):
    X, y = _moons()
    net = mlplab.Network([2, 5, 1], activation="tanh", loss="cross_entropy", seed=0,
                         device=device)
    net.fit(X, y, optimizer="sgd", learning_rate=0.1, max_epochs=3, batch_size=20)
    mlplab.save(net, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.place.is_numpy
    np.testing.assert_allclose(back.predict_proba(X), to_numpy(net.predict_proba(X)),
                               rtol=1e-12)


NUMPY_2_1 = pytest.mark.skipif(not NUMPY_IS_XP,
                               reason="NumPy < 2.1: the core calls array_api_compat's wrapper")


@NUMPY_2_1
def test_numpys_own_namespace_gives_the_wrappers_numbers(monkeypatch):
    """NumPy ≥ 2.1 is the core's namespace for NumPy arrays; its older wrapper
    (``array_api_compat.numpy``, the one NumPy < 2.1 gets) gives the same numbers, bit for bit."""
    from mlplab.core import xp

    assert xp.NUMPY_IS_XP and xp.namespace(np.zeros(2), 1.0) is np
    X, y = _moons()
    kw = dict(optimizer="adam", learning_rate=0.05, max_epochs=5, epsilon=None, batch_size=16,
              seed=1, accelerate=False)
    nets = []
    for own in (True, False):
        monkeypatch.setattr(xp, "NUMPY_IS_XP", own)
        net = mlplab.Network([2, 6, 5, 1], activation="tanh", loss="cross_entropy", seed=2)
        net.fit(X, y, **kw)
        nets.append(net)
    assert xp.namespace(np.zeros(2)).__name__ == "array_api_compat.numpy"
    for p, q in zip(nets[0].params, nets[1].params):
        np.testing.assert_array_equal(p, q)


@NUMPY_2_1
def test_a_numpy_fit_loads_no_wrapper(tmp_path):
    """A fit on NumPy arrays never imports ``array_api_compat.numpy`` (whose copy of NumPy's
    names loads ``numpy.f2py`` and ``numpy.testing``: 0.2 s and 12 MiB a process)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, mlplab\n"
            "X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)\n"
            "mlplab.Network([2, 3, 1], seed=0).fit(X, [0, 1, 1, 0], max_epochs=5, "
            "accelerate=False)\n"
            "print(sorted(m for m in ('array_api_compat.numpy', 'numpy.f2py', 'numpy.testing')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
