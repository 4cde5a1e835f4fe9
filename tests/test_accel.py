"""Every accelerator computes what the core computes (mlplab.accel against mlplab.core).

Bit for bit where the arithmetic is the same (the elementwise kernels, the in-place update
rules); to a stated tolerance where the order of a sum or the place of the 1/m changes
(the dense step, the numba loop, the step inside the GEMM).
"""

import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import mlplab
from mlplab.core import plugins
from mlplab import gradcheck
from mlplab.accel import blas, dense_predict, kernels, tiny
from mlplab.accel.updates import InPlaceUpdates
from mlplab.callbacks import Callback
from mlplab.core import activations, losses
from mlplab.core.optimizers import Adam, GradientDescent, Momentum
from mlplab.errors import DataError
from mlplab.regularizers import L1, L2

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0], dtype=float)
needs_numba = pytest.mark.skipif(tiny._load() is None, reason="numba not installed")
# these tests compare the accelerators with the core: with MLPLAB_ACCEL=off there are none
pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")


def _fit(accelerate, sizes, X, Y, net_kw=None, **kw):
    net = mlplab.Network(sizes, **{"seed": 3, **(net_kw or {})})
    history = net.fit(X, Y, accelerate=accelerate, **{"optimizer": "gd", "learning_rate": 0.5,
                                                       **kw})
    return net, history


def _close(a, b, rtol, atol=None):
    for p, q in zip(a.params, b.params):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol if atol is None else atol)


