"""The optimized paths give the reference results: the numba loop for tiny networks, the
reused-buffer NumPy hot path, blocked inference; float32 stays float32; no per-batch copies."""

import os
import tracemalloc

import numpy as np
import pytest

import mlplab
from mlplab.accel import tiny as fastpath
from mlplab.callbacks import Callback
from mlplab.errors import DataError
from mlplab import gradcheck
from mlplab.layers import Dense

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0], dtype=float)


def _train(fast, sizes, X, Y, monkeypatch, **kw):
    """Train with the fast path on or off; checks that it was (or was not) taken."""
    monkeypatch.setattr(fastpath, "ENABLED", fast)
    calls, real_fit = [], fastpath.fit
    monkeypatch.setattr(fastpath, "fit", lambda *a: calls.append(1) or real_fit(*a))
    net = mlplab.Network(sizes, **{"seed": 3, **kw.pop("net", {})})
    hist = net.fit(X, Y, optimizer="gd", learning_rate=kw.pop("lr", 0.5), **kw)
    assert len(calls) == fast
    return net, hist


# ------------------------------------------------------------------ tiny networks (numba)
needs_numba = pytest.mark.skipif(fastpath._load() is None, reason="numba not installed")


@needs_numba
@pytest.mark.parametrize("net_kw, Y_kind", [
    ({"activation": "sigmoid", "loss": "mse"}, "xor"),                      # the lecture's
    ({"activation": "tanh", "loss": "mse"}, "xor"),                         # identity output
    ({"activation": "relu", "loss": "mse", "init": "he_normal"}, "xor"),
    ({"activation": "tanh", "loss": "cross_entropy"}, "xor"),               # sigmoid + BCE
    ({"activation": "sigmoid", "loss": "cross_entropy"}, "3 classes"),      # softmax + CCE
])
def test_fast_path_equals_the_numpy_loop(net_kw, Y_kind, monkeypatch):
    X, Y, sizes = XOR_X, XOR_Y, [2, 3, 1]
    if Y_kind == "3 classes":
        X = np.random.default_rng(0).normal(size=(12, 2))
        Y, sizes = np.arange(12) % 3, [2, 4, 3]
    # Same seed, same equations; only the order of the sums differs (BLAS against scalar
    # loops), so after 3000 epochs the weights agree to rounding, not bit for bit.
    fast, h_fast = _train(True, sizes, X, Y, monkeypatch, net=net_kw, max_epochs=3000,
                          epsilon=None)
    ref, h_ref = _train(False, sizes, X, Y, monkeypatch, net=net_kw, max_epochs=3000,
                        epsilon=None)
    for p, q in zip(fast.params, ref.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_fast.loss, h_ref.loss, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(h_fast.max_change, h_ref.max_change, rtol=1e-7, atol=1e-13)
    assert h_fast.epochs == h_ref.epochs == 3000
    assert h_fast.loss[-1] < h_fast.loss[0]  # it learned something: the comparison means it


@needs_numba
def test_fast_path_stops_at_epsilon_like_the_reference(monkeypatch):
    fast, h_fast = _train(True, [2, 2, 1], XOR_X, XOR_Y, monkeypatch, max_epochs=50_000,
                          epsilon=1e-4)
    ref, h_ref = _train(False, [2, 2, 1], XOR_X, XOR_Y, monkeypatch, max_epochs=50_000,
                        epsilon=1e-4)
    assert h_fast.converged and h_ref.converged
    assert h_fast.epochs == h_ref.epochs < 50_000
    assert h_fast.stop_reason == h_ref.stop_reason
    assert fast.history is h_fast
    np.testing.assert_allclose(fast.layers[1].W, ref.layers[1].W, rtol=1e-9)


@needs_numba
def test_fast_path_in_chunks_of_epochs_gives_the_same_run(monkeypatch):
    one, h_one = _train(True, [2, 2, 1], XOR_X, XOR_Y, monkeypatch, max_epochs=2500,
                        epsilon=None)
    monkeypatch.setattr(fastpath, "CHUNK_EPOCHS", 700)  # 4 calls: 700, 700, 700, 400
    chunked, h_chunked = _train(True, [2, 2, 1], XOR_X, XOR_Y, monkeypatch, max_epochs=2500,
                                epsilon=None)
    assert h_chunked.loss == h_one.loss and len(h_one.loss) == h_chunked.epochs == 2500
    assert h_chunked.max_change == h_one.max_change
    for p, q in zip(one.params, chunked.params):
        np.testing.assert_array_equal(p, q)


@needs_numba
def test_fast_path_keeps_float32(monkeypatch):
    X32, Y32 = XOR_X.astype(np.float32), XOR_Y.astype(np.float32)
    fast, _ = _train(True, [2, 2, 1], X32, Y32, monkeypatch, max_epochs=500, epsilon=None)
    ref, _ = _train(False, [2, 2, 1], X32, Y32, monkeypatch, max_epochs=500, epsilon=None)
    for p, q in zip(fast.params, ref.params):
        assert p.dtype == q.dtype == np.float32
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)


