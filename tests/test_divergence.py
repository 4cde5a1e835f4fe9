"""The divergence guard: the first NaN/inf stops training, the last finite weights stay."""

import warnings

import numpy as np
import pytest

from mlplab import Callback, DivergenceError, Network
from mlplab.optimizers import GradientDescent

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# Linear regression on inputs of size ~30: gradient descent with α = 1 multiplies the error by
# roughly α·λ_max ≈ 1e3 per step, so the weights explode and overflow within a few dozen steps.
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)) * 30
Y = X @ np.array([[1.0], [2.0], [3.0]])


def linear_net():
    return Network([3, 4, 1], activation="identity", output="identity", seed=0)


def first_nonfinite_step(net, X, Y, learning_rate):
    """Reference without the guard: the first (1-based) step whose cost or updated weights
    hold NaN/inf, the weights before that step (the last finite state), and whether it was
    the cost (then the guard does not take that step)."""
    opt = GradientDescent(learning_rate)
    for step in range(1, 10_000):
        before = [p.copy() for p in net.params]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            A = net.forward(X, training=True)
            cost = net.loss.value(A, Y, net.layers[-1].Z)
            net.backward(Y)
            opt.step(net.params, net.grads)
        if not (np.isfinite(cost) and all(np.isfinite(p).all() for p in net.params)):
            return step, before, not np.isfinite(cost)
    raise AssertionError("did not diverge")


def test_exploding_learning_rate_is_caught_within_one_step():
    k, last_finite, by_cost = first_nonfinite_step(linear_net(), X, Y, 1.0)
    assert k > 2  # it really ran a while before exploding
    net, opt = linear_net(), GradientDescent(1.0)
    h = net.fit(X, Y, optimizer=opt, max_epochs=10_000, epsilon=None, accelerate=True)
    # full batch: one step per epoch; the guard trips at the very step that goes non-finite
    assert h.diverged["epoch"] == k and h.diverged["batch"] == 0
    # it stopped at that step: a step with a NaN/inf cost is not even taken
    assert opt.t == (k - 1 if by_cost else k)
    assert all(np.isfinite(p).all() for p in net.params)
    for p, q in zip(net.params, last_finite):  # same up to the order of rounding
        np.testing.assert_allclose(p, q, rtol=1e-9)
    assert f"epoch {k}, batch 0" in h.stop_reason and "lower the learning rate" in h.stop_reason
    assert "layer" in h.stop_reason or "cost" in h.stop_reason
    assert not h.converged and h.epochs == k


def test_raise_option_gives_divergence_error_with_restored_weights():
    net = linear_net()
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, batch 0.*lower the "
                                              "learning rate.*clip"):
        net.fit(X, Y, learning_rate=1.0, max_epochs=10_000, epsilon=None, on_divergence="raise")
    assert all(np.isfinite(p).all() for p in net.params)


def test_huge_init_overflows_on_the_first_step_and_keeps_the_initial_weights():
    net = Network([3, 4, 1], activation="identity", output="identity", init="normal:1e160",
                  seed=0)
    W0 = [p.copy() for p in net.params]
    h = net.fit(X, Y, learning_rate=0.5, max_epochs=100)
    assert h.diverged["epoch"] == 1 and h.diverged["batch"] == 0
    assert "W⁽" in h.diverged["what"] or "cost" in h.diverged["what"]
    assert all(np.array_equal(p, q) for p, q in zip(net.params, W0))


def test_minibatch_divergence_names_the_batch_and_layer():
    net = linear_net()
    h = net.fit(X, Y, optimizer="sgd", learning_rate=1.0, batch_size=16, max_epochs=1000,
                epsilon=None, seed=0)
    assert h.diverged is not None and 0 <= h.diverged["batch"] < 4
    assert f"batch {h.diverged['batch']}" in h.stop_reason
    assert all(np.isfinite(p).all() for p in net.params)


def test_a_stable_run_is_untouched_by_the_guard():
    net = linear_net()
    h = net.fit(X / 30, Y / 30, learning_rate=0.01, max_epochs=200, epsilon=None)
    assert h.diverged is None and h.epochs == 200 and h.loss[-1] < h.loss[0]


def test_unknown_on_divergence_value_is_a_config_error():
    from mlplab import ConfigError

    with pytest.raises(ConfigError, match="on_divergence must be one of stop, raise"):
        linear_net().fit(X, Y, on_divergence="ignore")


