"""The compiled kernels (mlplab.accel.numba_kernels) compute what the core computes.

Bit for bit: the update rules (with an L2/L1 penalty added on the way), the bias and the
activations (the sigmoid's exp is NumPy's, tanh is NumPy's), the activations' derivatives.
To a stated tolerance: the output layers, whose exp and log are the C library's and whose
costs are summed in float64 in another order. Skipped where numba is not installed; the
NumPy path they replace is tested in test_accel.py, and a fit is tested both ways.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import mlplab
from mlplab.core import plugins
from mlplab.accel import fused, threads, updates
from mlplab.accel.params import Snapshots, Table
from mlplab.core import losses
from mlplab.core.layers import Dense
from mlplab.core.optimizers import Adam, GradientDescent, Momentum
from mlplab.core.step import Step
from mlplab.train.setup import prepare

nk = pytest.importorskip("mlplab.accel.numba_kernels", reason="numba not installed")
# these tests compare the accelerators with the core: with MLPLAB_ACCEL=off there are none
pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")
DTYPES = [np.float32, np.float64]
RULES = {"gd": lambda: GradientDescent(0.1), "momentum": lambda: Momentum(0.1, 0.9),
         "nesterov": lambda: Momentum(0.1, 0.8, nesterov=True),
         "adam": lambda: Adam(0.01, 0.9, 0.99)}


def _layer(act, dtype, n_in=7, n_out=9, seed=0):
    layer = Dense(n_in, n_out, act, rng=np.random.default_rng(seed), dtype=dtype)
    layer.b[:] = np.random.default_rng(seed + 1).normal(size=n_out)
    return layer


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu", "leaky_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads_", [1, 2])
def test_bias_activation_and_derivative_are_the_cores_bit_for_bit(name, dtype, threads_,
                                                                   monkeypatch):
    monkeypatch.setattr(fused, "PARALLEL_SIZE", 1)  # the threaded kernels too, on small arrays
    rng = np.random.default_rng(1)
    layer = _layer(name, dtype)
    product = rng.normal(0, 4, (64, 9)).astype(dtype)
    product[0, :3] = [np.nan, np.inf, -np.inf]  # NaN and ±inf go through as the core's do
    compiled = fused.Compiled(nk, threads_)
    try:
        Z, A = product.copy(), np.empty_like(product)
        with np.errstate(all="ignore"):
            compiled.bias_g(layer, Z, A)
            z = product + layer.b
            np.testing.assert_array_equal(Z, z)
            np.testing.assert_array_equal(A, layer.g(z))
            layer.Z, layer.A = Z, A
            dA = rng.normal(size=Z.shape).astype(dtype)
            D = compiled.delta_g(layer, dA, np.empty_like(Z))
            np.testing.assert_array_equal(D, dA * layer.g.g_prime(z))
    finally:
        compiled.close()
    assert A.dtype == D.dtype == dtype


def _output_both_ways(compiled, layer, the_loss, rng, scale, regression):
    """A batch of 50 through ``compiled.output`` and through the loss's own formulas:
    ``(Z, A, D, cost)`` and ``(z, a, delta, value)``."""
    k, dtype = layer.n_out, layer.W.dtype
    product = (rng.normal(size=(50, k)) * scale).astype(dtype)
    Y = (np.eye(k)[rng.integers(0, k, 50)] if layer.g.name == "softmax" else
         rng.normal(size=(50, k)) if regression else rng.integers(0, 2, (50, k))).astype(dtype)
    Z, A, D = product.copy(), np.empty_like(product), np.empty_like(product)
    with np.errstate(all="ignore"):
        cost = compiled.output(layer, the_loss, Z, Y, A, D)
        z = product + layer.b
        a = layer.g(z)
        delta = the_loss.output_delta(z, a, Y, layer.g)
        value = float(the_loss.value(a, Y, z))
    compiled.close()
    return (Z, A, D, cost), (z, a, delta, value)


@pytest.mark.parametrize("loss, output, k", [("categorical_cross_entropy", "softmax", 6),
                                             ("binary_cross_entropy", "sigmoid", 1),
                                             ("binary_cross_entropy", "sigmoid", 3),
                                             ("mse", "identity", 2), ("mse", "sigmoid", 2),
                                             ("mse", "tanh", 1), ("mse", "relu", 2)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_output_kernels_give_the_cores_output_delta_and_cost(loss, output, k, dtype, scale):
    layer = _layer(output, dtype, n_out=k)
    (Z, A, D, cost), (z, a, delta, core_cost) = _output_both_ways(
        fused.Compiled(nk, 1), layer, losses.get_loss(loss, k), np.random.default_rng(2), scale,
        regression=loss == "mse")
    tol = 4e-6 if dtype == np.float32 else 1e-14  # exp, tanh and log: the C library's
    np.testing.assert_array_equal(Z, z)
    np.testing.assert_allclose(A, a, rtol=tol, atol=tol)
    np.testing.assert_allclose(D, delta, rtol=tol, atol=tol * max(1.0, float(np.abs(a).max())))
    assert cost == pytest.approx(core_cost, rel=tol * 10, abs=tol * 10)
    assert A.dtype == D.dtype == dtype


@pytest.mark.parametrize("kind, output, k", [("log_loss", "softmax", 6),
                                             ("binary_log_loss", "sigmoid", 1),
                                             ("binary_log_loss", "sigmoid", 3),
                                             ("squared_error", "identity", 2)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 300.0])  # 300: probabilities clipped at eps, 1 − eps
@pytest.mark.parametrize("weighted", [False, True])
def test_scikit_learns_output_kernel_gives_its_losss_delta_and_value(kind, output, k, dtype,
                                                                     scale, weighted):
    """The estimators' output layer (scikit-learn's losses, mlplab.sklearn._losses) in one
    compiled pass: the delta and the batch's (weighted) value its NumPy formulas give."""
    from mlplab.sklearn._losses import SklearnLoss

    rng = np.random.default_rng(4)
    layer = _layer(output, dtype, n_out=k)
    loss = SklearnLoss(kind, None)
    loss.use_weights(rng.uniform(0.1, 3.0, 50) if weighted else None)
    compiled = fused.Compiled(nk, 1)
    calls = []
    kernel = nk.sklearn_output
    compiled.k = type("Kernels", (), {"sklearn_output": [
        lambda *a: calls.append(a) or kernel[0](*a)] * 2})()
    (Z, A, D, cost), (z, a, delta, value) = _output_both_ways(
        compiled, layer, loss.as_loss(), rng, scale, regression=kind == "squared_error")
    assert len(calls) == 1  # the kernel computed it
    tol = 4e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_array_equal(Z, z)
    np.testing.assert_allclose(A, a, rtol=tol, atol=tol)
    np.testing.assert_allclose(D, delta, rtol=tol * 4, atol=tol * 4)
    assert np.isfinite(cost) and cost == pytest.approx(value, rel=tol * 10, abs=tol * 10)
    assert A.dtype == D.dtype == dtype