# ------------------------------------------------------------------ the elementwise kernels
@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_write_the_cores_g_and_delta(name, dtype):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, (64, 9)).astype(dtype)
    dA = rng.normal(size=z.shape).astype(dtype)
    g = activations.get_activation(name)
    a = kernels.G_INTO[name](z, np.empty_like(z))
    ref = g.g(z)
    if name == "sigmoid":  # the core's stable form and 1/(1 + e^−z) may differ in the last bit
        np.testing.assert_allclose(a, ref, rtol=4 * np.finfo(dtype).eps, atol=0)
    else:
        np.testing.assert_array_equal(a, ref)
    delta = kernels.DELTA_INTO[name](dA, z, a, np.empty_like(z))
    np.testing.assert_allclose(delta, dA * g.g_prime(z), rtol=8 * np.finfo(dtype).eps,
                               atol=np.finfo(dtype).tiny)
    assert a.dtype == delta.dtype == dtype
    over = dA.copy()
    assert kernels.DELTA_INTO[name](over, z, a, over) is over  # δ written over dA itself
    np.testing.assert_array_equal(over, delta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_saturated_sigmoid_gives_the_cores_limits_without_a_warning(dtype):
    # e^(−z) overflows for z ≪ 0: σ = 0 is right, and a RuntimeWarning in the user's output
    # (the tour printed one) is noise
    import warnings

    z = np.array([-1e4, -200.0, 0.0, 200.0, 1e4], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = kernels.G_INTO["sigmoid"](z, np.empty_like(z))
    np.testing.assert_array_equal(a, activations.sigmoid(z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [3.0, 200.0, 2000.0])
def test_softmax_with_its_cost_equals_the_cores_shifted_formulas(dtype, scale):
    rng = np.random.default_rng(1)
    z = (rng.normal(size=(50, 7)) * scale).astype(dtype)
    y = np.eye(7, dtype=dtype)[rng.integers(0, 7, 50)]
    out = np.empty_like(z)
    cost = kernels.softmax_cce_into(z, y, out)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, activations.softmax(z), rtol=tol, atol=tol)
    assert cost == pytest.approx(float(losses.cce_value(out, y, z)), rel=tol, abs=tol)
    assert out.dtype == dtype


@pytest.mark.parametrize("make", [lambda: GradientDescent(0.1), lambda: Momentum(0.1, 0.9),
                                  lambda: Momentum(0.1, 0.8, nesterov=True),
                                  lambda: Adam(0.01, 0.9, 0.99)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_rules_give_the_cores_formulas_bit_for_bit(make, dtype):
    rng = np.random.default_rng(2)
    params = [rng.normal(size=s).astype(dtype) for s in ((5, 4), (5,), (3, 5), (3,))]
    copies = [p.copy() for p in params]
    core, fast = make(), make()
    update = InPlaceUpdates(fast)
    for _ in range(5):
        grads = [rng.normal(size=p.shape).astype(dtype) for p in params]
        core.step(copies, grads)
        update(params, grads)
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p, q)
        assert p.dtype == dtype
    assert fast.t == core.t == 5
    for s, t in zip(fast.state, core.state):
        for k in s:
            np.testing.assert_array_equal(s[k], t[k])


# ------------------------------------------------------------------ the dense step
CASES = [  # optimizer, options, loss, hidden g, output g, batch size
    ("gd", {}, "mse", "sigmoid", None, None),                       # the lecture's
    ("sgd", {}, "cross_entropy", "relu", None, 16),                  # softmax + CCE, fused
    ("sgd", {}, "cross_entropy", "tanh", "sigmoid", 16),             # one unit, BCE
    ("momentum", {"momentum": 0.9}, "mse", "relu", "identity", 16),  # regression
    ("nesterov", {"momentum": 0.8}, "cross_entropy", "leaky_relu", None, 32),
    ("adam", {}, "cross_entropy", "sigmoid", None, 25),
]


@pytest.mark.parametrize("optimizer, options, loss, hidden, output, batch_size", CASES)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_the_dense_step_trains_as_the_core_does(optimizer, options, loss, hidden, output,
                                                batch_size, dtype, rtol, products):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 5)).astype(dtype)
    k = 1 if output in ("sigmoid", "identity") else 3
    Y = rng.integers(0, k if k > 1 else 2, 90) if output != "identity" else rng.normal(size=90)
    kw = dict(optimizer=optimizer, learning_rate=0.05, max_epochs=6, epsilon=None,
              batch_size=batch_size, seed=4, **options)
    net_kw = {"activation": hidden, "loss": loss, "output": output, "seed": 5, "dtype": dtype}
    sizes = [5, 7, 6, k]
    fast, h_fast = _fit(None, sizes, X, Y, net_kw, **kw)
    core, h_core = _fit(False, sizes, X, Y, net_kw, **kw)
    assert h_core.backend == "core" and h_fast.backend.startswith("numpy-dense")
    assert ("+mkl" in h_fast.backend) == (products == "+mkl")
    _close(fast, core, rtol)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=rtol)
    assert h_fast.loss[-1] < h_fast.loss[0]  # it learned: the comparison means something
    assert all(p.dtype == dtype for p in fast.params)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_dropout_layers_run_on_the_dense_step_as_in_the_core(optimizer):
    from mlplab.core.layers.dropout import with_dropout

    rng = np.random.default_rng(24)
    X, Y = rng.normal(size=(90, 5)), rng.integers(0, 3, 90)
    runs = []
    for accelerate in (None, False):
        net = with_dropout(mlplab.Network([5, 16, 8, 3], activation="relu",
                                          loss="cross_entropy", seed=1), p=0.3, seed=2,
                           input_p=0.1)  # the same masks, drawn in the same order
        h = net.fit(X, Y, optimizer=optimizer, learning_rate=0.05, batch_size=16,
                    max_epochs=4, epsilon=None, seed=3, accelerate=accelerate)
        runs.append((net, h))
    (fast, h_fast), (core, h_core) = runs
    assert h_fast.backend.startswith("numpy-dense") and h_core.backend == "core"
    _close(fast, core, 1e-10, 1e-12)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=1e-10)
    assert h_fast.loss[-1] < h_fast.loss[0]


class PerBatchL2(L2):
    """λ = alpha / m_batch, re-set before every batch, as the estimators' ``alpha`` does."""

    def on_batch_begin(self, trainer, Xb, Yb):
        self.lam = 0.5 / len(Xb)