def test_fast_path_only_where_it_applies():
    net = mlplab.Network([2, 2, 1], seed=0)
    gd = mlplab.optimizers.GradientDescent(0.5)
    assert not fastpath.applies(net, gd, 4, 2, (), None)  # minibatches
    assert not fastpath.applies(net, mlplab.optimizers.Adam(0.1), 4, 4, (), None)
    assert not fastpath.applies(net, gd, 4, 4, [Callback()], None)
    assert not fastpath.applies(net, gd, 4, 4, (), (XOR_X, XOR_Y))
    big = mlplab.Network([50, 100, 1], seed=0)
    assert not fastpath.applies(big, gd, 1000, 1000, (), None)  # BLAS wins there


# ------------------------------------------------------------------ the NumPy hot path
def _lecture_backprop(net, X, Y):
    """The straightforward implementation: fresh arrays, the equations as written."""
    A, Zs, As = X, [], [X]
    for layer in net.layers[1:]:
        Z = A @ layer.W.T + layer.b
        A = layer.g.g(Z)
        Zs.append(Z)
        As.append(A)
    out = net.layers[-1]
    delta = net.loss.output_delta(Zs[-1], As[-1], Y, out.g)
    grads = []
    for l in range(net.L, 0, -1):
        layer = net.layers[l]
        grads.append((delta.T @ As[l - 1] / len(X), delta.sum(0) / len(X)))
        if l > 1:
            prev = net.layers[l - 1]
            delta = (delta @ layer.W) * prev.g.g_prime(Zs[l - 2])
    return grads[::-1]


@pytest.mark.parametrize("activation, loss", [("relu", "cross_entropy"),
                                              ("sigmoid", "mse"), ("tanh", "cross_entropy")])
def test_hot_path_gradients_equal_the_lecture_formulas(activation, loss):
    rng = np.random.default_rng(1)
    X, labels = rng.normal(size=(37, 5)), rng.integers(0, 3, 37)
    net = mlplab.Network([5, 7, 6, 3], activation=activation, loss=loss, init="xavier_normal",
                         seed=2)
    Y = np.eye(3)[labels]
    for rows in (slice(0, 37), slice(0, 16), slice(16, 32)):  # buffers for two batch sizes
        got = net.gradients(X[rows], Y[rows])
        for l, (dW, db) in enumerate(_lecture_backprop(net, X[rows], Y[rows]), start=1):
            np.testing.assert_allclose(got[l][0], dW, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(got[l][1], db, rtol=1e-12, atol=1e-15)


def test_minibatch_training_equals_a_plain_numpy_loop():
    rng = np.random.default_rng(4)
    X, labels = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    Y = np.eye(3)[labels]
    net = mlplab.Network([4, 8, 3], activation="relu", loss="cross_entropy", init="he_normal",
                         seed=5)
    plain = [[p.copy() for p in layer.params] for layer in net.layers[1:]]
    net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=16, shuffle=False,
            max_epochs=3, epsilon=None)
    ref = mlplab.Network([4, 8, 3], activation="relu", loss="cross_entropy", seed=0)
    for layer, (W, b) in zip(ref.layers[1:], plain):
        layer.W[...], layer.b[...] = W, b
    for _ in range(3):
        for i in range(0, 50, 16):
            for layer, (dW, db) in zip(ref.layers[1:],
                                       _lecture_backprop(ref, X[i:i + 16], Y[i:i + 16])):
                layer.W -= 0.1 * dW
                layer.b -= 0.1 * db
    for a, b in zip(net.params, ref.params):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_gradcheck_passes_on_the_optimized_path_after_float32_training():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    net = mlplab.Network([3, 5, 4, 1], activation="tanh", loss="cross_entropy", seed=7)
    net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=8, max_epochs=5)
    assert net.dtype == np.float32
    assert gradcheck(net, X, Y).passed


