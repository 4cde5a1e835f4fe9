"""The convolution accelerator computes what the core computes (mlplab.accel.conv against
mlplab.core.layers): to rounding in float64 (the sums of a BLAS product run in another order
than the core's stacked products), to a stated tolerance in float32; the pooling kernels,
NumPy's and numba's, bit for bit."""

import tracemalloc

import numpy as np
import pytest

import mlplab
from mlplab import Network
from mlplab.accel import conv, conv_kernels
from mlplab.callbacks import Callback
from mlplab.clipping import ClipByGlobalNorm
from mlplab.core import plugins
from mlplab.core.layers.conv import windows
from mlplab.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPool2D)
from mlplab.regularizers import L2

# these tests compare the accelerator with the core: with MLPLAB_ACCEL=off there is none
pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")]


def images(m=40, shape=(3, 10, 10), k=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, *shape)).astype(dtype), rng.integers(0, k, m)


def cnn(seed=0, dtype=np.float64, output="softmax", k=4):
    """Every stage the step has: ReLU + 2×2 max pooling (fused), a tanh convolution with
    stride and padding, average pooling, an overlapping max pooling, flatten, two dense."""
    return Network.from_layers(
        [Input((3, 10, 10)), Conv2D(3, 6, 3, "relu", padding="same", dtype=dtype),
         MaxPool2D(2), Conv2D(None, 5, 2, "tanh", stride=1, padding=1, dtype=dtype),
         AvgPool2D(2, stride=1), Conv2D(None, 4, 3, "sigmoid", stride=2, dtype=dtype),
         MaxPool2D(2, stride=1), Flatten(), Dense(None, 7, "relu", dtype=dtype),
         Dense(None, k, output, "xavier_normal", dtype=dtype)],
        loss="cross_entropy" if output != "identity" else "mse", seed=seed)


def fit_both(make, X, Y, **kw):
    runs = []
    for accelerate in (None, False):
        net = make()
        h = net.fit(X, Y, accelerate=accelerate, **{"epsilon": None, "seed": 5, **kw})
        runs.append((net, h))
    (fast, h_fast), (core, h_core) = runs
    assert h_fast.backend.startswith("numpy-conv") and h_core.backend == "core"
    return fast, h_fast, core, h_core


@pytest.fixture(params=["numba", "numba-parallel", "numpy"])
def compiled(request, monkeypatch):
    """Every way of the windows and pooling: numba's compiled passes (where installed), the
    same passes on numba's threads (every call), and NumPy's loops."""
    if request.param != "numpy" and conv_kernels._compiled() is False:
        pytest.skip("numba not installed")
    monkeypatch.setattr(conv_kernels, "NUMBA", request.param != "numpy")
    if request.param == "numba-parallel":
        monkeypatch.setattr(conv_kernels, "_pass", lambda kernels, name, parallel:
                            kernels.PARALLEL[name])
    return request.param != "numpy"


@pytest.mark.parametrize("optimizer, options", [
    ("gd", {}), ("sgd", {}), ("momentum", {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.8}), ("adam", {})])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 3e-4)])
def test_the_conv_step_trains_as_the_core_does(optimizer, options, dtype, rtol, compiled,
                                               products):
    X, y = images(dtype=dtype)
    lr = 0.01 if optimizer == "adam" else 0.1
    fast, h_fast, core, h_core = fit_both(lambda: cnn(1, dtype), X, y, optimizer=optimizer,
                                          learning_rate=lr, max_epochs=3, batch_size=None
                                          if optimizer == "gd" else 16, **options)
    assert h_fast.backend == "numpy-conv" + products
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)
        assert p.dtype == dtype
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=rtol)
    assert h_fast.loss[-1] < h_fast.loss[0]  # it learned: the comparison means something


def test_mse_with_an_identity_output_and_a_callback_reading_gradients():
    X, _ = images(24, seed=2)
    Y = np.random.default_rng(3).normal(size=(24, 2))
    seen = {None: [], False: []}

    class Reader(Callback):
        def __init__(self, key):
            self.key = key

        def on_gradients(self, trainer):
            seen[self.key].append([g.copy() for g in trainer.net.grads])

    for accelerate in (None, False):
        cnn(2, output="identity", k=2).fit(
            X, Y, optimizer="sgd", learning_rate=0.05, batch_size=8, max_epochs=2, seed=1,
            accelerate=accelerate, callbacks=[L2(0.01), Reader(accelerate), ClipByGlobalNorm(1)])
    assert len(seen[None]) == len(seen[False]) == 6
    for fast, core in zip(seen[None], seen[False]):
        for a, b in zip(fast, core):  # the penalty already added, as the core's callbacks see
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, relu", [((2, 2), (2, 2), True), ((2, 2), (2, 2), False),
                                                  ((3, 3), (2, 2), False), ((2, 3), (1, 2), True)])