@pytest.mark.parametrize("penalty", [L2(0.02), L1(0.003), L2(0.01, include_bias=True),
                                     PerBatchL2(0.0)])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_a_penalty_added_inside_the_update_trains_as_its_callback_does(penalty, optimizer):
    rng = np.random.default_rng(25)
    X, Y = rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
    nets = []
    for accelerate in (None, False):  # the NumPy step (numba only for larger fits)
        net, h = _fit(accelerate, [4, 6, 1], X, Y, {"activation": "tanh",
                                                    "loss": "cross_entropy"},
                      optimizer=optimizer, learning_rate=0.05, batch_size=20, max_epochs=4,
                      epsilon=None, callbacks=[penalty])
        nets.append(net)
    assert penalty.gradient_term()[0] == ("l1" if isinstance(penalty, L1) else "l2")
    _close(*nets, 1e-12, 1e-14)
    for a, b in zip(nets[0].grads, nets[1].grads):  # ∂C/∂W holds the penalty on both paths
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_loss_of_its_own_runs_its_own_formulas_on_the_dense_step():
    from mlplab.core.losses import LOSSES, Loss

    cce = LOSSES["categorical_cross_entropy"]
    weighted = Loss("categorical_cross_entropy",  # the registry's name, other formulas
                    lambda a, y, z=None: 2 * cce.value(a, y, z),
                    lambda z, a, y, g: 2 * (a - y), "softmax")
    rng = np.random.default_rng(26)
    X, Y = rng.normal(size=(48, 4)), np.eye(3)[rng.integers(0, 3, 48)]
    runs = []
    for accelerate in (None, False):
        net = mlplab.Network([4, 6, 3], activation="relu", loss="cross_entropy", seed=4)
        net.loss = weighted
        h = net.fit(X, Y, optimizer="sgd", learning_rate=0.05, batch_size=16, max_epochs=3,
                    epsilon=None, seed=5, accelerate=accelerate)
        runs.append((net, h))
    assert runs[0][1].backend.startswith("numpy-dense")
    _close(runs[0][0], runs[1][0], 1e-10, 1e-12)
    np.testing.assert_allclose(runs[0][1].loss, runs[1][1].loss, rtol=1e-10)


def test_a_callback_reading_gradients_sees_the_cores_gradients():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    seen = {}

    class Reader(Callback):
        def __init__(self, key):
            self.key = key

        def on_gradients(self, trainer):
            seen.setdefault(self.key, []).append([g.copy() for g in trainer.net.grads])

    for accelerate in (None, False):
        _fit(accelerate, [3, 4, 1], X, Y, {"activation": "tanh", "loss": "cross_entropy"},
             optimizer="sgd", learning_rate=0.1, batch_size=10, max_epochs=2, epsilon=None,
             callbacks=[Reader(accelerate), L2(0.01)])
    assert len(seen[None]) == len(seen[False]) == 8
    for fast, core in zip(seen[None], seen[False]):
        for a, b in zip(fast, core):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_the_fused_step_is_a_gradient_step_by_finite_differences(monkeypatch):
    """One fused SGD step moves W, b by −α times the float64 finite-difference gradient."""
    monkeypatch.setattr(tiny, "ENABLED", False)  # the dense step, not the numba loop
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    net = mlplab.Network([4, 6, 5, 3], activation="tanh", loss="cross_entropy", seed=12)
    alpha = 0.3
    numeric = _finite_differences(net, X, np.eye(3)[Y])
    before = [p.copy() for p in net.params]
    h = net.fit(X, Y, optimizer="sgd", learning_rate=alpha, max_epochs=1, epsilon=None)
    assert h.backend.startswith("numpy-dense+blas-sgd" if blas.available() else "numpy-dense")
    for p, p0, g in zip(net.params, before, numeric):
        np.testing.assert_allclose(p, p0 - alpha * g, rtol=0, atol=1e-9)


def _finite_differences(net, X, Y, eps=1e-5):
    out = []
    for p in net.params:
        g = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = net.cost(X, Y)
            p[i] = old - eps
            down = net.cost(X, Y)
            p[i] = old
            g[i] = (up - down) / (2 * eps)
        out.append(g)
    return out