def test_scikit_learns_other_pairings_keep_their_own_formulas():
    """Poisson, mlplab's own "mse" for the classifier, a pairing of another output: NumPy."""
    from mlplab.sklearn._losses import EXP, SklearnLoss

    compiled = fused.Compiled(nk, 1)
    layer = _layer("sigmoid", np.float64, n_out=2)
    Z = np.zeros((4, 2))
    for kind, g in (("poisson", EXP), ("mse", None), ("log_loss", None)):
        if g is not None:
            layer.g = g
        assert compiled._sklearn_output(layer, SklearnLoss(kind, None).as_loss(), Z) == (None, ())
    compiled.close()


def _params(dtype, rng):
    shapes = ((40, 30), (40,), (3, 40), (3,), (5, 6))
    params = [rng.normal(size=s).astype(dtype) for s in shapes]
    params[0] = np.asfortranarray(params[0])  # a column-major W: read in its own order
    params[0][0, :4] = [0.0, -0.0, np.inf, 0.0]  # sign(0) for L1, and an inf that stays
    params[4] = np.repeat(params[4], 2, axis=1)[:, ::2]  # not contiguous: NumPy updates it
    return params


def _like(p, values):
    out = np.empty_like(p)
    out[...] = values
    return out


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
@pytest.mark.parametrize("threads_", [1, 2])
def test_compiled_update_rules_are_the_cores_bit_for_bit(rule, dtype, penalty, threads_,
                                                         monkeypatch):
    monkeypatch.setattr(updates, "PARALLEL_SIZE", 1)
    rng = np.random.default_rng(3)
    params = _params(dtype, rng)
    copies = [p.copy() for p in params]
    core, fast = RULES[rule](), RULES[rule]()
    update = updates.CompiledUpdates(fast, nk, threads_)
    lams = [0.01, 0.0, 0.02, 0.0, 0.01]
    with np.errstate(all="ignore"):
        for _ in range(4):
            grads = [_like(p, rng.normal(size=p.shape)) for p in params]  # dW keeps W's order
            core_grads = [g.copy() for g in grads]
            if penalty:  # what the penalty's callback adds before the core's step
                for p, g, lam in zip(copies, core_grads, lams):
                    g += lam * (np.sign(p) if penalty == "l1" else p)
            core.step(copies, core_grads)
            update(params, grads, None if penalty is None else (lams, penalty == "l1"))
    assert update.table.left_out == [4] and update.table.columns == [0, 1, 2, 3]
    for p, q, g, h in zip(params, copies, grads, core_grads):
        np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(g, h)  # ∂C/∂p holds the penalty, as the callback leaves it
        assert p.dtype == dtype
    assert fast.t == core.t == 4
    for s, t in zip(fast.state, core.state):
        for key in s:
            np.testing.assert_array_equal(s[key], t[key])


