"""Costs (mean over the batch) and output deltas δ⁽ᴸ⁾ = ∂C/∂z⁽ᴸ⁾ per sample."""

import numpy as np
import pytest

from mlplab.activations import get_activation
from mlplab.errors import ConfigError
from mlplab.losses import check_pairing, get_loss

rng = np.random.default_rng(1)


def test_mse_is_half_squared_norm_mean_over_samples():
    a = np.array([[1.0, 2.0], [0.0, 0.0]])
    y = np.array([[0.0, 0.0], [0.0, 1.0]])
    # sample 1: ½(1 + 4) = 2.5; sample 2: ½(0 + 1) = 0.5; mean = 1.5
    assert get_loss("mse").value(a, y) == pytest.approx(1.5)


def test_mse_output_delta_is_the_lectures_formula_exactly():
    g = get_activation("sigmoid")
    z = rng.normal(size=(5, 3))
    a = g.g(z)
    y = rng.uniform(size=(5, 3))
    delta = get_loss("mse").output_delta(z, a, y, g)
    np.testing.assert_array_equal(delta, (a - y) * (a * (1 - a)))  # (a − y) ⊙ σ'(z)


@pytest.mark.parametrize("loss,out,k", [("mse", "sigmoid", 3), ("mse", "identity", 2),
                                        ("mse", "tanh", 2),
                                        ("binary_cross_entropy", "sigmoid", 3),
                                        ("categorical_cross_entropy", "softmax", 4)])
def test_output_delta_is_dC_dz(loss, out, k):
    """Per-sample δ⁽ᴸ⁾ equals m · ∂C/∂z (the cost is the batch mean), by central differences."""
    L, g = get_loss(loss), get_activation(out)
    m = 4
    z = rng.normal(size=(m, k))
    y = np.eye(k)[rng.integers(0, k, m)] if out == "softmax" else rng.integers(0, 2, (m, k)) * 1.0
    delta = L.output_delta(z, g.g(z), y, g)
    h = 1e-6
    numeric = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        numeric[i] = (L.value(g.g(zp), y, zp) - L.value(g.g(zm), y, zm)) / (2 * h)
    np.testing.assert_allclose(delta / m, numeric, rtol=1e-5, atol=1e-9)


def test_cross_entropies_from_logits_stay_finite_where_probabilities_round():
    z = np.array([[800.0], [-800.0]])
    y = np.array([[0.0], [1.0]])
    bce = get_loss("binary_cross_entropy").value(None, y, z)
    assert bce == pytest.approx(800.0)  # each sample costs 800
    z2 = np.array([[1000.0, 0.0, -1000.0]])
    cce = get_loss("categorical_cross_entropy").value(None, np.array([[0.0, 0.0, 1.0]]), z2)
    assert cce == pytest.approx(2000.0)


def test_cross_entropy_picks_binary_or_categorical():
    assert get_loss("cross_entropy", 1).name == "binary_cross_entropy"
    assert get_loss("cross_entropy", 3).name == "categorical_cross_entropy"


def test_pairing_rules():
    with pytest.raises(ConfigError, match="needs output activation 'softmax'"):
        check_pairing(get_loss("categorical_cross_entropy"), get_activation("sigmoid"))
    with pytest.raises(ConfigError, match="softmax output needs"):
        check_pairing(get_loss("mse"), get_activation("softmax"))
    with pytest.raises(ConfigError, match="unknown loss 'hinge'"):
        get_loss("hinge")


@pytest.mark.parametrize("dtype, scale", [(np.float64, 3.0), (np.float32, 3.0),
                                          (np.float32, 200.0), (np.float64, 2000.0)])
def test_softmax_and_cost_together_equal_the_shifted_formulas(dtype, scale):
    """Unshifted exp where the logits allow it, the row-max shift where they do not (scale
    200/2000 overflows exp): the same softmax and cost as the shifted softmax + cce_value."""
    from mlplab.accel.kernels import softmax_cce_into
    from mlplab.activations import softmax
    from mlplab.losses import cce_value

    rng = np.random.default_rng(3)
    z = (rng.normal(size=(37, 6)) * scale).astype(dtype)
    y = np.eye(6, dtype=dtype)[rng.integers(0, 6, 37)]
    y[0] = np.full(6, 1 / 6, dtype)  # a soft target too
    got = np.empty_like(z)
    cost = softmax_cce_into(z, y, got)
    want = softmax(z)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=1e-30)
    assert cost == pytest.approx(cce_value(want, y, z), rel=tol)
    assert got.dtype == dtype and np.isfinite(cost)