def test_training_updates_the_users_arrays_in_place_and_an_assigned_w_is_the_one_trained():
    rng = np.random.default_rng(22)
    X, Y = rng.normal(size=(70, 6)).astype(np.float32), rng.integers(0, 3, 70)
    net = mlplab.Network([6, 9, 3], activation="relu", loss="cross_entropy", seed=23,
                         dtype=np.float32)
    W1 = net.layers[1].W
    before = W1.copy()
    h = net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=16, max_epochs=2)
    assert net.layers[1].W is W1 and not np.array_equal(W1, before)  # the live array
    assert h.backend.startswith("numpy-dense")
    fits = []
    for layout in ("C", "F", "strided"):  # assigned by hand, in any layout
        net = mlplab.Network([6, 9, 3], activation="relu", loss="cross_entropy", seed=23,
                             dtype=np.float32)
        for layer in net.layers[1:]:
            W = np.asarray(layer.W, order="F" if layout == "F" else "C")
            layer.W = np.repeat(W, 2, axis=1)[:, ::2] if layout == "strided" else W.copy(
                order="F" if layout == "F" else "C")
        assigned = net.layers[1].W
        h = net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=16, max_epochs=3,
                    epsilon=None, seed=24)
        assert net.layers[1].W is assigned and h.backend.startswith("numpy-dense")
        fits.append([p.copy() for p in net.params])
    for other in fits[1:]:
        for a, b in zip(fits[0], other):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_the_blas_binding_can_be_switched_off_and_the_numpy_step_is_the_same():
    code = ("import json, numpy as np, mlplab; from mlplab.accel import blas\n"
            "X = np.random.default_rng(0).normal(size=(64, 5)); y = (X[:, 0] > 0).astype(int)\n"
            "net = mlplab.Network([5, 6, 2], activation='relu', loss='cross_entropy', seed=1)\n"
            "h = net.fit(X, y, optimizer='sgd', learning_rate=0.1, batch_size=16, max_epochs=3)\n"
            "print(json.dumps([blas.available(), h.backend, net.layers[1].W.tolist()]))")
    runs = {}
    for env in ("numpy", "", "off"):
        key = {"numpy": "MLPLAB_BLAS", "": "MLPLAB_BLAS", "off": "MLPLAB_ACCEL"}[env]
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ, key: env or "blas"})
        runs[env] = json.loads(out.stdout)
    assert runs["numpy"][0] is False and runs["numpy"][1] == "numpy-dense"
    assert runs["off"][1] == "core"  # MLPLAB_ACCEL=off: the core alone
    np.testing.assert_allclose(runs["numpy"][2], runs[""][2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(runs["off"][2], runs[""][2], rtol=1e-12, atol=1e-14)


def _count_blas_updates(monkeypatch):
    calls, real = [], blas.sgd_step
    monkeypatch.setattr(blas, "sgd_step", lambda *a: calls.append(1) or real(*a))
    return calls


def test_only_plain_sgd_with_nobody_reading_gradients_is_fused(monkeypatch):
    rng = np.random.default_rng(16)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    for optimizer, callbacks, fused in (("sgd", [], True), ("sgd", [L2(0.1)], False),
                                        ("momentum", [], False), ("adam", [], False)):
        calls = _count_blas_updates(monkeypatch)
        _fit(None, [3, 4, 1], X, Y, {"activation": "tanh", "loss": "cross_entropy"},
             optimizer=optimizer, learning_rate=0.1, batch_size=10, max_epochs=2,
             callbacks=callbacks)
        assert (len(calls) == 4 * 2 * 2) if fused else calls == [], optimizer


def test_a_learning_rate_changed_by_a_callback_takes_effect_on_the_fused_path(monkeypatch):
    rng = np.random.default_rng(18)
    X, Y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)

    class Schedule(Callback):  # α = 0.3, 0.15, 0.1, …: what scikit-learn's invscaling does
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.optimizer.learning_rate = 0.3 / (epoch + 1)

    runs = []
    for accelerate in (None, False):
        calls = _count_blas_updates(monkeypatch)
        net, _ = _fit(accelerate, [4, 5, 3], X, Y, {"activation": "tanh",
                                                    "loss": "cross_entropy", "seed": 19},
                      optimizer="sgd", learning_rate=0.3, batch_size=20, max_epochs=5,
                      epsilon=None, callbacks=[Schedule()], seed=20)
        assert len(calls) == (5 * 3 * 2 if accelerate is None else 0)
        runs.append(net)
    _close(*runs, 1e-12, 1e-14)


def test_the_step_keeps_no_reference_to_the_data(monkeypatch):
    import gc
    import weakref

    monkeypatch.setattr(tiny, "ENABLED", False)
    X = np.random.default_rng(21).normal(size=(50, 3))
    Y = (X[:, 0] > 0).astype(float)
    net, h = _fit(None, [3, 4, 1], X, Y, {"activation": "tanh", "loss": "cross_entropy"},
                  learning_rate=0.1, max_epochs=3, epsilon=None)
    assert h.backend.startswith("numpy-dense")
    ref = weakref.ref(X)
    del X
    gc.collect()
    assert ref() is None  # neither the layers' caches nor a prepared BLAS call hold it


def test_training_reuses_its_arrays_batch_after_batch():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(100, 3)), rng.integers(0, 2, 100)
    ids = []

    class Ids(Callback):
        def on_batch_begin(self, trainer, Xb, Yb):
            ids.append((id(Xb), id(trainer.net.layers[1].Z)))

        def on_batch_end(self, trainer, logs):
            ids.append((ids.pop()[0], id(trainer.net.layers[1].Z)))

    _fit(None, [3, 4, 1], X, Y, {"activation": "tanh", "loss": "cross_entropy"},
         optimizer="sgd", learning_rate=0.1, batch_size=10, max_epochs=2, callbacks=[Ids()])
    assert len(ids) == 20 and len(set(ids)) == 1  # same batch array, same Z, every batch


