"""The recurrent accelerator (mlplab.accel.recurrent) computes what the core's BPTT computes:
to ~1e-15 in float64 (the same formulas; sums over t in one product instead of step by step;
σ as ½ + ½·tanh(z/2)), to float32's rounding in float32; with numba's cells and NumPy's.
The fast side asks for the accelerator (``accelerate=True``), so that these comparisons run
with ``MLPLAB_ACCEL=off`` too."""

import numpy as np
import pytest

import mlplab
from mlplab.accel import recurrent, rnn_cells
from mlplab.callbacks import Callback
from mlplab.clipping import ClipByGlobalNorm
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense

KINDS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}


def _numba():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(params=["numba+mkl", "numba", "numpy"])
def cells(request, monkeypatch):
    """The three ways the kernels compute: whole chunks of steps compiled with MKL's products
    (numba and MKL installed), NumPy steps with numba's cells, NumPy alone."""
    if request.param != "numpy" and not _numba():
        pytest.skip("numba not installed")
    monkeypatch.setattr(rnn_cells, "ENABLED", request.param != "numpy")
    monkeypatch.setattr(rnn_cells, "MKL", request.param == "numba+mkl")
    if request.param == "numba+mkl" and rnn_cells.loops() is None:
        pytest.skip("MKL not installed (pip install 'mlplab[mkl]')")
    return request.param


def stack(kind, sequences, dtype, seed=0, activation=None):
    """Two recurrent layers (the lower returns sequences, so ∂C/∂xₜ flows between kernels)."""
    cls = KINDS[kind]
    options = {"activation": activation} if activation else {}
    head = TimeDense(4, 3, "softmax", rng=np.random.default_rng(seed + 2), dtype=dtype) \
        if sequences else Dense(4, 1, "identity", rng=np.random.default_rng(seed + 2),
                                dtype=dtype)
    layers = [Input((7, 3)),
              cls(3, 5, return_sequences=True, rng=np.random.default_rng(seed), dtype=dtype,
                  **options),
              cls(5, 4, return_sequences=sequences, rng=np.random.default_rng(seed + 1),
                  dtype=dtype, **options), head]
    return mlplab.Network.from_layers(layers, loss="cross_entropy" if sequences else "mse",
                                      seed=seed)


def data(sequences, dtype, m=40):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(m, 7, 3)).astype(dtype)
    y = rng.integers(0, 3, (m, 7)) if sequences else X[:, :, 0].sum(1, keepdims=True)
    return X, y


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_training_equals_the_core(cells, kind, sequences, dtype, rtol):
    X, y = data(sequences, dtype)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=16, max_epochs=4,
              epsilon=None, seed=1)
    fast, core = stack(kind, sequences, dtype), stack(kind, sequences, dtype)
    h_fast, h_core = fast.fit(X, y, accelerate=True, **kw), core.fit(X, y, accelerate=False, **kw)
    assert h_fast.backend == f"numpy-recurrent+{cells}" and h_core.backend == "core"
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=rtol)
        assert p.dtype == dtype
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=rtol)
    assert h_fast.loss[-1] < h_fast.loss[0]  # it learned: the comparison means something


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "leaky_relu", "identity"])
def test_simple_rnn_activations_equal_the_core(cells, activation):
    X, y = data(False, np.float64)
    kw = dict(optimizer="sgd", learning_rate=0.01, batch_size=10, max_epochs=2, epsilon=None)
    fast = stack("rnn", False, np.float64, activation=activation)
    core = stack("rnn", False, np.float64, activation=activation)
    backend = fast.fit(X, y, accelerate=True, **kw).backend
    core.fit(X, y, accelerate=False, **kw)
    looped = cells == "numba+mkl" and activation == "relu"  # the loops compute tanh and relu
    assert backend == f"numpy-recurrent+{'numba+mkl' if looped else cells.split('+')[0]}"
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradients_seen_by_callbacks_are_the_cores(kind):
    X, y = data(False, np.float64)
    seen = {}

    class Reader(Callback):
        def __init__(self, key):
            self.key = key

        def on_gradients(self, trainer):
            seen.setdefault(self.key, []).append([g.copy() for g in trainer.net.grads])

    for accelerate in (True, False):
        stack(kind, False, np.float64).fit(
            X, y, optimizer="sgd", learning_rate=0.05, batch_size=20, max_epochs=2, epsilon=None,
            accelerate=accelerate, callbacks=[Reader(accelerate), ClipByGlobalNorm(0.5)])
    assert len(seen[True]) == len(seen[False]) == 4
    for fast, core in zip(seen[True], seen[False]):
        for g, h in zip(fast, core):
            np.testing.assert_allclose(g, h, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_predict_in_blocks_and_the_state_it_leaves(cells, kind, monkeypatch):
    monkeypatch.setattr(recurrent, "BLOCK_ROWS", 7)  # 40 rows: six blocks of 7 and one of 5
    net = stack(kind, True, np.float64)
    X, _ = data(True, np.float64)
    A = recurrent.predict(net, X)  # what net.predict_proba runs with the accelerator on
    fast_state = net.layers[2].state
    np.testing.assert_allclose(A, net.forward(X), rtol=1e-12)  # the core's forward
    for a, b in zip(fast_state, net.layers[2].state):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_initial_state_is_honoured(cells, kind):
    net = stack(kind, False, np.float64)
    X, _ = data(False, np.float64, m=3)
    rng = np.random.default_rng(9)
    h0 = rng.normal(size=(3, 5))
    net.layers[1].initial_state = (h0, -h0) if kind == "lstm" else h0
    np.testing.assert_allclose(recurrent.predict(net, X), net.forward(X), rtol=1e-12)


def test_padding_runs_the_core():
    net = mlplab.Network.from_layers([Input((7, 3)), LSTM(3, 4, mask_value=0.0), Dense(4, 1)],
                                     loss="mse", seed=0)
    X, y = data(False, np.float64)
    assert not recurrent.applies(net)
    assert net.fit(X, y, max_epochs=1, accelerate=True).backend == "core"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_cells_equal_numpy_cells(dtype):
    if not _numba():
        pytest.skip("numba not installed")
    from mlplab.accel import _rnnkernels as compiled

    rng = np.random.default_rng(3)
    N, H, one = 5, 6, dtype(1)
    u = lambda *shape: rng.uniform(-0.9, 0.9, shape).astype(dtype)  # noqa: E731
    tol = dict(rtol=8 * np.finfo(dtype).eps, atol=4 * np.finfo(dtype).eps)
    cases = {"lstm_cell": (u(N, 4 * H), u(N, H), u(N, H)),
             "lstm_back": (u(N, H), u(N, H), u(N, 4 * H), u(N, H), u(N, H), u(N, 4 * H)),
             "gru_mix": (u(N, 3 * H), u(N, H)), "gru_state": (u(N, 3 * H), u(N, H), u(N, H)),
             "gru_back": (u(N, H), u(N, 3 * H), u(N, H), u(N, H), u(N, 3 * H), u(N, 3 * H),
                          u(N, H))}
    for name, args in cases.items():
        a, b = [x.copy() for x in args], [x.copy() for x in args]
        getattr(compiled, name)(*a, one)
        rnn_cells.NUMPY[name](*b, one)
        for x, y in zip(a, b):  # every array each one wrote
            np.testing.assert_allclose(x, y, **tol, err_msg=name)
            assert x.dtype == dtype


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_long_sequences_equal_the_core(cells, kind):
    # T = 25, two stacked layers, momentum: the products over all 25 steps at once
    cls, rng = KINDS[kind], np.random.default_rng(4)
    X, y = rng.normal(size=(24, 25, 3)), rng.normal(size=(24, 1))

    def net():
        return mlplab.Network.from_layers(
            [Input((25, 3)), cls(3, 6, return_sequences=True, rng=np.random.default_rng(0)),
             cls(6, 5, rng=np.random.default_rng(1)),
             Dense(5, 1, "identity", rng=np.random.default_rng(2))], loss="mse", seed=0)

    kw = dict(optimizer="momentum", learning_rate=0.02, batch_size=8, max_epochs=3,
              epsilon=None, seed=1)
    fast, core = net(), net()
    h_fast, h_core = fast.fit(X, y, accelerate=True, **kw), core.fit(X, y, accelerate=False, **kw)
    assert h_fast.backend == f"numpy-recurrent+{cells}"
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=1e-9)


