"""Convolution, pooling and flatten in the core: a worked example by hand, shapes inferred and
refused, gradient checks for every option (and by hypothesis over random shapes), and the
same numbers as PyTorch's autograd where torch is installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlplab
from mlplab import ConfigError, Network, gradcheck
from mlplab.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPool2D, frozen_masks)


def cnn(in_shape, *layers, n_out=3, seed=0):
    """A network Input → layers → Flatten → Dense(None, n_out, softmax), seeded."""
    return Network.from_layers([Input(in_shape), *layers, Flatten(),
                                Dense(None, n_out, "softmax", "xavier_normal")],
                               loss="cross_entropy", seed=seed)  # the seed draws every W


def data(shape, m=4, k=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, *shape)), rng.integers(0, k, m)


# ------------------------------------------------------------------ worked by hand
def test_forward_and_backward_worked_by_hand():
    layer = Conv2D(1, 1, 2, "identity")
    layer.build((1, 3, 3))
    layer.W[...] = [[[[1, 2], [0, -1]]]]
    layer.b[...] = 0.5
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    z = layer.forward(x)
    # z[y, x] = 1·x[y, x] + 2·x[y, x+1] − x[y+1, x+1] + 0.5: 1 + 4 − 5 + .5, 2 + 6 − 6 + .5, …
    np.testing.assert_array_equal(z[0, 0], [[0.5, 2.5], [6.5, 8.5]])
    dA_prev = layer.backward(np.ones((1, 1, 2, 2)))  # δ = 1 everywhere (identity g)
    # ∂C/∂W[i, j] = Σ_{y,x} δ[y, x]·x[y + i, x + j]: the sums of the four 2×2 corners
    np.testing.assert_array_equal(layer.dW[0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6],
                                                   [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]])
    assert layer.db[0] == 4  # Σ δ
    # full correlation of δ (all ones) with the flipped kernel: each input pixel collects the
    # weights that touched it, e.g. the centre: W11 + W10 + W01 + W00 = −1 + 0 + 2 + 1 = 2
    np.testing.assert_array_equal(dA_prev[0, 0], [[1, 3, 2], [1, 2, 1], [0, -1, -1]])


def test_max_pool_sends_the_gradient_to_the_maximum_and_average_pool_shares_it():
    pool = MaxPool2D(2)
    pool.build((1, 2, 4))
    x = np.array([[[[1.0, 3.0, 2.0, 2.0], [2.0, 0.0, 1.0, 0.0]]]])  # second window: a tie
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[3.0, 2.0]])
    grad = pool.backward(np.array([[[[5.0, 7.0]]]]))
    # the tie goes to the first place of the window, as in PyTorch
    np.testing.assert_array_equal(grad[0, 0], [[0, 5, 7, 0], [0, 0, 0, 0]])
    avg = AvgPool2D(2)
    avg.build((1, 2, 4))
    np.testing.assert_array_equal(avg.forward(x)[0, 0], [[1.5, 1.25]])
    np.testing.assert_array_equal(avg.backward(np.array([[[[4.0, 8.0]]]]))[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2]])


def test_flatten_is_row_major_and_its_backward_reshapes_back():
    layer = Flatten()
    assert layer.build((2, 3, 4)) == (24,)
    x = np.arange(48.0).reshape(2, 2, 3, 4)
    np.testing.assert_array_equal(layer.forward(x), x.reshape(2, 24))
    np.testing.assert_array_equal(layer.backward(x.reshape(2, 24)), x)


# ------------------------------------------------------------------ shapes
def test_the_issues_network_builds_with_inferred_shapes_and_a_summary():
    net = Network.from_layers([Input((1, 8, 8)), Conv2D(1, 8, 3, "relu", padding="same"),
                               MaxPool2D(2), Flatten(), Dense(None, 10, "softmax")],
                              loss="cross_entropy", seed=0)
    assert [layer.out_shape for layer in net.layers] == [(1, 8, 8), (8, 8, 8), (8, 4, 4),
                                                         (128,), (10,)]
    assert net.layers[1].W.shape == (8, 1, 3, 3) and net.layers[4].W.shape == (10, 128)
    text = net.summary()
    assert "Conv2D(1 → 8, 3, relu, padding='same')  output (8, 8, 8), 80 parameters" in text
    assert "MaxPool2D(2)  output (8, 4, 4), 0 parameters" in text
    assert "W (8, 1, 3, 3), b (8,)" in text
    assert text.endswith(f"{80 + 1290} parameters")
    X, y = data((1, 8, 8), m=5, k=10)
    assert net.predict_proba(X).shape == (5, 10)
    assert "Conv2D" in repr(net)


@pytest.mark.parametrize("H, kernel, stride, padding, out", [
    (8, 3, 1, "valid", 6), (8, 3, 1, "same", 8), (8, 4, 1, "same", 8), (8, 3, 2, 1, 4),
    (7, 3, 2, 0, 3), (5, 5, 1, 0, 1), (6, (3, 1), 1, (1, 0), 6),
])
def test_output_sizes_follow_pytorchs_formula(H, kernel, stride, padding, out):
    layer = Conv2D(None, 2, kernel, stride=stride, padding=padding)
    assert layer.build((3, H, H))[1] == out


@pytest.mark.parametrize("layers, match", [
    ([Input(64), Conv2D(1, 4, 3)], r"Conv2D\(1 → 4, 3, relu\) takes feature maps of shape "
                                   r"\(1, H, W\) but receives samples of shape \(64,\)"),
    ([Input((3, 8, 8)), Conv2D(1, 4, 3)], r"takes feature maps of shape \(1, H, W\) but "
                                          r"receives samples of shape \(3, 8, 8\)"),
    ([Input((1, 4, 4)), Conv2D(1, 4, 5)], r"does not fit into maps of shape \(1, 4, 4\)"),
    ([Input((1, 8, 8)), Conv2D(1, 4, 3), Dense(None, 2)], r"put Flatten\(\) before it"),
    ([Input(5), MaxPool2D(2)], r"MaxPool2D\(2\) takes feature maps"),
    ([Input((1, 8, 8)), BatchNorm(3)], r"BatchNorm\(3, identity\) normalizes 3 .* \(1, 8, 8\)"),
    ([Input((2, 4, 4)), Dropout(5)], r"Dropout\(5, p=0.5\) takes samples of shape \(5,\) but "
                                     r"receives \(2, 4, 4\)"),
])
def test_a_wrong_shape_names_the_layer_and_both_shapes(layers, match):
    with pytest.raises(ConfigError, match=match):
        Network.from_layers([*layers, Flatten(), Dense(None, 2, "softmax")],
                            loss="cross_entropy")


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 0}, "kernel_size must be an integer ≥ 1"),
    ({"kernel_size": (3, 3, 3)}, "kernel_size must be an integer or a pair"),
    ({"stride": 2, "padding": "same"}, "padding='same' needs stride 1"),
    ({"padding": "full"}, "padding must be 'valid', 'same'"),
    ({"padding": -1}, "padding must be an integer ≥ 0"),
    ({"activation": "softmax"}, "cannot be softmax"),
    ({"init": "nope"}, "unknown init"),
])
def test_bad_conv_arguments_are_named(kwargs, match):
    args = {"kernel_size": 3, **kwargs}
    with pytest.raises(ConfigError, match=match):
        Conv2D(1, 2, **args)


def test_data_of_the_wrong_image_shape_is_refused_with_the_shape_to_use():
    net = cnn((1, 8, 8), Conv2D(1, 2, 3))
    with pytest.raises(mlplab.DataError, match=r"reshape it to \(m, 1, 8, 8\)"):
        net.predict(np.zeros((3, 64)))


# ------------------------------------------------------------------ gradient checks
# ReLU and max pooling have kinks: the finite differences use a small h so that the 5-point
# stencil (±2h) crosses none of them for these seeds (at the default h = 1e-3 some z of the
# hundreds per layer lie within reach of 0, or some window's two largest values within 2h).
FD_STEP = 1e-5
@pytest.mark.parametrize("conv", [
    dict(kernel_size=3, padding="valid"), dict(kernel_size=3, padding="same"),
    dict(kernel_size=2, padding="same"), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 2)), dict(kernel_size=1),
    dict(kernel_size=3, padding="same", activation="relu"),
    dict(kernel_size=3, padding=1, activation="sigmoid", stride=3),
])
def test_conv_gradients_match_finite_differences(conv):
    conv = {"activation": "tanh", **conv}
    net = cnn((3, 7, 6), Conv2D(3, 4, **conv))
    X, y = data((3, 7, 6))
    result = gradcheck(net, X, y, h=FD_STEP)
    assert result.passed, str(result)


@pytest.mark.parametrize("pool", [MaxPool2D(2), MaxPool2D(3, stride=2), MaxPool2D((2, 3)),
                                  AvgPool2D(2), AvgPool2D(3, stride=1), AvgPool2D((3, 2), 2)])
def test_pooling_between_two_convolutions_passes_the_gradient_check(pool):
    net = cnn((2, 9, 9), Conv2D(2, 3, 3, "tanh", padding="same"), pool,
              Conv2D(None, 2, 2, "tanh", padding=1))
    X, y = data((2, 9, 9))
    result = gradcheck(net, X, y, h=FD_STEP)
    assert result.passed, str(result)
    assert set(result.errors) == {1, 3, 5}  # both convolutions and the dense layer


def test_batch_norm_on_feature_maps_passes_the_gradient_check_with_per_channel_statistics():
    bn = BatchNorm(None, "tanh")
    net = cnn((2, 5, 5), Conv2D(2, 3, 3, "identity", padding="same"), bn)
    bn.gamma[...], bn.beta[...] = [0.5, 1.5, 2.0], [0.1, -0.3, 0.2]
    X, y = data((2, 5, 5), m=6)
    result = gradcheck(net, X, y)
    assert result.passed, str(result)
    assert bn.gamma.shape == (3,) and bn.out_shape == (3, 5, 5)
    Z = net.layers[1].forward(net.check_XY(X, y)[0])
    A = bn.forward(Z, training=True)  # identity before tanh: x̂ has mean 0 per channel
    x_hat = np.arctanh(A) - bn.beta[:, None, None]
    np.testing.assert_allclose((x_hat / bn.gamma[:, None, None]).mean(axis=(0, 2, 3)), 0,
                               atol=1e-12)


def test_dropout_on_feature_maps_with_frozen_masks_passes_the_gradient_check():
    net = cnn((2, 6, 6), Conv2D(2, 3, 3, "tanh", padding="same"), Dropout(None, 0.4, seed=2),
              AvgPool2D(2))
    X, y = data((2, 6, 6))
    with frozen_masks(net, X):
        mask = net.layers[2].mask
        assert mask.shape == (4, 3, 6, 6) and 0 < (mask == 0).mean() < 1
        result = gradcheck(net, X, y)
    assert result.passed, str(result)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(3, 7), st.integers(3, 7),
       st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.sampled_from(["max", "avg"]),
       st.integers(0, 10_000))
def test_gradients_over_random_shapes(c_in, c_out, H, W, k, stride, padding, pool, seed):
    k = min(k, H + 2 * padding, W + 2 * padding)
    conv = Conv2D(c_in, c_out, k, "tanh", stride=stride, padding=padding)
    layers = [conv]
    if min(conv.build((c_in, H, W))[1:]) >= 2:
        layers.append(MaxPool2D(2) if pool == "max" else AvgPool2D(2))
    net = cnn((c_in, H, W), *layers, n_out=2, seed=seed)
    X, y = data((c_in, H, W), m=3, k=2, seed=seed)
    result = gradcheck(net, X, y, h=FD_STEP)
    assert result.passed, str(result)


# ------------------------------------------------------------------ PyTorch's autograd
def _torch_forward(torch, net, X):
    """The network's forward written with torch.nn.functional, from the same arrays."""
    F = torch.nn.functional
    params, a = [], torch.tensor(X)
    for layer in net.layers[1:]:
        if isinstance(layer, Conv2D):
            W, b = (torch.tensor(p, requires_grad=True) for p in (layer.W, layer.b))
            params += [W, b]
            top, bottom, left, right = layer.pads
            z = F.conv2d(F.pad(a, (left, right, top, bottom)), W, b, stride=layer.stride)
            a = torch.relu(z) if layer.g.name == "relu" else torch.tanh(z)
        elif isinstance(layer, (MaxPool2D, AvgPool2D)):
            pool = F.max_pool2d if isinstance(layer, MaxPool2D) else F.avg_pool2d
            a = pool(a, layer.kernel, layer.stride)
        elif isinstance(layer, Flatten):
            a = torch.flatten(a, 1)
        else:
            W, b = (torch.tensor(p, requires_grad=True) for p in (layer.W, layer.b))
            params += [W, b]
            a = a @ W.T + b
    return a, params