def test_an_epoch_never_copies_the_data_set():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(40_000, 25))  # 8 MB
    Y = rng.integers(0, 2, 40_000).astype(float)
    net = mlplab.Network([25, 16, 1], activation="relu", loss="cross_entropy", seed=0)
    net.fit(X[:100], Y[:100], optimizer="sgd", batch_size=50, max_epochs=1)
    tracemalloc.start()
    try:
        net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=50, max_epochs=2,
                epsilon=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the input checks' float views and the per-epoch permutation (320 kB) only
    assert peak < X.nbytes / 4, f"peak {peak / 1e6:.1f} MB for {X.nbytes / 1e6:.1f} MB of data"


@pytest.mark.parametrize("shuffle", [True, False])
def test_column_major_data_is_gathered_from_rows_and_trains_the_same(shuffle):
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(96, 5)), rng.integers(0, 3, 96)
    nets = []
    for data in (X, np.asfortranarray(X)):
        net, _ = _fit(None, [5, 6, 3], data, Y, {"activation": "relu",
                                                 "loss": "cross_entropy"},
                      optimizer="sgd", learning_rate=0.1, batch_size=16, max_epochs=3,
                      shuffle=shuffle, seed=8)
        nets.append(net)
    _close(*nets, 0, 0)


def test_gradcheck_passes_after_float32_training_on_the_fast_path():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    net = mlplab.Network([3, 5, 4, 1], activation="tanh", loss="cross_entropy", seed=7)
    h = net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=8, max_epochs=5)
    assert net.dtype == np.float32 and h.backend.startswith("numpy-dense")
    assert gradcheck(net, X, Y).passed


# ------------------------------------------------------------------ inference
def test_blocked_predict_equals_the_cores_forward_and_returns_fresh_arrays():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2500, 4))  # > BLOCK_ROWS: three blocks
    net = mlplab.Network([4, 9, 3], activation="relu", loss="cross_entropy", seed=1)
    whole = net.forward(X)
    blocked = dense_predict.predict(net, X)
    np.testing.assert_allclose(blocked, whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.predict_proba(X), whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(net.predict(X), whole.argmax(1))
    first = net.predict_proba(X[:10])
    kept = first.copy()
    net.predict_proba(X[10:20])
    np.testing.assert_array_equal(first, kept)  # inference results are the caller's to keep


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_blocked_predict_finds_nan_or_inf_in_any_block_and_names_the_row(bad):
    rng = np.random.default_rng(13)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    net = mlplab.Network([4, 6, 3], activation="relu", loss="cross_entropy", seed=2,
                         dtype="float32")
    net.layers[1].W[:] = np.abs(net.layers[1].W)  # −inf makes every z⁽¹⁾ −inf, ReLU then 0
    X[2500, 1] = bad
    X[2900, 3] = bad
    with pytest.raises(DataError, match=r"X contains NaN or inf \(row 2500 and 1 more\)"):
        net.predict(X)
    with pytest.raises(DataError, match="row 2500"):
        net.predict_proba(X)


def test_blocked_predict_checks_all_of_x_when_an_input_feeds_no_neuron():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(3000, 4))
    net = mlplab.Network([4, 6, 3], activation="relu", loss="cross_entropy", seed=2)
    net.layers[1].W[:, 2] = 0  # NaN · 0 might be skipped by a BLAS: z⁽¹⁾ cannot be trusted
    X[1800, 2] = np.nan
    with pytest.raises(DataError, match=r"row 1800\)"):
        net.predict(X)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_blocked_predict_of_values_that_overflow_z_is_no_error():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    X[10] = 3e38  # finite, but z⁽¹⁾ overflows to ±inf: X is then checked, and passes
    net = mlplab.Network([4, 6, 3], activation="tanh", loss="cross_entropy", seed=2,
                         dtype="float32")
    P = net.predict_proba(X)
    np.testing.assert_allclose(P[11:], net.forward(X[11:]), rtol=1e-6)
    X[2000, 0] = np.nan  # after the overflow in block 1, a NaN in block 2 is still found
    with pytest.raises(DataError, match="row 2000"):
        net.predict(X)


