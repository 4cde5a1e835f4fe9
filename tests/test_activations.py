"""g and g' side by side: derivatives against central differences, stability, step."""

import warnings

import numpy as np
import pytest

from mlplab.accel.kernels import softmax_into
from mlplab.activations import ACTIVATIONS, get_activation, sigmoid, softmax
from mlplab.errors import ConfigError

DIFFERENTIABLE = [n for n, a in ACTIVATIONS.items() if a.differentiable and n != "softmax"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_g_prime_matches_central_differences(name):
    g = get_activation(name)
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 200)
    z = z[np.abs(z) > 1e-3]  # keep away from the kinks of relu / leaky_relu
    h = 1e-6
    numeric = (g.g(z + h) - g.g(z - h)) / (2 * h)
    np.testing.assert_allclose(g.g_prime(z), numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_is_stable_at_extremes():
    z = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning fails the test
        s = sigmoid(z)
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[2], 1 / (1 + np.exp(30.0)), rtol=1e-12)


def test_sigmoid_derivative_bound_is_a_quarter():
    g = get_activation("sigmoid")
    z = np.linspace(-10, 10, 20001)
    assert g.g_prime(z).max() == pytest.approx(0.25, abs=1e-12)
    assert g.g_prime(np.array([0.0]))[0] == 0.25


def test_sigmoid_keeps_float32():
    assert sigmoid(np.zeros(3, np.float32)).dtype == np.float32


def test_step_is_the_lectures_sgn_with_zero_derivative():
    g = get_activation("step")
    z = np.array([-2.0, 0.0, 1e-9, 3.0])
    np.testing.assert_array_equal(g.g(z), [0, 0, 1, 1])
    np.testing.assert_array_equal(g.g_prime(z), 0)
    assert not g.differentiable


def test_softmax_rows_sum_to_one_and_survive_large_logits():
    g = get_activation("softmax")
    z = np.array([[1000.0, 1000.0, -1000.0], [1.0, 2.0, 3.0]])
    a = g.g(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_allclose(a[0], [0.5, 0.5, 0.0])
    with pytest.raises(ConfigError, match="cross_entropy"):
        g.g_prime(z)


@pytest.mark.parametrize("dtype, scale", [(np.float64, 3.0), (np.float32, 3.0),
                                          (np.float32, 200.0), (np.float64, 2000.0)])
@pytest.mark.parametrize("in_place", [False, True])
def test_softmax_into_equals_the_shifted_softmax(dtype, scale, in_place):
    """Unshifted exp and BLAS row sums where every |z| allows (scale 3), the row-max shift
    where exp would overflow (scale 200 in float32, 2000 in float64); out may be z."""
    rng = np.random.default_rng(4)
    z = (rng.normal(size=(40, 7)) * scale).astype(dtype)
    want = softmax(z.astype(np.float64))
    out = z if in_place else np.empty_like(z)
    got = softmax_into(z, out)
    assert got is out and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=1e-30 if scale < 100 else 1e-37)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=tol)


def test_aliases_and_unknown_names():
    assert get_activation("logistic").name == "sigmoid"
    assert get_activation("sgn").name == "step"
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        get_activation("swish")