def test_the_address_table_is_rebuilt_when_an_array_is_replaced():
    rng = np.random.default_rng(4)
    params = [rng.normal(size=(4, 3)), rng.normal(size=4)]
    opt = Adam(0.1)
    update = updates.CompiledUpdates(opt, nk)
    grads = [np.ones((4, 3)), np.ones(4)]
    update(params, grads)
    first = update.table
    update(params, grads)
    assert update.table is first  # the same arrays: the same table
    params[0] = params[0].copy()  # layer.W = new: the new array is the one updated
    before = params[0].copy()
    update(params, grads)
    assert update.table is not first and not np.array_equal(params[0], before)


def test_snapshot_and_largest_change_equal_the_cores():
    rng = np.random.default_rng(5)
    net = mlplab.Network([3, 5, 2], seed=1)
    net.layers[1].W = np.asfortranarray(net.layers[1].W)
    core = Step(net, GradientDescent(0.1), np.zeros((1, 3)), np.zeros((1, 2)))
    snaps = Snapshots()
    start = snaps.snapshot(net.params)
    core_start = core.snapshot()
    for s, c, p in zip(start, core_start, net.params):
        np.testing.assert_array_equal(s, c)
        assert s.shape == p.shape and s.base is snaps.buffer
    for p in net.params:
        p += rng.normal(size=p.shape)
    assert snaps.largest_change(net.params, start) == core.largest_change(core_start)
    net.layers[2].b[1] = np.nan
    assert np.isnan(snaps.largest_change(net.params, start))
    assert snaps.largest_change(net.params, core_start) is None  # not its own snapshot
    net.layers[2].W = net.layers[2].W.copy()  # replaced: the next snapshot is of the new array
    again = snaps.snapshot(net.params)
    np.testing.assert_array_equal(again[2], net.layers[2].W)


