"""Gradient clipping by global norm and by value, as on_gradients callbacks."""

import numpy as np
import pytest

from mlplab import ConfigError, Network
from mlplab.clipping import ClipByGlobalNorm, ClipByValue, global_norm


class FakeTrainer:
    def __init__(self, net):
        self.net = net


def net_with_grads(values):
    net = Network([2, 2, 1], seed=0)
    for g, v in zip(net.grads, values):
        g[...] = v
    return net


def test_global_norm_scales_every_gradient_by_the_same_factor():
    net = net_with_grads([3.0, 0.0, 4.0, 0.0])  # W⁽¹⁾ 4 entries of 3, W⁽²⁾ 2 entries of 4
    before = [g.copy() for g in net.grads]
    norm = global_norm(net.grads)
    assert norm == pytest.approx(np.sqrt(4 * 9 + 2 * 16))
    clip = ClipByGlobalNorm(1.0)
    clip.on_train_begin(None)
    clip.on_gradients(FakeTrainer(net))
    assert global_norm(net.grads) == pytest.approx(1.0)
    for g, b in zip(net.grads, before):
        np.testing.assert_allclose(g, b / norm)  # same direction
    assert clip.n_clipped == 1 and clip.last_norm == pytest.approx(norm)


def test_global_norm_leaves_small_gradients_alone():
    net = net_with_grads([0.1, 0.0, 0.1, 0.0])
    clip = ClipByGlobalNorm(10.0)
    clip.on_train_begin(None)
    clip.on_gradients(FakeTrainer(net))
    assert clip.n_clipped == 0
    np.testing.assert_array_equal(net.grads[0], 0.1)


def test_nonfinite_gradients_are_zeroed_not_spread():
    net = net_with_grads([np.inf, 1.0, 1.0, 1.0])
    clip = ClipByGlobalNorm(1.0)
    clip.on_train_begin(None)
    clip.on_gradients(FakeTrainer(net))
    assert clip.n_nonfinite == 1
    assert all(np.all(g == 0) for g in net.grads)


def test_clip_by_value_clips_each_entry():
    net = net_with_grads([np.array([[5.0, -5.0], [0.2, -0.3]]), 0.0, 1.0, 0.0])
    clip = ClipByValue(0.5)
    clip.on_train_begin(None)
    clip.on_gradients(FakeTrainer(net))
    np.testing.assert_array_equal(net.grads[0], [[0.5, -0.5], [0.2, -0.3]])
    np.testing.assert_array_equal(net.grads[2], 0.5)
    assert clip.n_clipped == 2 + 2


def test_clipping_keeps_a_large_learning_rate_from_diverging():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)) * 10
    Y = (X[:, :1] > 0).astype(float) * 100
    options = dict(optimizer="gd", learning_rate=1.0, max_epochs=30, epsilon=None)
    with np.errstate(all="ignore"):
        free = Network([2, 8, 1], activation="relu", loss="mse", seed=0)
        free.fit(X, Y, **options)
        clipped = Network([2, 8, 1], activation="relu", loss="mse", seed=0)
        history = clipped.fit(X, Y, callbacks=[ClipByGlobalNorm(1.0)], **options)
    assert not np.isfinite(free.history.loss[-1]) or free.history.loss[-1] > 1e6
    assert np.isfinite(history.loss[-1]) and history.loss[-1] < history.loss[0]


def test_bad_thresholds_are_named():
    with pytest.raises(ConfigError, match="max_norm"):
        ClipByGlobalNorm(0)
    with pytest.raises(ConfigError, match="clip_value"):
        ClipByValue(-1.0)
