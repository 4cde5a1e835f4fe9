"""A dense layer's gradients and its update in one call on the threads MKL shares with numba
(mlplab.accel.dense_updates): the gradients are the core's formulas up to the order of sums,
the update is the core's rule bit for bit on them, and whole fits (scikit-learn's column-major
weights and mlplab's own row-major ones) end where the core's end."""

import warnings

import numpy as np
import pytest

import mlplab
from mlplab.accel import dense, dense_updates, products
from mlplab.core import plugins
from mlplab.core.layers import Dense
from mlplab.core.optimizers import Adam, GradientDescent, Momentum

pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")
RULES = {"gd": lambda: GradientDescent(0.1), "momentum": lambda: Momentum(0.1, 0.9),
         "nesterov": lambda: Momentum(0.1, 0.8, nesterov=True),
         "adam": lambda: Adam(0.01, 0.9, 0.99)}


def _kernels():
    kernels = products.mkl_kernels()
    if kernels is None:
        pytest.skip("needs numba and MKL with threads (pip install 'mlplab[mkl]')")
    return kernels


def _layers(dtype, column_major, rng):
    """Two dense layers, 6 → 5 → 2 (2 units: fewer rows than 3 threads), as a fit has them."""
    layers = []
    for n_in, n_out in ((6, 5), (5, 2)):
        layer = Dense(n_in, n_out, "relu", dtype=dtype)
        layer.build((n_in,))
        W = rng.normal(size=(n_out, n_in)).astype(dtype)
        layer.W = np.asfortranarray(W) if column_major else W
        layer.b = rng.normal(size=n_out).astype(dtype)
        layers.append(layer)
    layers[0].W[0, :3] = [0.0, -0.0, 0.0]  # sign(0) for L1
    return layers


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
@pytest.mark.parametrize("column_major", [False, True])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_layers_gradients_and_update_are_the_cores(rule, dtype, tol, penalty, column_major,
                                                     threads):
    kernels = _kernels()
    rng = np.random.default_rng(4)
    layers = _layers(dtype, column_major, rng)
    params = [p for layer in layers for p in (layer.W, layer.b)]
    copies = [p.copy(order="K") for p in params]
    fast, core = RULES[rule](), RULES[rule]()
    steps = dense_updates.GradientSteps(fast, kernels, threads)
    lams = [0.01, 0.0, 0.02, 0.03]
    decay = None if penalty is None else (lams, penalty == "l1")
    m = 7
    for _ in range(3):
        assert steps.begin(params, decay)
        grads = []
        for k, layer in enumerate(layers):
            layer.A_prev = rng.normal(size=(m, layer.n_in)).astype(dtype)
            delta = rng.normal(size=(m, layer.n_out)).astype(dtype)
            dW, db = np.empty_like(layer.W), np.empty_like(layer.b)
            assert steps(k, layer, delta, dW, db)
            want_W = (delta.astype(np.float64).T @ layer.A_prev) / m  # the core's formulas
            want_b = delta.astype(np.float64).mean(axis=0)
            for want, p, lam in ((want_W, copies[2 * k], lams[2 * k]),
                                 (want_b, copies[2 * k + 1], lams[2 * k + 1])):
                if penalty:  # what the penalty's callback adds, before the step
                    want += lam * (np.sign(p) if penalty == "l1" else p)
            np.testing.assert_allclose(dW, want_W, rtol=tol, atol=tol)
            np.testing.assert_allclose(db, want_b, rtol=tol, atol=tol)
            grads += [dW, db]
        core.step(copies, grads)  # the core's rule on the same gradients: the same numbers
        for p, q in zip(params, copies):
            np.testing.assert_array_equal(p, q)
        assert steps.stepped == 2  # and Σ‖W‖² of the weights as updated (not the biases)
        want = sum(float(np.sum(W.astype(np.float64) ** 2)) for W in copies[::2])
        assert steps.squares == pytest.approx(want, rel=1e-12)
    assert fast.t == core.t == 3
    assert layers[0].W.flags.f_contiguous == column_major  # updated in place, in its layout
    for s, t in zip(fast.state, core.state):
        for key in s:
            np.testing.assert_array_equal(s[key], t[key])


def test_arrays_the_kernel_cannot_take_leave_the_step_to_the_usual_update():
    kernels = _kernels()
    rng = np.random.default_rng(1)
    layers = _layers(np.float64, False, rng)
    params = [p for layer in layers for p in (layer.W, layer.b)]
    opt = Adam(0.01)
    steps = dense_updates.GradientSteps(opt, kernels, 2)
    assert steps.begin(params, None) and opt.t == 1
    m = opt.state[0]["m"] = np.asfortranarray(rng.normal(size=params[0].shape))  # W is
    assert steps.begin(params, None) and opt.t == 2  # row-major, its m not (a loaded state):
    assert opt.state[0]["m"].flags.c_contiguous  # copied in W's layout, the same numbers
    np.testing.assert_array_equal(opt.state[0]["m"], m)
    kept = params[0]
    params[0] = np.repeat(kept, 2, axis=1)[:, ::2]  # a W with neither rows nor columns
    assert not steps.begin(params, None) and opt.t == 2  # contiguous: not counted, the
    params[0] = kept  # caller's update does
    assert steps.begin(params, None) and opt.t == 3
    layer = layers[0]
    layer.A_prev = np.asfortranarray(rng.normal(size=(4, 6)))  # a batch it cannot read
    dW, db = np.empty_like(layer.W), np.empty_like(layer.b)
    assert not steps(0, layer, rng.normal(size=(4, 5)), dW, db)
    assert not dense_updates.GradientSteps.applies(opt, 1)  # one thread: the usual update
    assert not dense_updates.GradientSteps.applies(type("Own", (Adam,), {})(), 2)