def test_a_table_leaves_out_arrays_that_do_not_line_up():
    a = np.zeros((3, 4))
    table = Table([[a, a[:, ::2].copy(), np.zeros(5)], [np.zeros((3, 4), order="F"),
                                                        np.zeros((3, 2)), np.zeros(5)]], 4)
    assert table.columns == [1, 2] and table.left_out == [0]  # C and F orders do not line up
    assert table.chunks.tolist() == [[0, 0, 4], [0, 4, 6], [1, 0, 4], [1, 4, 5]]


# ------------------------------------------------------------------ whole fits
def _fit_both(monkeypatch, net_kw, X, Y, **kw):
    out = []
    for setting in ("on", "off"):
        monkeypatch.setenv("MLPLAB_NUMBA", setting)
        net = mlplab.Network(**{"seed": 5, **net_kw})
        h = net.fit(X, Y, **{"epsilon": None, "seed": 6, **kw})
        out.append((net, h))
    return out


@pytest.mark.parametrize("optimizer, callback", [("adam", "l2"), ("momentum", "l1"),
                                                 ("nesterov", None), ("sgd", "l2"),
                                                 ("sgd", None)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_a_fit_with_the_compiled_kernels_equals_the_numpy_step_and_the_core(
        optimizer, callback, dtype, rtol, monkeypatch):
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(90, 5)).astype(dtype), rng.integers(0, 3, 90)
    cbs = {"l2": [mlplab.regularizers.L2(0.01)], "l1": [mlplab.regularizers.L1(0.001)],
           None: []}[callback]
    net_kw = {"sizes": [5, 8, 7, 3], "activation": "sigmoid", "loss": "cross_entropy",
              "dtype": dtype}
    (fast, h_fast), (numpy_, h_numpy) = _fit_both(
        monkeypatch, net_kw, X, Y, optimizer=optimizer, learning_rate=0.05, batch_size=16,
        max_epochs=5, callbacks=cbs)
    monkeypatch.setenv("MLPLAB_NUMBA", "off")
    core = mlplab.Network(seed=5, **net_kw)
    h_core = core.fit(X, Y, optimizer=optimizer, learning_rate=0.05, batch_size=16,
                      max_epochs=5, epsilon=None, seed=6, callbacks=cbs, accelerate=False)
    assert h_fast.backend.endswith("+numba") and "+numba" not in h_numpy.backend
    assert h_core.backend == "core"
    for p, q, r in zip(fast.params, numpy_.params, core.params):
        np.testing.assert_allclose(p, r, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(q, r, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=rtol)
    assert h_fast.loss[-1] < h_fast.loss[0]


def test_a_fused_penalty_skips_its_callback_and_leaves_the_same_gradients(monkeypatch):
    calls = []

    class Counted(mlplab.regularizers.L2):
        def add_gradient(self, p, g):  # a changed rule: this one cannot be fused
            calls.append(1)
            super().add_gradient(p, g)

    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    grads = []
    for penalty in (mlplab.regularizers.L2(0.05), Counted(0.05)):
        monkeypatch.setenv("MLPLAB_NUMBA", "on")
        net = mlplab.Network([3, 4, 1], activation="tanh", loss="cross_entropy", seed=9)
        net.fit(X, Y, optimizer="adam", learning_rate=0.1, batch_size=40, max_epochs=3,
                epsilon=None, callbacks=[penalty])
        grads.append([layer.dW.copy() for layer in net.layers[1:]])
    assert penalty.gradient_term() is None and len(calls) == 3 * 2  # 3 steps, 2 W
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)  # the decay is in dW


# ------------------------------------------------------------------ threads
def test_kernel_threads_follow_the_blas_limit():
    with threads.limit(1):
        assert threads.blas_threads() == 1 and threads.kernel_threads() == 1
    code = ("from mlplab.accel import threads; print(threads.blas_threads(), "
            "threads.kernel_threads())")
    for n in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        expected = min(int(n), os.cpu_count() or 1)
        assert out == [str(expected), str(expected)], (n, out)


def test_a_fit_sets_numbas_threads_to_the_blas_limit_and_gives_them_back(monkeypatch):
    import numba

    seen = []
    real = fused.Compiled.bias_g

    def spy(self, layer, Z, A):
        seen.append(numba.get_num_threads())
        return real(self, layer, Z, A)

    monkeypatch.setattr(fused.Compiled, "bias_g", spy)
    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    monkeypatch.setenv("MLPLAB_PARALLEL", "on")  # else one thread whatever BLAS may use
    before = numba.get_num_threads()
    X = np.random.default_rng(10).normal(size=(30, 3))
    with threads.limit(1):
        mlplab.Network([3, 4, 1], activation="relu", seed=1).fit(X, X[:, 0], max_epochs=2,
                                                                  batch_size=10)
    assert seen and set(seen) == {1}
    seen.clear()
    if threads.blas_threads() > 1 and numba.config.NUMBA_NUM_THREADS > 1:
        mlplab.Network([3, 4, 1], activation="relu", seed=1).fit(X, X[:, 0], max_epochs=2,
                                                                  batch_size=10)
        assert set(seen) == {threads.kernel_threads()} != {1}
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("setting, expected", [(None, 1), ("on", 2)])
def test_the_kernels_share_the_work_among_threads_only_when_asked(setting, expected,
                                                                  monkeypatch):
    # MLPLAB_PARALLEL=on: as many threads as BLAS may use; by default one (on 2 cores the
    # spinning OpenMP threads beside OpenBLAS's made an epoch 6× slower)
    if setting is None:
        monkeypatch.delenv("MLPLAB_PARALLEL", raising=False)
    else:
        monkeypatch.setenv("MLPLAB_PARALLEL", setting)
    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    monkeypatch.setattr(threads, "kernel_threads", lambda: 2)  # BLAS may use two threads
    X = np.random.default_rng(10).normal(size=(30, 3))
    net = mlplab.Network([3, 4, 1], activation="relu", seed=1)
    run = prepare(net, X, X[:, :1], max_epochs=2)
    elementwise, kernels, n = fused.for_run(run)
    elementwise.close()
    assert kernels is nk and n == expected and elementwise.threads == expected


def test_a_parallel_gather_takes_the_same_rows(monkeypatch):
    monkeypatch.setattr(fused, "GATHER_THREADS", 1)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(500, 7)).astype(np.float32)
    rows = rng.permutation(500)[:64]
    compiled = fused.Compiled(nk, 2)
    out = compiled.gather(X, rows, np.empty((64, 7), np.float32))
    Y = rng.normal(size=(500, 3)).astype(np.float32)  # and a batch with its targets
    X_out, Y_out = np.empty((64, 7), np.float32), np.empty((64, 3), np.float32)
    calls, kernel = [], nk.gather_pair  # the compiled pair took it
    compiled.k = type("Kernels", (), {"gather_pair": [
        lambda *a: calls.append(a) or kernel[0](*a)] * 2})()
    got = compiled.gather_pair(X, Y, rows, X_out, Y_out)
    compiled.close()
    assert len(calls) == 1
    np.testing.assert_array_equal(out, X[rows])
    assert got[0] is X_out and got[1] is Y_out
    np.testing.assert_array_equal(X_out, X[rows])
    np.testing.assert_array_equal(Y_out, Y[rows])