@pytest.mark.parametrize("first, pool, second", [
    (dict(kernel_size=3, padding="same"), MaxPool2D(2), dict(kernel_size=3, padding=1)),
    (dict(kernel_size=4, padding="same"), AvgPool2D(2), dict(kernel_size=2, stride=2)),
    (dict(kernel_size=(2, 3), stride=(1, 2)), MaxPool2D(3, 2), dict(kernel_size=1)),
    (dict(kernel_size=5, padding=2, stride=2), AvgPool2D((1, 2)), dict(kernel_size=2, padding=1)),
])
def test_gradients_equal_pytorch_autograd(first, pool, second):
    torch = pytest.importorskip("torch")
    net = cnn((3, 10, 10), Conv2D(3, 4, activation="relu", **first), pool,
              Conv2D(None, 5, activation="tanh", **second), n_out=4)
    X, y = data((3, 10, 10), m=6, k=4)
    grads = net.gradients(X, y)
    logits, params = _torch_forward(torch, net, X)
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    np.testing.assert_allclose(net.forward(X), torch.softmax(logits, 1).detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    ours = [g for l in sorted(grads) for g in grads[l]]
    assert len(ours) == len(params) == 6
    for g, p in zip(ours, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_batch_norm_on_maps_equals_pytorchs_batchnorm2d():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    X, dA = rng.normal(2.0, 3.0, (5, 3, 4, 4)), rng.normal(size=(5, 3, 4, 4))
    bn = BatchNorm(3, momentum=0.8)
    bn.build((3, 4, 4))
    bn.gamma[...], bn.beta[...] = [1.0, 2.0, 0.5], [0.0, 1.0, -1.0]
    ref = torch.nn.BatchNorm2d(3, eps=bn.eps, momentum=0.2, dtype=torch.float64)
    with torch.no_grad():
        ref.weight[...], ref.bias[...] = torch.tensor(bn.gamma), torch.tensor(bn.beta)
    x = torch.tensor(X, requires_grad=True)
    out = ref(x)
    out.backward(torch.tensor(dA))
    np.testing.assert_allclose(bn.forward(X, training=True), out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.backward(dA), x.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(bn.dgamma * 5, ref.weight.grad.numpy(), rtol=1e-12)  # we: mean
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.forward(X[:2]), ref.eval()(torch.tensor(X[:2])).detach(),
                               rtol=1e-12)