def test_the_compiled_fast_path_hands_divergence_to_the_guarded_loop():
    from mlplab.accel import tiny as fastpath
    from mlplab.optimizers import GradientDescent

    net = linear_net()
    opt = GradientDescent(1.0)
    if fastpath._load() is None:
        pytest.skip("numba unavailable: the fast path is not taken")
    k, last_finite, _ = first_nonfinite_step(linear_net(), X, Y, 1.0)
    h = net.fit(X, Y, optimizer=opt, max_epochs=10_000, epsilon=None)
    assert h.diverged["epoch"] == k and h.epochs == k
    assert h.backend != "numba-tiny"  # the numba loop diverged and handed the run back
    for p, q in zip(net.params, last_finite):  # same up to the order of rounding
        np.testing.assert_allclose(p, q, rtol=1e-9)
    # a stable tiny run stays on the fast path and never sets `diverged`
    ok = linear_net().fit(X / 30, Y / 30, learning_rate=0.01, max_epochs=50, epsilon=None,
                          accelerate=True)
    assert ok.diverged is None and np.isfinite(ok.loss).all() and ok.backend == "numba-tiny"


class _Poison(Callback):
    """After ``batch`` of ``epoch``, writes ``value`` into b⁽¹⁾[0]: an update that overflowed."""

    def __init__(self, epoch, batch, value):
        self.at, self.value, self.starts = (epoch, batch), value, {}

    def on_epoch_begin(self, trainer, epoch):
        self.starts[epoch] = [p.copy() for p in trainer.net.params]

    def on_batch_end(self, trainer, logs):
        if (trainer.epoch, trainer.batch) == self.at:
            trainer.net.layers[1].b[0] = self.value


def relu_net():
    return Network([3, 4, 1], activation="relu", output="identity", init="he_normal", seed=0)


def test_a_nan_weight_stops_the_next_step_and_the_epoch_start_comes_back():
    poison = _Poison(2, 1, np.nan)
    net = relu_net()
    h = net.fit(X / 30, Y / 30, optimizer="sgd", learning_rate=0.01, batch_size=16,
                max_epochs=5, epsilon=None, callbacks=[poison], seed=0)
    assert h.diverged == {"epoch": 2, "batch": 2, "what": h.diverged["what"]}
    assert "b⁽1⁾ (layer 1)" in h.diverged["what"] and "start of epoch 2" in h.stop_reason
    assert all(np.array_equal(p, q) for p, q in zip(net.params, poison.starts[2]))


def test_a_weight_the_cost_cannot_see_is_caught_at_the_end_of_the_epoch():
    # b⁽¹⁾[0] = −inf: relu(−inf) = 0, so every cost stays finite; the epoch's largest
    # change |−inf − b| is not, and the weights from the start of that epoch come back
    poison = _Poison(3, 0, -np.inf)
    net = relu_net()
    h = net.fit(X / 30, Y / 30, optimizer="sgd", learning_rate=0.01, batch_size=16,
                max_epochs=6, epsilon=None, callbacks=[poison], seed=0)
    assert h.diverged["epoch"] == 3 and h.epochs == 3 and np.isfinite(h.loss).all()
    assert "b⁽1⁾ (layer 1)" in h.diverged["what"]
    assert all(np.array_equal(p, q) for p, q in zip(net.params, poison.starts[3]))


class _PoisonLast(Callback):
    """NaN into the last parameter (the output bias) after the last step of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, trainer, logs):
        if trainer.epoch == self.epoch and trainer.batch == len(X) // 16 - 1:
            trainer.net.layers[-1].b[0] = np.nan


@pytest.mark.parametrize("accelerate", [True, False])
def test_a_nan_in_the_last_parameter_is_not_a_convergence(accelerate):
    # after the epoch's last step no cost sees the NaN before the ε test: the epoch's largest
    # change must be NaN (Python's max() over per-array maxima skipped a NaN that came last)
    net = relu_net()
    h = net.fit(X / 30, Y / 30, optimizer="adam", learning_rate=0.01, batch_size=16,
                max_epochs=6, epsilon=1e3, callbacks=[_PoisonLast(1)], seed=0,
                accelerate=accelerate)
    assert h.backend == ("core" if accelerate is False else "numpy-dense")
    assert not h.converged and h.diverged["epoch"] == 1
    assert "b⁽2⁾ (layer 2)" in h.diverged["what"]
    assert all(np.isfinite(p).all() for p in net.params)