def test_max_pooling_kernels_equal_the_core_bit_for_bit(kernel, stride, relu, compiled):
    rng = np.random.default_rng(4)
    z = np.round(rng.normal(size=(3, 5, 9, 8)), 1)  # rounded: ties in many windows
    z[0, 0, 0, :3] = np.nan  # NaN wins its window, as in NumPy's max
    z[2, 4, 5, 2] = np.nan  # in the last plane too: another thread's, on numba's threads
    layer = MaxPool2D(kernel, stride)
    layer.build((3, 9, 8))
    a_core = np.maximum(z, 0) if relu else z
    A = layer.forward(a_core.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # core: (m, C, …)
    out, argmax = np.empty(A.shape), np.empty(A.shape, np.uint8)
    conv_kernels.max_pool(z, out, argmax, kernel, stride, relu)
    np.testing.assert_array_equal(out, A)
    dA = rng.normal(size=A.shape)
    core = layer.backward(dA.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    if relu:  # the conv's δ: the core multiplies by relu'(z) after routing
        core = core * (z > 0)
    got = np.empty(z.shape)
    conv_kernels.max_pool_backward(dA, argmax, out, got, kernel, stride, relu)
    np.testing.assert_array_equal(got, core)


def test_average_pooling_kernels_equal_the_core():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(2, 4, 7, 7))
    layer = AvgPool2D(3, stride=2)
    layer.build((2, 7, 7))
    A = layer.forward(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    out = np.empty(A.shape)
    conv_kernels.avg_pool(a, out, (3, 3), (2, 2))
    np.testing.assert_allclose(out, A, rtol=1e-15)
    dA = rng.normal(size=A.shape)
    got = np.empty(a.shape)
    conv_kernels.avg_pool_backward(dA, got, (3, 3), (2, 2))
    np.testing.assert_allclose(got, layer.backward(dA.transpose(1, 0, 2, 3)).transpose(
        1, 0, 2, 3), rtol=1e-15, atol=1e-17)


def test_prediction_equals_the_cores_forward_and_finds_nan():
    X, y = images(600, seed=6)  # more than one block of rows
    net = cnn(3)
    net.fit(X[:50], y[:50], optimizer="adam", learning_rate=0.01, max_epochs=1, batch_size=25)
    P = net.predict_proba(X)
    np.testing.assert_allclose(P, net.forward(X), rtol=1e-12, atol=1e-15)
    X[555, 2, 3, 4] = np.nan
    with pytest.raises(mlplab.DataError, match="row 555"):
        net.predict(X)


def test_batch_norm_and_dropout_between_the_stages_train_as_in_the_core():
    X, y = images(30, seed=9)

    def make():
        return Network.from_layers(
            [Input((3, 10, 10)), Conv2D(3, 4, 3, "identity", padding=1), BatchNorm(None, "relu"),
             Dropout(None, 0.3, seed=1), MaxPool2D(2), Conv2D(None, 3, 2, "relu"), MaxPool2D(2),
             Flatten(), BatchNorm(None, "tanh"), Dropout(None, 0.2, seed=2),
             Dense(None, 4, "softmax")], loss="cross_entropy", seed=3)

    fast, h_fast, core, h_core = fit_both(make, X, y, optimizer="adam", learning_rate=0.01,
                                          batch_size=10, max_epochs=3)
    # the conv bias below a batch norm has gradient 0 up to rounding (the mean subtraction
    # removes it); Adam turns that rounding into steps of ~1e-9: compared in absolute terms
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(fast.layers[2].running_var, core.layers[2].running_var,
                               rtol=1e-12)
    np.testing.assert_allclose(fast.predict_proba(X), core.forward(X), rtol=1e-7, atol=1e-8)


def test_other_layers_or_devices_leave_it_to_the_core():
    from mlplab.layers import Residual

    net = Network.from_layers([Input((1, 4, 4)), Flatten(), Residual([Dense(16, 16, "tanh")]),
                               Dense(None, 2, "softmax")], loss="cross_entropy")
    assert conv.stages_for(net) is None
    assert net.fit(np.zeros((4, 1, 4, 4)), [0, 1, 0, 1], max_epochs=1).backend == "core"
    assert conv.stages_for(Network([4, 3, 2])) is None  # vectors: the dense step's


@pytest.mark.parametrize("g", ["relu", "tanh", "sigmoid", "identity", "leaky_relu"])
@pytest.mark.parametrize("between", [[], [Dropout]])
def test_a_convolution_straight_into_a_flatten_trains_as_in_the_core(g, between, compiled):
    """The flatten hands its gradient back as a view of the rows: the convolution below copies
    it into its reused δ array, and δ = dA ⊙ g'(z) is then written over that very array (a
    tanh or sigmoid once squared g' there instead: 0.41 test accuracy against the core's 0.86)."""
    X, y = images(30, shape=(2, 7, 7), seed=3)
    make = lambda: Network.from_layers(  # noqa: E731
        [Input((2, 7, 7)), Conv2D(2, 3, 3, "tanh", padding=1), Conv2D(None, 4, 2, g),
         *[layer(None, 0.3, seed=2) for layer in between],
         Flatten(), Dense(None, 4, "softmax")], loss="cross_entropy", seed=1)
    fast, _, core, _ = fit_both(make, X, y, optimizer="sgd", learning_rate=0.2, batch_size=8,
                                max_epochs=3)
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_arrays_are_reused_batch_after_batch_and_the_data_set_is_never_copied():
    X, y = images(8000, shape=(1, 12, 12), seed=7)  # 9.2 MB of images
    net = Network.from_layers([Input((1, 12, 12)), Conv2D(1, 4, 3, "relu", padding="same"),
                               MaxPool2D(2), Flatten(), Dense(None, 4, "softmax")],
                              loss="cross_entropy", seed=0)
    ids = set()

    class Ids(Callback):
        def on_batch_end(self, trainer, logs):
            ids.add((id(trainer.net.layers[1].Z.base), id(trainer.net.layers[4].A)))

    net.fit(X[:100], y[:100], optimizer="sgd", batch_size=50, max_epochs=1, callbacks=[Ids()])
    assert len(ids) == 1  # the same z and output arrays for every batch
    tracemalloc.start()
    try:
        h = net.fit(X, y, optimizer="sgd", learning_rate=0.1, batch_size=50, max_epochs=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert h.backend == "numpy-conv"
    # the input checks' boolean view, the permutation, the labels, one batch's work arrays
    # (2.1 MB measured): never X again
    assert peak < X.nbytes / 3, f"peak {peak / 1e6:.2f} MB for {X.nbytes / 1e6:.2f} MB of data"


def test_the_guard_stops_the_conv_step_as_it_stops_the_core():
    X, y = images(20)
    stops = []
    for accelerate in (None, False):
        net = cnn(4)
        net.layers[1].W *= 1e300
        W = net.layers[1].W.copy()
        h = net.fit(X * 1e10, y, learning_rate=0.5, max_epochs=3, accelerate=accelerate)
        assert np.array_equal(net.layers[1].W, W)
        stops.append(h.stop_reason)
    assert stops[0] == stops[1] and "diverged at epoch 1, batch 0" in stops[0]


@pytest.mark.parametrize("kernel, stride", [((3, 2), (2, 1)), ((3, 3), (1, 1)), ((2, 2), (3, 2))])
def test_the_windows_and_their_transpose_equal_the_cores_bit_for_bit(kernel, stride, compiled):
    from mlplab.accel.conv_kernels import col2im_into, im2col_into
    from mlplab.core.layers.conv import add_windows, output_size

    rng = np.random.default_rng(8)
    A = rng.normal(size=(2, 3, 8, 7))  # (m, C, H, W)
    Ho, Wo = output_size((8, 7), kernel, stride, (0, 0, 0, 0))
    k = kernel[0] * kernel[1]
    core = windows(A, kernel, stride, (Ho, Wo))  # (m, C, kh·kw, Ho, Wo)
    cols = np.empty((3 * k, 2, Ho, Wo))
    im2col_into(cols, np.ascontiguousarray(A.transpose(1, 0, 2, 3)), kernel, stride)
    np.testing.assert_array_equal(cols.reshape(3, k, 2, Ho, Wo).transpose(2, 0, 1, 3, 4), core)
    D = rng.normal(size=core.shape)
    dP = np.empty((3, 2, 8, 7))
    col2im_into(dP, np.ascontiguousarray(D.transpose(1, 2, 0, 3, 4)).reshape(cols.shape),
                kernel, stride)
    np.testing.assert_array_equal(dP.transpose(1, 0, 2, 3), add_windows(D, (8, 7), kernel, stride))


def test_a_small_step_runs_on_one_blas_thread_and_gives_the_threads_back(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    from mlplab.accel import conv_stages

    def blas_threads():
        return {b["num_threads"] for b in threadpool_info() if b["user_api"] == "blas"}

    seen, real = [], conv_stages.ConvStage.forward
    monkeypatch.setattr(conv_stages.ConvStage, "forward",
                        lambda self, *a: seen.append(blas_threads()) or real(self, *a))
    X, y = images(20)
    with threadpool_limits(2, user_api="blas"):
        net = cnn(5)
        assert conv.step_flop(conv.stages_for(net), 10) < conv.SMALL_STEP_FLOP
        net.fit(X, y, batch_size=10, max_epochs=1)
        assert seen and all(s == {1} for s in seen)  # inside every step
        assert blas_threads() == {2}  # and back after it
        net.layers[1].W *= 1e300
        with pytest.raises(mlplab.DivergenceError):
            net.fit(X * 1e10, y, max_epochs=1, on_divergence="raise")
        assert blas_threads() == {2}
    from mlplab.lab.experiments.cnn import cifar_network

    assert conv.step_flop(conv.stages_for(cifar_network(0)), 128) > 4.7e9  # the benchmark's


def test_a_large_step_with_mkl_runs_the_passes_on_numbas_threads_and_gives_them_back(
        monkeypatch, products):
    """Where MKL makes the products on TBB threads and numba's threads are TBB's too, the
    windows and the pooling run on them: the same numbers as the core, numba's count for the
    fitting thread set during the fit and restored after it."""
    import numba

    if products != "+mkl" or conv_kernels._compiled() is False:
        pytest.skip("needs MKL with threads and numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread")
    monkeypatch.setattr(conv, "one_blas_thread_if_small", lambda stages, m: None)  # "large"
    monkeypatch.setattr(conv, "passes_threads", lambda: 2)
    from mlplab.accel import _mklkernels

    blocks, split = _mklkernels.inner_blocks, []  # ∂C/∂W in blocks on numba's threads
    monkeypatch.setattr(_mklkernels, "inner_blocks", lambda *a: (split.append(a[-1]), blocks(*a)))
    numba.set_num_threads(1)
    during = []

    class Count(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            during.append(numba.get_num_threads())

    try:
        X, y = images()
        fast, h_fast, core, h_core = fit_both(lambda: cnn(1), X, y, optimizer="sgd",
                                              learning_rate=0.1, max_epochs=2, batch_size=16,
                                              callbacks=[Count()])
        assert h_fast.backend == "numpy-conv+mkl+tbb+blocks"  # conv + pool in blocks
        assert split and set(split) == {2}
        for p, q in zip(fast.params, core.params):
            np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
        assert during[:2] == [2, 2]  # the accelerated fit's epochs ran with 2
        assert numba.get_num_threads() == 1  # and gave them back
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize("layer, shared", [("tbb", True), ("omp", False), ("workqueue", False)])
def test_the_passes_share_numbas_threads_only_on_tbb_and_with_threads_to_share(
        monkeypatch, layer, shared):
    import numba

    from mlplab.accel import mkl, threads

    if conv_kernels._compiled() is False or mkl.binding() is None:
        pytest.skip("needs numba and MKL")
    monkeypatch.setattr(numba, "threading_layer", lambda: layer)
    monkeypatch.setattr(mkl.binding(), "layer", mkl.TBB)
    monkeypatch.setattr(threads, "numpy_blas_threads", lambda: 1)
    assert conv.passes_threads() == 1  # one thread to share: serial
    monkeypatch.setattr(threads, "numpy_blas_threads", lambda: None)
    assert conv.passes_threads() == 1  # NumPy's BLAS unknown: serial
    monkeypatch.setattr(threads, "numpy_blas_threads", lambda: 2)
    want = min(2, numba.config.NUMBA_NUM_THREADS) if shared else 1
    assert conv.passes_threads() == want
    monkeypatch.setattr(mkl.binding(), "layer", 0)  # MKL on Intel's OpenMP: its threads spin
    assert conv.passes_threads() == 1
