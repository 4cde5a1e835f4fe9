"""A batch whose cost overflows, fitted by an accelerated path and by the core: shared by the
tests of the dense step's fused paths (tests/test_output_tail.py, tests/test_sgd_step.py)."""

import numpy as np
import pytest

import mlplab
from mlplab.errors import DivergenceError


def assert_a_diverging_batch_is_not_stepped(make_optimizer) -> None:
    """Rows 32–47 of the data overflow z: both the accelerated fit and the core's stop there
    with two steps taken and the same weights, and ``on_divergence="raise"`` leaves the step
    uncounted too."""
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    X[40] = 3e38  # its batch's z overflows

    def fit(**options):
        net = mlplab.Network(sizes=[4, 6, 5, 3], activation="relu", loss="cross_entropy",
                             seed=1, dtype="float32")
        opt = make_optimizer()
        history = net.fit(X, Y, optimizer=opt, batch_size=16, max_epochs=3, epsilon=None,
                          shuffle=False, **options)
        return net, history, opt

    (fast, h_fast, o_fast), (core, h_core, o_core) = fit(), fit(accelerate=False)
    assert h_fast.diverged and h_core.diverged and h_fast.epochs == h_core.epochs
    assert o_fast.t == o_core.t == 2  # rows 32-47 diverged: two steps were taken
    for p, q in zip(fast.params, core.params):  # float32; a step would move them by ~0.01
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
    net = mlplab.Network(sizes=[4, 6, 5, 3], activation="relu", loss="cross_entropy", seed=1,
                         dtype="float32")
    opt = make_optimizer()
    with pytest.raises(DivergenceError):  # the guard raises: the step is not counted either
        net.fit(X, Y, optimizer=opt, batch_size=16, max_epochs=3, epsilon=None, shuffle=False,
                on_divergence="raise")
    assert opt.t == 2
    for p, q in zip(net.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