@pytest.mark.parametrize("env, backend", [("MLPLAB_MKL", "numpy-recurrent+numba"),
                                          ("MLPLAB_NUMBA", "numpy-recurrent+numpy")])
def test_the_environment_switches_the_compiled_parts_off(env, backend, monkeypatch):
    if not _numba():
        pytest.skip("numba not installed")
    monkeypatch.setenv(env, "off")
    X, y = data(False, np.float32)
    net = stack("lstm", False, np.float32)
    assert net.fit(X, y, max_epochs=1, accelerate=True).backend == backend


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_training_from_an_initial_state_equals_the_core(cells, kind):
    X, y = data(False, np.float64, m=12)
    rng = np.random.default_rng(11)
    h0 = rng.normal(size=(12, 5))
    nets = [stack(kind, False, np.float64), stack(kind, False, np.float64)]
    for net in nets:
        net.layers[1].initial_state = (h0, -h0) if kind == "lstm" else h0
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=12, max_epochs=3, epsilon=None)
    backend = nets[0].fit(X, y, accelerate=True, **kw).backend
    nets[1].fit(X, y, accelerate=False, **kw)
    assert backend == f"numpy-recurrent+{cells}"
    for p, q in zip(nets[0].params, nets[1].params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("numba_setting, rule", [("on", "CompiledUpdates"),
                                                 ("off", "InPlaceUpdates")])
def test_the_update_runs_in_place_with_the_cores_numbers(numba_setting, rule, monkeypatch):
    """Adam's step (the estimators' default) as one compiled pass, or NumPy's in place:
    the core's numbers bit for bit, every step."""
    if numba_setting == "on" and not _numba():
        pytest.skip("numba not installed")
    from mlplab.accel import updates

    monkeypatch.setenv("MLPLAB_NUMBA", numba_setting)
    used = []
    for name in ("CompiledUpdates", "InPlaceUpdates"):
        cls = getattr(updates, name)
        monkeypatch.setattr(cls, "__call__", (lambda call, name: lambda self, *a, **k: (
            used.append(name), call(self, *a, **k)))(cls.__call__, name))
    X, y = data(False, np.float64, m=24)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=8, max_epochs=2, epsilon=None,
              seed=1)
    fast, core = stack("lstm", False, np.float64), stack("lstm", False, np.float64)
    fast.fit(X, y, accelerate=True, **kw)
    n_fast = len(used)
    core.fit(X, y, accelerate=False, **kw)
    assert n_fast == 6 and set(used) == {rule}  # 3 batches × 2 epochs, none by the core
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