def test_float32_stays_float32_end_to_end():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(64, 6)).astype(np.float32)
    Y = rng.integers(0, 4, 64)
    net = mlplab.Network([6, 10, 4], activation="sigmoid", loss="cross_entropy", seed=0)
    seen = []

    class Watch(Callback):
        def on_gradients(self, trainer):
            seen.extend(a.dtype for layer in trainer.net.layers[1:]
                        for a in (layer.Z, layer.A, layer.delta, layer.dW, layer.db))

    net.fit(X, Y, optimizer="sgd", learning_rate=0.5, batch_size=16, max_epochs=2,
            callbacks=[Watch()])
    assert seen and set(seen) == {np.dtype(np.float32)}
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.predict_proba(X).dtype == np.float32


def test_training_reuses_its_arrays_batch_after_batch():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(100, 3)), rng.integers(0, 2, 100)
    net = mlplab.Network([3, 4, 1], activation="tanh", loss="cross_entropy", seed=0)
    ids = []

    class Ids(Callback):
        def on_batch_begin(self, trainer, Xb, Yb):
            ids.append((id(Xb), id(trainer.net.layers[1].Z)))

        def on_batch_end(self, trainer, logs):
            ids.append((ids.pop()[0], id(trainer.net.layers[1].Z)))

    net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=10, max_epochs=2,
            callbacks=[Ids()])
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


# ------------------------------------------------------------------ inference
def test_blocked_predict_equals_one_forward_and_returns_fresh_arrays():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2500, 4))  # > BLOCK_ROWS: three blocks
    net = mlplab.Network([4, 9, 3], activation="relu", loss="cross_entropy", seed=1)
    whole = net.forward(X).copy()
    blocked = net.predict_proba(X)
    np.testing.assert_allclose(blocked, whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(net.predict(X), whole.argmax(1))
    first = net.predict_proba(X[:10])
    kept = first.copy()
    net.predict_proba(X[10:20])
    np.testing.assert_array_equal(first, kept)  # inference results are the caller's to keep
    assert isinstance(net.layers[1], Dense)


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


def test_a_training_forward_returns_an_array_the_next_pass_does_not_overwrite():
    rng = np.random.default_rng(12)
    net = mlplab.Network([3, 5, 2], activation="relu", loss="mse", seed=0)
    X1, X2 = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    a1 = net.forward(X1, training=True)
    kept = a1.copy()
    a2 = net.forward(X2, training=True)  # same batch size: the layers reuse their arrays
    np.testing.assert_array_equal(a1, kept)
    assert not np.array_equal(a1, a2)


# ------------------------------------------------------------------ the step inside the GEMM
def _count_blas_updates(monkeypatch):
    from mlplab.accel import blas as _blas

    calls, real = [], _blas.sgd_step
    monkeypatch.setattr(_blas, "sgd_step", lambda *a: calls.append(1) or real(*a))
    return calls


def test_the_fused_step_is_a_gradient_step_by_finite_differences(monkeypatch):
    """``backward(step=α)`` moves W, b by −α times the float64 finite-difference gradient."""
    from mlplab.accel import blas as _blas

    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(9, 4)), np.eye(3)[rng.integers(0, 3, 9)]
    net = mlplab.Network([4, 6, 5, 3], activation="tanh", loss="cross_entropy", seed=12)
    eps, alpha = 1e-5, 0.3
    numeric = []
    for p in net.params:  # central differences of the mean cost, float64
        g = np.empty_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = net.loss.value(net.forward(X), Y, net.layers[-1].Z)
            p[i] = old - eps
            down = net.loss.value(net.forward(X), Y, net.layers[-1].Z)
            p[i] = old
            g[i] = (up - down) / (2 * eps)
        numeric.append(g)
    before = [p.copy() for p in net.params]
    calls = _count_blas_updates(monkeypatch)
    net.forward(X, training=True)
    net.backward(Y, step=alpha)
    assert len(calls) == 3  # one folded update per layer
    for p, p0, g in zip(net.params, before, numeric):
        np.testing.assert_allclose(p, p0 - alpha * g, rtol=0, atol=1e-9)


@pytest.mark.parametrize("activation, dtype, rtol", [("relu", np.float32, 2e-5),
                                                     ("sigmoid", np.float32, 2e-5),
                                                     ("tanh", np.float64, 1e-12)])