def test_numba_is_loaded_only_for_fits_worth_it(monkeypatch):
    code = ("import sys, numpy as np, mlplab; X = np.random.default_rng(0).normal(size=(20, 2));"
            "h = mlplab.Network([2, 3, 1], seed=0).fit(X, X[:, 0] > 0, optimizer='adam', "
            "max_epochs=5, batch_size=5); print(h.backend, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "MLPLAB_NUMBA": "auto"}).stdout
    assert out.split() == ["numpy-dense", "False"]  # a small fit: NumPy, numba never imported


def _threads_in_worker():
    from mlplab.accel import threads as t

    return t.blas_threads(), t.kernel_threads()


def test_joblib_workers_share_the_cores_between_blas_and_the_kernels():
    """scikit-learn's n_jobs runs fits in joblib's worker processes, each with its BLAS
    limited to its share of the cores: the kernels take the same share."""
    from joblib import Parallel, delayed

    n_jobs = 2
    share = max(1, (os.cpu_count() or 1) // n_jobs)
    out = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_threads_in_worker)()
                                                  for _ in range(n_jobs))
    assert out == [(share, share)] * n_jobs


@pytest.mark.parametrize("name", ["MLPLAB_NUMBA", "MLPLAB_PARALLEL"])
def test_a_switch_set_to_something_else_is_a_clear_error(name, monkeypatch):
    monkeypatch.setenv(name, "fast")
    with pytest.raises(mlplab.ConfigError, match=f"{name}='fast' is not one of"):
        fused.numba_setting() if name == "MLPLAB_NUMBA" else fused.parallel_setting()