def test_a_loaded_state_in_another_layout_takes_the_kernel_from_its_first_step():
    """scikit-learn's column-major W with a row-major state (as a loaded state comes): copied
    once into W's layout, then every step is the kernel's, as the core's rule takes it."""
    kernels = _kernels()
    rng = np.random.default_rng(2)
    layers = _layers(np.float64, True, rng)
    params = [p for layer in layers for p in (layer.W, layer.b)]
    states = [{"m": rng.normal(size=p.shape), "v": rng.random(p.shape)} for p in params]
    fast, core = Adam(0.01), Adam(0.01)
    for opt in (fast, core):
        opt.t = 3
        opt.state = [{k: np.array(v, order="C") for k, v in s.items()} for s in states]
    steps = dense_updates.GradientSteps(fast, kernels, 2)
    copies = [p.copy(order="K") for p in params]
    assert steps.begin(params, None)
    assert all(s[k].flags.f_contiguous for s in fast.state[::2] for k in ("m", "v"))
    delta, A = rng.normal(size=(7, 5)), rng.normal(size=(7, 6))
    layer = layers[0]
    layer.A_prev = A
    dW, db = np.empty_like(layer.W), np.empty_like(layer.b)
    assert steps(0, layer, delta, dW, db)  # the kernel took it
    core.state = core.state[:2]  # the first layer's W and b, as the kernel stepped them
    core.step(copies[:2], [delta.T @ A / 7, delta.mean(axis=0)])
    for got, want in zip(params[:2] + [fast.state[i][k] for i in (0, 1) for k in ("m", "v")],
                         copies[:2] + [core.state[i][k] for i in (0, 1) for k in ("m", "v")]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def _shared_pool(monkeypatch):
    """Fits as where MKL and numba share 2 TBB threads (the products in MKL)."""
    _kernels()
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread")
    monkeypatch.setenv("MLPLAB_MKL", "on")
    monkeypatch.setenv("MLPLAB_NUMBA", "on")
    monkeypatch.setattr(dense, "shared_pool_threads", lambda: 2)
    calls = []
    spy = dense_updates.GradientSteps.__call__
    monkeypatch.setattr(dense_updates.GradientSteps, "__call__",
                        lambda self, *a: calls.append(spy(self, *a)) or calls[-1])
    return calls


@pytest.mark.parametrize("options", [{}, {"solver": "sgd"},
                                     {"solver": "sgd", "nesterovs_momentum": False}])
def test_the_estimators_fits_end_where_the_cores_end(options, monkeypatch):
    calls = _shared_pool(monkeypatch)
    from mlplab.sklearn import _training

    summed = []  # Σ‖W‖² for the penalty: the kernel's after each update, so computed anew
    spy = _training.squared_weights  # only at each epoch's first batch
    monkeypatch.setattr(_training, "squared_weights", lambda net: summed.append(1) or spy(net))
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(300, 12)), rng.integers(0, 3, 300)

    def fit():
        clf = mlplab.MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, tol=0, random_state=0,
                                   batch_size=64, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return clf.fit(X, y)

    fast = fit()
    assert calls and all(calls)  # each step the kernel took (the output layer's: the tail's)
    assert fast.coefs_[0].flags.c_contiguous  # scikit-learn's layout: W column-major
    assert len(summed) == 4  # 4 epochs of 5 batches
    monkeypatch.setenv("MLPLAB_ACCEL", "off")
    core = fit()
    assert len(summed) == 4 + 20
    for p, q in zip(fast.coefs_ + fast.intercepts_, core.coefs_ + core.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.loss_curve_, core.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("optimizer, callback", [("adam", "l2"), ("momentum", "l1"),
                                                 ("nesterov", None)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_a_networks_fit_ends_where_the_cores_ends(optimizer, callback, dtype, rtol,
                                                  monkeypatch):
    calls = _shared_pool(monkeypatch)
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(90, 5)).astype(dtype), rng.integers(0, 3, 90)
    cbs = {"l2": [mlplab.regularizers.L2(0.01)], "l1": [mlplab.regularizers.L1(0.001)],
           None: []}[callback]
    nets, histories = [], []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 7, 3], activation="tanh", loss="cross_entropy",
                             dtype=dtype, seed=5)
        histories.append(net.fit(X, Y, optimizer=optimizer, learning_rate=0.05, batch_size=16,
                                 max_epochs=5, epsilon=None, seed=6, callbacks=cbs,
                                 accelerate=accelerate))
        nets.append(net)
    assert histories[0].backend.endswith("+tbb-updates") and histories[1].backend == "core"
    assert calls and all(calls)
    for p, q in zip(*(net.params for net in nets)):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=rtol)


def test_a_batch_the_kernel_cannot_read_takes_the_usual_update(monkeypatch):
    """Full batches of a column-major X (as pandas gives it) reach the first layer as they are:
    that layer takes the rule's usual update (the step counted once), the others the kernel."""
    calls = _shared_pool(monkeypatch)
    rng = np.random.default_rng(8)
    X, Y = np.asfortranarray(rng.normal(size=(40, 5))), rng.integers(0, 3, 40)
    nets = []
    for accelerate in (None, False):
        net = mlplab.Network(sizes=[5, 8, 3], activation="tanh", loss="cross_entropy", seed=5)
        net.fit(X, Y, optimizer="adam", learning_rate=0.05, max_epochs=4, epsilon=None,
                callbacks=[mlplab.regularizers.L2(0.01)], accelerate=accelerate)
        nets.append(net)
    assert calls == [True, False] * 4  # output layer by the kernel, first layer as before
    for p, q in zip(*(net.params for net in nets)):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