# ------------------------------------------------------------------ tiny networks (numba)
def test_the_numba_loop_only_where_it_applies(monkeypatch):
    calls = []
    monkeypatch.setattr(tiny, "applies", lambda run: calls.append(run) or False)
    _fit(None, [2, 2, 1], XOR_X, XOR_Y, max_epochs=2)
    assert len(calls) == 1
    assert tiny.applies.__name__ == "<lambda>"
    monkeypatch.undo()
    for kw in ({"batch_size": 2}, {"optimizer": "adam", "learning_rate": 0.1},
               {"callbacks": [Callback()]}, {"validation_data": (XOR_X, XOR_Y)}):
        _, h = _fit(None, [2, 2, 1], XOR_X, XOR_Y, max_epochs=2, **kw)
        assert h.backend != "numba-tiny", kw
    big = np.random.default_rng(0).normal(size=(1000, 50))
    _, h = _fit(None, [50, 100, 1], big, big[:, 0] > 0, max_epochs=1)
    assert h.backend != "numba-tiny"  # BLAS wins there


@needs_numba
@pytest.mark.parametrize("net_kw, Y_kind", [
    ({"activation": "sigmoid", "loss": "mse"}, "xor"),                      # the lecture's
    ({"activation": "tanh", "loss": "mse"}, "xor"),                         # identity output
    ({"activation": "relu", "loss": "mse", "init": "he_normal"}, "xor"),
    ({"activation": "tanh", "loss": "cross_entropy"}, "xor"),               # sigmoid + BCE
    ({"activation": "sigmoid", "loss": "cross_entropy"}, "3 classes"),      # softmax + CCE
])
def test_the_numba_loop_equals_the_core(net_kw, Y_kind):
    X, Y, sizes = XOR_X, XOR_Y, [2, 3, 1]
    if Y_kind == "3 classes":
        X = np.random.default_rng(0).normal(size=(12, 2))
        Y, sizes = np.arange(12) % 3, [2, 4, 3]
    # Same seed, same equations; only the order of the sums differs (BLAS against scalar
    # loops), so after 3000 epochs the weights agree to rounding, not bit for bit.
    fast, h_fast = _fit(None, sizes, X, Y, net_kw, max_epochs=3000, epsilon=None)
    core, h_core = _fit(False, sizes, X, Y, net_kw, max_epochs=3000, epsilon=None)
    assert h_fast.backend == "numba-tiny" and h_core.backend == "core"
    _close(fast, core, 1e-9, 1e-11)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(h_fast.max_change, h_core.max_change, rtol=1e-7, atol=1e-13)
    assert h_fast.epochs == h_core.epochs == 3000
    assert h_fast.loss[-1] < h_fast.loss[0]  # it learned something: the comparison means it


@needs_numba
def test_the_numba_loop_stops_at_epsilon_like_the_core():
    fast, h_fast = _fit(None, [2, 2, 1], XOR_X, XOR_Y, max_epochs=50_000, epsilon=1e-4)
    core, h_core = _fit(False, [2, 2, 1], XOR_X, XOR_Y, max_epochs=50_000, epsilon=1e-4)
    assert h_fast.converged and h_core.converged
    assert h_fast.epochs == h_core.epochs < 50_000
    assert h_fast.stop_reason == h_core.stop_reason
    assert fast.history is h_fast
    _close(fast, core, 1e-9)


@needs_numba
def test_the_numba_loop_in_chunks_of_epochs_gives_the_same_run(monkeypatch):
    one, h_one = _fit(None, [2, 2, 1], XOR_X, XOR_Y, max_epochs=2500, epsilon=None)
    monkeypatch.setattr(tiny, "CHUNK_EPOCHS", 700)  # 4 calls: 700, 700, 700, 400
    chunked, h_chunked = _fit(None, [2, 2, 1], XOR_X, XOR_Y, max_epochs=2500, epsilon=None)
    assert h_chunked.loss == h_one.loss and len(h_one.loss) == h_chunked.epochs == 2500
    assert h_chunked.max_change == h_one.max_change
    _close(one, chunked, 0, 0)


@needs_numba
def test_the_numba_loop_keeps_float32():
    X32, Y32 = XOR_X.astype(np.float32), XOR_Y.astype(np.float32)
    fast, h = _fit(None, [2, 2, 1], X32, Y32, max_epochs=500, epsilon=None)
    core, _ = _fit(False, [2, 2, 1], X32, Y32, max_epochs=500, epsilon=None)
    assert h.backend == "numba-tiny"
    for p, q in zip(fast.params, core.params):
        assert p.dtype == q.dtype == np.float32
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)