def test_fused_sgd_equals_the_two_pass_update(activation, dtype, rtol, monkeypatch):
    """Same seed, same weights with the step inside the GEMM and with W −= α·dW (NumPy)."""
    from mlplab.accel import blas as _blas

    rng = np.random.default_rng(13)
    X = rng.normal(size=(203, 12)).astype(dtype)  # 203 = 6 batches of 32 and one of 11
    Y = rng.integers(0, 4, 203)
    runs, fused = [], []
    for bound in (True, False):
        monkeypatch.setattr(_blas, "_bound", None if bound else False)
        fused.append(_blas.available())  # binds (and self-tests) before calls are counted
        calls = _count_blas_updates(monkeypatch)
        net = mlplab.Network([12, 16, 8, 4], activation=activation, loss="cross_entropy",
                             init="xavier_normal", seed=14)
        h = net.fit(X, Y, optimizer="sgd", learning_rate=0.2, batch_size=32, max_epochs=4,
                    epsilon=None, seed=15)
        assert net.dtype == dtype
        assert len(calls) == 4 * 7 * 3  # every layer of every batch asked for the fused step
        runs.append((net.params, h.loss))
    if not fused[0]:
        pytest.skip("NumPy's BLAS could not be bound: both runs took the NumPy update")
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=rtol)


def test_w_is_kept_in_fortran_order_and_any_layout_a_user_assigns_trains_the_same():
    """Dense keeps W column-major (``W.T`` is what BLAS multiplies fastest); a W assigned in
    C order (or strided) must give the same fit, through the fused step or NumPy's."""
    rng = np.random.default_rng(22)
    X, Y = rng.normal(size=(70, 6)).astype(np.float32), rng.integers(0, 3, 70)
    fits = []
    for layout in ("F", "C", "strided"):
        net = mlplab.Network([6, 9, 3], activation="relu", loss="cross_entropy", seed=23,
                             dtype=np.float32)
        for layer in net.layers[1:]:
            assert layer.W.flags.f_contiguous and layer.W.T.flags.c_contiguous
            if layout == "C":
                layer.W = np.ascontiguousarray(layer.W)
            elif layout == "strided":
                layer.W = np.repeat(layer.W, 2, axis=1)[:, ::2]
        net.fit(X, Y, optimizer="sgd", learning_rate=0.1, batch_size=16, max_epochs=3,
                epsilon=None, seed=24)
        fits.append([p.copy() for p in net.params])
    for other in fits[1:]:
        for a, b in zip(fits[0], other):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_anyone_reading_the_gradients_gets_the_unfused_path(monkeypatch):
    rng = np.random.default_rng(16)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    seen = []

    class Reader(Callback):
        def on_gradients(self, trainer):
            seen.append(float(np.abs(trainer.net.layers[1].dW).sum()))

    for optimizer, callbacks in (("sgd", [Reader()]), ("momentum", []), ("adam", [])):
        calls = _count_blas_updates(monkeypatch)
        net = mlplab.Network([3, 4, 1], activation="tanh", loss="cross_entropy", seed=0)
        net.fit(X, Y, optimizer=optimizer, learning_rate=0.1, batch_size=10, max_epochs=2,
                callbacks=callbacks)
        assert calls == [], optimizer
    assert len(seen) == 8 and all(s > 0 for s in seen)  # real gradients every batch