def test_a_fit_that_raises_gives_numbas_threads_back(monkeypatch):
    import numba

    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    monkeypatch.setenv("MLPLAB_PARALLEL", "off")  # the kernels' count: 1
    before = numba.get_num_threads()
    if before == 1:
        pytest.skip("numba has one thread here: nothing to give back")
    X = np.random.default_rng(12).normal(size=(40, 3)) * 1e150
    net = mlplab.Network([3, 4, 1], activation="relu", output="identity", seed=0)
    with pytest.raises(mlplab.DivergenceError):
        net.fit(X, X[:, :1], optimizer="sgd", learning_rate=1.0, batch_size=10, max_epochs=5,
                on_divergence="raise", epsilon=None)
    assert numba.get_num_threads() == before


def test_the_tiny_loop_honours_mlplab_numba_off_after_it_loaded(monkeypatch):
    X, Y = mlplab.datasets.xor()
    on = mlplab.Network([2, 2, 1], seed=1).fit(X, Y, learning_rate=1.0, max_epochs=50)
    monkeypatch.setenv("MLPLAB_NUMBA", "off")
    off = mlplab.Network([2, 2, 1], seed=1).fit(X, Y, learning_rate=1.0, max_epochs=50)
    assert on.backend == "numba-tiny" and off.backend != "numba-tiny"


@pytest.mark.parametrize("kind", ["classifier", "binary", "regressor", "mse"])
def test_the_estimators_with_sample_weights_train_accelerated_as_the_core(kind, monkeypatch):
    """Weighted fits (and the classifier's own "mse") run the dense accelerator: its compiled
    output layer reads the loss's kind and weights (Loss.state), or the loss's own formulas;
    the weights come out as the core's (MLPLAB_ACCEL=off)."""
    monkeypatch.setenv("MLPLAB_NUMBA", "on")  # the kernels even for this small fit
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 6))
    w = rng.uniform(0.2, 3.0, 120)
    if kind == "regressor":
        make, y = (lambda: mlplab.MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, tol=0, random_state=0),
                   X @ rng.normal(size=6))
    else:
        loss = {"mse": {"loss": "squared_error"}}.get(kind, {})
        make = lambda: mlplab.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, tol=0, random_state=0, **loss)
        y = rng.integers(0, 2 if kind == "binary" else 3, 120)
    calls = []
    spy = fused.Compiled._sklearn_output
    monkeypatch.setattr(fused.Compiled, "_sklearn_output",
                        lambda self, *a: calls.append(spy(self, *a)) or calls[-1])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = make().fit(X, y, sample_weight=w)
        monkeypatch.setenv("MLPLAB_ACCEL", "off")
        core = make().fit(X, y, sample_weight=w)
    assert calls  # the accelerator's output layer ran
    assert all(c[0] is None for c in calls) == (kind == "mse")  # the kernel, but for "mse"
    for p, q in zip(fast.coefs_ + fast.intercepts_, core.coefs_ + core.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    assert fast.loss_ == pytest.approx(core.loss_, rel=1e-9)
