"""GradientMonitor: what it records, that it matches the network's own gradients, NaN handling."""

import numpy as np
import pytest

from mlplab import ConfigError, Network
from mlplab.layers import BatchNorm, Dense, Input, Residual
from mlplab.monitor import GradientMonitor, measure, stages


def data(seed=0, m=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def test_probe_records_match_the_networks_own_gradients():
    X, y = data()
    net = Network([4, 6, 5, 2], activation="sigmoid", loss="cross_entropy",
                  init="lecun_normal", seed=0)
    expected = net.gradients(X, y)  # {l: (dW, db)} at the start
    monitor = GradientMonitor(every=0, data=(X, y))
    net.fit(X, y, optimizer="gd", learning_rate=0.1, batch_size=10, max_epochs=3, epsilon=None,
            callbacks=[monitor])
    epochs, grad_b = monitor.table("grad_b", "probe")
    assert epochs.tolist() == [0, 1, 2, 3] and grad_b.shape == (4, 2)
    np.testing.assert_allclose(grad_b[0], [np.linalg.norm(expected[l][1]) for l in (1, 2)])
    _, grad_W = monitor.table("grad_W", "probe")
    np.testing.assert_allclose(grad_W[0], [np.linalg.norm(expected[l][0]) for l in (1, 2)])


def test_batch_records_every_k_batches_and_epoch_means():
    X, y = data()
    net = Network([4, 3, 2], activation="relu", loss="cross_entropy", init="he_normal", seed=1)
    monitor = GradientMonitor(every=3)
    net.fit(X, y, optimizer="gd", learning_rate=0.1, batch_size=10, max_epochs=3, epsilon=None,
            callbacks=[monitor])
    # 4 batches per epoch, 12 in all: batches 1, 4, 7, 10 are recorded
    assert [(r.epoch, r.batch) for r in monitor.batch_records] == [(1, 0), (1, 3), (2, 2), (3, 1)]
    epochs, mean_b = monitor.table("grad_b", "epoch")
    assert epochs.tolist() == [1, 2, 3]
    first = [r.values["grad_b"][0] for r in monitor.batch_records[:2]]
    assert mean_b[0, 0] == pytest.approx(np.mean(first))


def test_saturated_and_dead_fractions():
    X, y = data()
    sat = Network([4, 5, 2], activation="sigmoid", loss="cross_entropy", init="normal:20", seed=0)
    sat.gradients(X, y)
    assert measure(sat)["saturated"][0] > 0.8  # weights of scale 20 push every σ to 0 or 1
    calm = Network([4, 5, 2], activation="sigmoid", loss="cross_entropy", init="normal:0.01",
                   seed=0)
    calm.gradients(X, y)
    assert measure(calm)["saturated"][0] == 0.0
    dead = Network([4, 5, 2], activation="relu", loss="cross_entropy", init="he_normal", seed=0)
    dead.layers[1].b[:3] = -100.0  # three units that never fire
    dead.gradients(X, y)
    row = measure(dead)
    assert row["dead"][0] == pytest.approx(3 / 5)
    assert row["saturated"][0] == 0.0 and row["mean_abs_a"][0] > 0


def test_stages_see_through_batchnorm_and_residual_blocks():
    rng = np.random.default_rng(0)
    bn = BatchNorm(5, "sigmoid")
    net = Network.from_layers([Input(4), Dense(4, 5, "identity", rng=rng), bn,
                               Residual([Dense(5, 5, "tanh", rng=rng)]),
                               Dense(5, 2, "softmax", rng=rng)], loss="cross_entropy")
    found = stages(net)
    assert len(found) == 2 and found[0].norm is bn and found[0].out is bn
    X, y = data()
    net.gradients(X, y)
    # the bias below a BatchNorm has gradient 0; the stage reports β's instead
    assert np.linalg.norm(net.layers[1].db) < 1e-12
    assert measure(net)["grad_b"][0] == pytest.approx(np.linalg.norm(bn.dbeta))
    assert measure(net)["grad_b"][0] > 1e-4


def test_probe_leaves_batchnorm_running_statistics_alone():
    def bn_net():
        rng = np.random.default_rng(0)
        return Network.from_layers([Input(4), Dense(4, 5, "identity", rng=rng),
                                    BatchNorm(5, "sigmoid"), Dense(5, 2, "softmax", rng=rng)],
                                   loss="cross_entropy", seed=0)

    X, y = data()
    options = dict(optimizer="gd", learning_rate=0.1, batch_size=10, max_epochs=3, epsilon=None)
    plain, probed = bn_net(), bn_net()
    plain.fit(X, y, **options)
    monitor = GradientMonitor(every=0, data=(X[:7] * 50, y[:7]))  # very different statistics
    probed.fit(X, y, callbacks=[monitor], **options)
    assert len(monitor.probe_records) == 4
    np.testing.assert_array_equal(probed.layers[2].running_mean, plain.layers[2].running_mean)
    np.testing.assert_array_equal(probed.layers[2].running_var, plain.layers[2].running_var)


def test_exploding_gradients_stop_training_with_a_reason():
    X, y = data()
    net = Network([4, 30, 30, 30, 30, 2], activation="relu", loss="cross_entropy",
                  init="normal:30", seed=0)
    monitor = GradientMonitor(every=1)
    with np.errstate(all="ignore"):
        history = net.fit(X * 100, y, optimizer="gd", learning_rate=1.0, batch_size=10,
                          max_epochs=50, epsilon=None, callbacks=[monitor])
    assert monitor.nonfinite_at is not None
    assert history.epochs < 50 and "NaN or infinite" in history.stop_reason


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="every"):
        GradientMonitor(every=-1)
    with pytest.raises(ConfigError, match="records nothing"):
        GradientMonitor(every=0)
    with pytest.raises(ConfigError, match="unknown quantity"):
        GradientMonitor().table("speed")