@pytest.mark.parametrize("order", ["C", "F"])
def test_blas_update_matches_numpy_and_refuses_what_it_cannot_read(order):
    """Both layouts of C: row-major, and Fortran order (how Dense keeps W: Cᵀ is updated)."""
    from mlplab.accel import blas as _blas

    if not _blas.available():
        pytest.skip("NumPy's BLAS could not be bound")
    rng = np.random.default_rng(17)
    for dtype in (np.float32, np.float64):
        big = rng.normal(size=(6, 9)).astype(dtype)
        D, A = big[:, :4], rng.normal(size=(6, 5)).astype(dtype)  # D: rows 9 apart
        W = np.array(rng.normal(size=(4, 5)), dtype=dtype, order=order)
        b, v = rng.normal(size=4).astype(dtype), np.full(6, 0.5, dtype)
        W_ref, b_ref = W - 0.25 * D.T @ A, b - 0.25 * v @ D
        assert _blas.gemm_update(-0.25, D, A, W) and _blas.gemv_update(-0.25, D, v, b)
        assert W.flags[f"{order}_CONTIGUOUS"]
        tol = 1e-5 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(W, W_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(b, b_ref, rtol=tol, atol=tol)
    W = np.array(rng.normal(size=(4, 5)), order=order)
    D, A = rng.normal(size=(6, 4)), rng.normal(size=(6, 5))
    before = W.copy()
    assert not _blas.gemm_update(-1.0, D, np.asfortranarray(A), W)  # columns not contiguous
    assert not _blas.gemm_update(-1.0, D, A.astype(np.float32), W)  # mixed dtypes
    strided = np.zeros((4, 10))[:, ::2]
    assert not _blas.gemm_update(-1.0, D, A, strided)  # C neither row- nor column-major
    assert not strided.any()
    assert not _blas.gemm_update(-1.0, D[:0], A[:0], W)  # no rows
    assert np.array_equal(W, before)


def test_the_blas_binding_can_be_switched_off_and_the_numpy_step_is_the_same():
    import json
    import subprocess
    import sys

    code = ("import json, numpy as np, mlplab; from mlplab.accel import blas as _blas\n"
            "X = np.random.default_rng(0).normal(size=(64, 5)); y = (X[:, 0] > 0).astype(int)\n"
            "net = mlplab.Network([5, 6, 2], activation='relu', loss='cross_entropy', seed=1)\n"
            "net.fit(X, y, optimizer='sgd', learning_rate=0.1, batch_size=16, max_epochs=3)\n"
            "print(json.dumps([_blas.available(), net.layers[1].W.tolist()]))")
    runs = {}
    for env in ("numpy", ""):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ, "MLPLAB_BLAS": env})
        runs[env] = json.loads(out.stdout)
    assert runs["numpy"][0] is False  # MLPLAB_BLAS=numpy: never bound
    np.testing.assert_allclose(runs["numpy"][1], runs[""][1], rtol=1e-12, atol=1e-14)


def test_a_step_inside_backward_needs_dense_layers_only():
    from mlplab.layers import with_dropout

    net = with_dropout(mlplab.Network([3, 4, 2], activation="relu", seed=0), p=0.5, seed=0)
    X, Y = np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]]
    net.forward(X, training=True)
    with pytest.raises(mlplab.ConfigError, match="dense layers only"):
        net.backward(Y, step=0.1)


def test_a_learning_rate_changed_by_a_callback_takes_effect_on_the_fused_path(monkeypatch):
    rng = np.random.default_rng(18)
    X, Y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)

    class Schedule(Callback):  # α = 0.3, 0.15, 0.1, …: what scikit-learn's invscaling does
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.optimizer.learning_rate = 0.3 / (epoch + 1)

    class Reader(Callback):  # reads the gradients: the optimizer takes the step instead
        def on_gradients(self, trainer):
            pass

    runs = []
    for extra in ([], [Reader()]):
        calls = _count_blas_updates(monkeypatch)
        net = mlplab.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=19)
        net.fit(X, Y, optimizer="sgd", learning_rate=0.3, batch_size=20, max_epochs=5,
                epsilon=None, callbacks=[Schedule(), *extra], seed=20)
        assert len(calls) == (0 if extra else 5 * 3 * 2)
        runs.append(net.params)
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fit_keeps_no_reference_to_the_data_in_its_prepared_blas_calls(monkeypatch):
    import gc
    import weakref

    from mlplab.accel import blas as _blas

    monkeypatch.setattr(fastpath, "ENABLED", False)  # the NumPy loop, full batch
    X = np.random.default_rng(21).normal(size=(50, 3))
    Y = (X[:, 0] > 0).astype(float)
    net = mlplab.Network([3, 4, 1], activation="tanh", loss="cross_entropy", seed=0)
    calls = _count_blas_updates(monkeypatch)
    net.fit(X, Y, optimizer="gd", learning_rate=0.1, max_epochs=3, epsilon=None)
    assert len(calls) == 3 * 2  # the fused step ran, its prepared calls reading X
    if _blas.available():  # the prepared calls are kept for the next fit
        assert any(layer in _blas._plans for layer in net.layers)
    for layer in net.layers:  # what the estimators do before pickling
        for name in ("A_prev", "Z", "A", "delta"):
            setattr(layer, name, None)
    ref = weakref.ref(X)
    del X
    gc.collect()
    assert ref() is None  # mlplab._blas no longer holds the data set
