"""Update rules against values worked out by hand over several steps."""

import numpy as np
import pytest

from mlplab.errors import ConfigError
from mlplab.optimizers import Adam, GradientDescent, Momentum, get_optimizer


def run(opt, steps=3, p0=1.0, grads=(0.5, -1.0, 2.0)):
    p = np.array([p0])
    out = []
    for g in grads[:steps]:
        opt.step([p], [np.array([g])])
        out.append(p[0])
    return out


def test_gradient_descent():
    # p ← p − α g with α = 0.1: 1 − 0.05 = 0.95; 0.95 + 0.1 = 1.05; 1.05 − 0.2 = 0.85
    np.testing.assert_allclose(run(GradientDescent(0.1)), [0.95, 1.05, 0.85])


def test_momentum():
    # v ← 0.9 v − 0.1 g; p ← p + v
    # v₁ = −0.05 → p = 0.95;  v₂ = −0.045 + 0.1 = 0.055 → p = 1.005
    # v₃ = 0.0495 − 0.2 = −0.1505 → p = 0.8545
    np.testing.assert_allclose(run(Momentum(0.1, 0.9)), [0.95, 1.005, 0.8545])


def test_nesterov():
    # v as above; p ← p + 0.9 v − 0.1 g
    # step 1: v = −0.05; p = 1 − 0.045 − 0.05 = 0.905
    # step 2: v = 0.055; p = 0.905 + 0.0495 + 0.1 = 1.0545
    # step 3: v = −0.1505; p = 1.0545 − 0.13545 − 0.2 = 0.71905
    np.testing.assert_allclose(run(Momentum(0.1, 0.9, nesterov=True)), [0.905, 1.0545, 0.71905])


def test_adam():
    # t = 1: m = 0.05, v = 0.00025; m̂ = 0.5, v̂ = 0.25 → step α·0.5/0.5 = α (sign of g)
    out = run(Adam(0.01), steps=1)
    assert out[0] == pytest.approx(1 - 0.01, abs=1e-9)
    # t = 2 (g = −1): m = 0.045 − 0.1 = −0.055, v = 0.00024975 + 0.001 = 0.00124975
    # m̂ = −0.055 / 0.19 = −0.28947, v̂ = 0.00124975 / 0.001999 = 0.625188 → √ = 0.790688
    # p = 0.99 + 0.01 · 0.28947 / 0.790688 = 0.993661
    out = run(Adam(0.01), steps=2)
    assert out[1] == pytest.approx(0.99 + 0.01 * (0.055 / 0.19) / np.sqrt(0.00124975 / 0.001999),
                                   rel=1e-7)
    assert out[1] == pytest.approx(0.993661, abs=1e-6)


def test_optimizers_keep_float32():
    for opt in (GradientDescent(0.1), Momentum(0.1), Adam(0.1)):
        p = np.ones(3, np.float32)
        opt.step([p], [np.ones(3, np.float32)])
        assert p.dtype == np.float32


def test_state_dict_round_trip_continues_identically():
    a, b = Adam(0.01), Adam(0.01)
    pa, pb = np.array([1.0]), np.array([1.0])
    a.step([pa], [np.array([0.3])])
    b.load_state_dict(a.state_dict())
    pb[:] = pa
    a.step([pa], [np.array([-0.7])])
    b.step([pb], [np.array([-0.7])])
    assert pa[0] == pb[0]


@pytest.mark.parametrize("on_params", [True, False])
@pytest.mark.parametrize("accelerate", [None, False])
@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_training_after_loading_a_state_leaves_the_record_alone(name, accelerate, on_params):
    """A fit after ``load_state_dict`` trains in the optimizer's own arrays (the accelerated
    updates change the state in place): the record loaded, e.g. a checkpoint's, stays as it
    was, so it can start a second run from the same place."""
    import mlplab

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    net = mlplab.Network([3, 5, 2], activation="tanh", loss="mse", seed=0)
    first = get_optimizer(name, 0.01)
    net.fit(X, Y, optimizer=first, batch_size=8, max_epochs=2, epsilon=None, seed=1,
            accelerate=accelerate)
    record = first.state_dict()
    kept = [{k: v.copy() for k, v in s.items()} for s in record["state"]]
    again = get_optimizer(name, 0.01)
    again.load_state_dict(record, net.params if on_params else None)
    net.fit(X, Y, optimizer=again, batch_size=8, max_epochs=2, epsilon=None, seed=2,
            accelerate=accelerate)
    assert again.t == first.t + 10  # it went on from the record's state
    for s, k in zip(record["state"], kept):
        for key in s:
            np.testing.assert_array_equal(s[key], k[key])


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), "0.1", True])
def test_learning_rate_must_be_in_0_1(bad):
    with pytest.raises(ConfigError, match=r"learning rate α must be in \(0, 1\]"):
        GradientDescent(bad)


def test_unknown_optimizer_and_options():
    with pytest.raises(ConfigError, match="unknown optimizer 'rmsprop'"):
        get_optimizer("rmsprop", 0.1)
    with pytest.raises(ConfigError, match="takes no option 'momentum'"):
        get_optimizer("gd", 0.1, momentum=0.9)
    with pytest.raises(ConfigError, match="momentum β must be in"):
        get_optimizer("momentum", 0.1, momentum=1.5)
    assert get_optimizer("nesterov", 0.1).nesterov


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_rules_give_the_plain_formulas_bit_for_bit(dtype):
    """The rules write into work arrays instead of temporaries, in the same order of
    operations: the numbers must be exactly those of the textbook NumPy expressions."""
    rng = np.random.default_rng(0)
    shapes = [(5, 4), (5,)]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(4)]

    def plain(rule):
        p = [np.ones(s, dtype) for s in shapes]
        state = [{"v": np.zeros(s, dtype), "m": np.zeros(s, dtype)} for s in shapes]
        for t, gs in enumerate(grads, start=1):
            for q, g, st in zip(p, gs, state):
                rule(q, g, st, t)
        return p

    def gd(p, g, st, t):
        p -= 0.1 * g

    def momentum(nesterov):
        def rule(p, g, st, t):
            st["v"] *= 0.9
            st["v"] -= 0.1 * g
            p += 0.9 * st["v"] - 0.1 * g if nesterov else st["v"]
        return rule

    def adam(p, g, st, t):
        st["m"] *= 0.9
        st["m"] += (1 - 0.9) * g
        st["v"] *= 0.999
        st["v"] += (1 - 0.999) * (g * g)
        step = float(0.1 / (1 - 0.9**t))
        root_c2 = float(np.sqrt(1 - 0.999**t))
        p -= step * st["m"] / (np.sqrt(st["v"]) / root_c2 + 1e-8)

    for opt, rule in ((GradientDescent(0.1), gd), (Momentum(0.1, 0.9), momentum(False)),
                      (Momentum(0.1, 0.9, nesterov=True), momentum(True)), (Adam(0.1), adam)):
        params = [np.ones(s, dtype) for s in shapes]
        for gs in grads:
            opt.step(params, gs)
        for got, want in zip(params, plain(rule)):
            assert got.dtype == dtype and np.array_equal(got, want), type(opt).__name__
