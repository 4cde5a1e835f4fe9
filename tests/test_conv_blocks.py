"""A ReLU convolution and its max pooling a few images at a time (mlplab.accel.conv_blocks)
computes what the two stages compute for the whole batch, and the core's layers too (the
fits of tests/test_accel_conv.py run it where MKL and numba share TBB's threads)."""

import numpy as np
import pytest

from mlplab.core import plugins
from mlplab.core.layers import Conv2D, MaxPool2D
from mlplab.accel import conv_blocks, conv_stages, products

pytestmark = pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off")


def _kernels():
    if products.mkl_kernels() is None:
        pytest.skip("needs numba and MKL with threads (pip install 'mlplab[mkl]')")


def _pair(C, O, size, padding, dtype, seed=0):
    conv = Conv2D(C, O, 3, "relu", padding=padding, rng=np.random.default_rng(seed), dtype=dtype)
    conv.build((C, size, size))
    pool = MaxPool2D(2)
    pool.build(conv.out_shape)
    conv.b[:] = np.random.default_rng(seed + 1).normal(size=O) * 0.1
    return conv, pool


def _whole_batch(conv, pool, a, d_out, need):
    """The two stages, the batch at once: pooled output, ∂C/∂W, ∂C/∂b, ∂C/∂a below."""
    cs, ps = conv_stages.ConvStage(conv, pooled_relu=True), conv_stages.PoolStage(pool, relu=True)
    out = ps.forward(cs.forward(a, True), True).copy()
    dA = cs.backward(ps.backward(d_out, True), need)
    return out, conv.dW.copy(), conv.db.copy(), None if dA is None else dA.copy()


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("padding, size", [("same", 8), (0, 9), (1, 7)])
@pytest.mark.parametrize("threads, cache", [(1, 1 << 20), (2, 1), (3, 20_000)])
def test_blocks_of_images_compute_what_the_whole_batch_computes(dtype, tol, padding, size,
                                                               threads, cache, monkeypatch):
    _kernels()
    monkeypatch.setattr(conv_blocks, "CACHE_BYTES", cache)  # 1 byte: one image a block
    rng = np.random.default_rng(2)
    conv, pool = _pair(3, 5, size, padding, dtype)
    m = 7  # shares of 7 images: 7, 4 + 3, 3 + 2 + 2 (and blocks within them)
    a = rng.normal(size=(3, m, size, size)).astype(dtype)
    d_out = rng.normal(size=(5, m, *pool.out_shape[1:])).astype(dtype)
    for need in (True, False):
        want = _whole_batch(conv, pool, a, d_out, need)
        stage = conv_blocks.ConvPoolStage(conv_stages.ConvStage(conv, pooled_relu=True),
                                          conv_stages.PoolStage(pool, relu=True), threads)
        out = stage.forward(a, True)
        np.testing.assert_allclose(out, want[0], rtol=tol, atol=tol)
        assert conv.Z is None and conv.A is None  # no z for the batch; finite
        np.testing.assert_array_equal(pool.A, out.transpose(1, 0, 2, 3))
        dA = stage.backward(d_out, need)
        np.testing.assert_allclose(conv.dW, want[1], rtol=tol, atol=tol)
        np.testing.assert_allclose(conv.db, want[2], rtol=tol, atol=tol)
        assert conv.dW.flags.c_contiguous and conv.dW.dtype == dtype
        if need:
            np.testing.assert_allclose(dA, want[3], rtol=tol, atol=tol)
        else:
            assert dA is None


def test_a_nan_or_an_infinity_in_z_is_pooled_as_numpy_does_and_marked_for_the_guard():
    _kernels()
    conv, pool = _pair(2, 3, 6, "same", np.float64)
    a = np.random.default_rng(3).normal(size=(2, 4, 6, 6))
    for bad in (np.nan, np.inf):
        a_bad = a.copy()
        a_bad[0, 1, 2, 3] = bad
        with np.errstate(invalid="ignore"):
            want = _whole_batch(conv, pool, a_bad, np.ones((3, 4, 3, 3)), True)[0]
            stage = conv_blocks.ConvPoolStage(conv_stages.ConvStage(conv, pooled_relu=True),
                                              conv_stages.PoolStage(pool, relu=True), 2)
            out = stage.forward(a_bad, True)
        np.testing.assert_array_equal(out, want)  # NaN where NumPy's max has it
        assert conv.Z.shape == (1,) and not np.isfinite(conv.Z[0])  # what the guard checks
        assert np.isnan(conv.Z[0]) or bad == np.inf  # infinities of both signs: NaN too


def test_only_a_relu_convolution_of_stride_1_with_its_2x2_pooling_is_fused():
    _kernels()
    conv, pool = _pair(2, 3, 6, "same", np.float64)
    pair = [conv_stages.ConvStage(conv, pooled_relu=True), conv_stages.PoolStage(pool, True)]
    fused = conv_blocks.fuse(pair, 2)
    assert len(fused) == 1 and isinstance(fused[0], conv_blocks.ConvPoolStage)
    strided = Conv2D(2, 3, 3, "relu", stride=2, padding=1)
    strided.build((2, 6, 6))
    overlapping = MaxPool2D(2, stride=1)
    overlapping.build(conv.out_shape)
    for c, p in ((strided, pool), (conv, overlapping)):
        pair = [conv_stages.ConvStage(c, pooled_relu=True), conv_stages.PoolStage(p, True)]
        assert conv_blocks.fuse(pair, 2) == pair
