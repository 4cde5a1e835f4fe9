"""One flat buffer for a dense network's parameters and one for its gradients."""

import copy
import pickle

import numpy as np
import pytest

import mlplab
from mlplab.optimizers import Optimizer
from mlplab.accel.flat import ALIGN


def _net(dtype="float64", seed=0):
    return mlplab.Network([5, 7, 6, 3], activation="tanh", loss="cross_entropy", seed=seed,
                          dtype=dtype)


def test_every_dense_array_is_a_view_into_the_flat_buffers():
    net = _net()
    flat = net.flat_parameters()
    assert flat is not None
    for layer in net.layers[1:]:
        for a, buf in ((layer.W, flat.p), (layer.b, flat.p), (layer.dW, flat.g),
                       (layer.db, flat.g)):
            assert a.base is buf and np.shares_memory(a, buf)
            assert (a.ctypes.data - buf.ctypes.data) % (ALIGN * a.itemsize) == 0
        assert layer.W.flags.f_contiguous  # W.T row-major, as Dense keeps it
    n = sum(p.size for p in net.params)
    assert n <= flat.p.size < n + ALIGN * len(net.params)
    assert np.count_nonzero(flat.p) == np.count_nonzero(np.concatenate(
        [p.ravel() for p in net.params]))  # the gaps between pieces are 0


@pytest.mark.parametrize("optimizer, options, batch_size", [
    ("sgd", {}, 16), ("momentum", {}, 16), ("nesterov", {}, None), ("adam", {}, 16),
    ("adam", {}, None)])
def test_one_update_over_the_buffer_equals_one_per_array_bit_for_bit(optimizer, options,
                                                                     batch_size, monkeypatch):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    calls = []
    real = Optimizer._flat_step
    monkeypatch.setattr(Optimizer, "_flat_step",
                        lambda self, p, f: calls.append(1) or real(self, p, f))

    class Reader(mlplab.Callback):  # reads the gradients: no fused SGD step, the optimizer runs
        def on_gradients(self, trainer):
            pass

    fits = []
    for per_array in (False, True):
        net = _net()
        if per_array:  # W assigned by hand: the layers no longer hold the flat views
            for layer in net.layers[1:]:
                layer.W = layer.W.copy(order="K")
            assert net.flat_parameters() is None
        calls.clear()
        h = net.fit(X, y, optimizer=optimizer, learning_rate=0.05, batch_size=batch_size,
                    max_epochs=4, epsilon=None, seed=2, callbacks=[Reader()], **options)
        steps = 4 * (1 if batch_size is None else 4)
        assert len(calls) == (0 if per_array else steps)
        fits.append((net.params, h.loss, h.max_change))
    for a, b in zip(fits[0][0], fits[1][0]):
        np.testing.assert_array_equal(a, b)
    assert fits[0][1:] == fits[1][1:]


def test_the_optimizer_state_keeps_its_per_array_shapes_for_files():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    net = _net()
    opt = mlplab.optimizers.Adam(0.01)
    net.fit(X, y, optimizer=opt, batch_size=8, max_epochs=2, epsilon=None,
            callbacks=[mlplab.EpochHook(lambda *a: None)])
    state = opt.state_dict()
    assert [s["m"].shape for s in state["state"]] == [p.shape for p in net.params]
    flat = net.flat_parameters()
    for s, p in zip(opt.state, net.params):  # views into the flat moments, laid out like p
        assert s["m"].base is opt._flat_state["m"] and s["m"].strides == p.strides
    resumed = mlplab.optimizers.Adam(0.01)
    resumed.load_state_dict(state)
    twin = copy.deepcopy(net)
    for o, n in ((opt, net), (resumed, twin)):
        n.fit(X, y, optimizer=o, batch_size=8, max_epochs=1, epsilon=None, seed=4)
    for a, b in zip(net.params, twin.params):
        np.testing.assert_array_equal(a, b)
    assert flat is net.flat_parameters()


def test_copies_and_pickles_get_their_own_buffers():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    net = _net()
    before = [p.copy() for p in net.params]
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        flat = twin.flat_parameters()
        assert flat is not None and not np.shares_memory(flat.p, net.flat_parameters().p)
        twin.fit(X, y, optimizer="adam", learning_rate=0.05, batch_size=10, max_epochs=3)
        assert not np.array_equal(twin.params[0], before[0])
        for p, p0 in zip(net.params, before):
            np.testing.assert_array_equal(p, p0)  # the original is untouched


def test_a_w_assigned_by_hand_is_the_one_trained():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    net = _net()
    mine = np.array(net.layers[1].W, order="C")
    net.layers[1].W = mine
    assert net.flat_parameters() is None
    net.fit(X, y, optimizer="adam", learning_rate=0.05, batch_size=10, max_epochs=3)
    assert net.layers[1].W is mine and not np.allclose(mine, _net().layers[1].W)


def test_a_cast_rebuilds_the_buffers_in_the_new_dtype():
    net = _net()
    values = [p.copy() for p in net.params]
    net.astype(np.float32)
    flat = net.flat_parameters()
    assert flat is not None and flat.p.dtype == np.float32 and flat.g.dtype == np.float32
    for p, v in zip(net.params, values):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, v, rtol=1e-6)


def test_stacks_with_other_layers_have_no_flat_buffer():
    from mlplab.layers import with_dropout

    assert with_dropout(_net(), p=0.2, seed=0).flat_parameters() is None
