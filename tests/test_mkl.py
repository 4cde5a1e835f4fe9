"""MKL's packed products and vector tanh as mlplab binds them (mlplab.accel.mkl), against NumPy;
the switch that keeps MKL out. Skipped where the ``mkl`` extra is not installed."""

import numpy as np
import pytest

from mlplab.accel import mkl
from mlplab.core import plugins
from mlplab.errors import ConfigError


def _binding():
    b = mkl.binding()
    if b is None:
        pytest.skip("MKL not installed (pip install 'mlplab[mkl]')")
    return b


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_packed_product_on_row_blocks_equals_numpy(dtype, tol, beta):
    _binding()
    pytest.importorskip("numba")
    from mlplab.accel import _rnnloops

    rng = np.random.default_rng(0)
    B = rng.normal(size=(6, 9)).astype(dtype)
    big_A = rng.normal(size=(8, 11)).astype(dtype)  # rows 2..6 of its first 6 columns: lda 11
    A = big_A[2:7, :6]
    big_C = rng.normal(size=(7, 12)).astype(dtype)  # a block of a wider array: ldc 12
    C = big_C[1:6, :9]
    want = A @ B + beta * C
    packed = mkl.Packed(mkl.binding(), B, rows=5)
    _rnnloops._product(dtype == np.float32, A, packed.buffer, C, dtype(beta))
    np.testing.assert_allclose(C, want, rtol=tol, atol=tol)
    untouched = big_C.copy()
    untouched[1:6, :9] = C
    np.testing.assert_array_equal(big_C, untouched)  # nothing written outside the block
    B2 = 2 * B
    packed.pack(B2)  # re-packed in place: the new values count
    C[...] = 0
    _rnnloops._product(dtype == np.float32, A, packed.buffer, C, dtype(0))
    np.testing.assert_allclose(C, A @ B2, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_tanh_is_within_an_ulp_or_two(dtype):
    b = _binding()
    x = np.linspace(-20, 20, 4001).astype(dtype)
    out = np.empty_like(x)
    getattr(b, ("s" if dtype == np.float32 else "d") + "tanh")(len(x), x.ctypes.data,
                                                               out.ctypes.data, mkl.VML_LA)
    np.testing.assert_allclose(out, np.tanh(x), rtol=4 * np.finfo(dtype).eps,
                               atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("value, installed, error", [
    ("off", True, None), ("fast", True, "MLPLAB_MKL='fast' is not one of auto, on, off"),
    ("auto", False, None), ("on", False, "MLPLAB_MKL=on, but no usable MKL .*mlplab\\[mkl\\]")])
def test_the_mlplab_mkl_switch(monkeypatch, value, installed, error):
    if not installed:
        monkeypatch.setitem(mkl._state, "lib", None)  # as where it is not installed
    monkeypatch.setenv("MLPLAB_MKL", value)
    if error is None:
        assert mkl.binding() is None  # off, or auto without MKL: the NumPy steps run
    else:
        with pytest.raises(ConfigError, match=error):
            mkl.binding()


def test_a_library_failing_its_self_test_is_not_used(monkeypatch):
    _binding()
    monkeypatch.delitem(mkl._state, "lib")
    monkeypatch.setattr(mkl, "_self_test", lambda lib: False)
    assert mkl.binding() is None


def test_one_thread_for_an_mkl_its_owner_runs_with_threads(monkeypatch):
    b = _binding()
    monkeypatch.setattr(b, "sequential", False)  # as when NumPy's own MKL was set up first
    before = b._local(0)
    b._local(before)
    with b.one_thread():
        assert b._local(1) == 1  # this thread's MKL calls: one thread
    assert b._local(before) == before  # restored on the way out


def test_a_packed_buffer_refuses_another_shape():
    b = _binding()
    packed = mkl.Packed(b, np.ones((4, 6), np.float32), rows=3)
    with pytest.raises(ValueError, match="into a buffer for float32 \\(4, 6\\)"):
        packed.pack(np.ones((6, 4), np.float32))


def test_the_newest_library_of_the_environment_comes_first(tmp_path, monkeypatch):
    # the mkl wheel of 2026 ships libmkl_rt.so.3, 2024–2025 libmkl_rt.so.2: a venv's own
    # comes before the base Python's
    venv, base = tmp_path / "venv", tmp_path / "base"
    for folder, names in ((venv, ["libmkl_rt.so.2", "libmkl_rt.so.3", "libmkl_rt.so"]),
                          (base, ["libmkl_rt.so.3"])):
        (folder / "lib").mkdir(parents=True)
        for name in names:
            (folder / "lib" / name).write_bytes(b"")
    monkeypatch.setattr(mkl.sys, "prefix", str(venv))
    monkeypatch.setattr(mkl.sys, "base_prefix", str(base))
    monkeypatch.setattr(mkl.site, "getuserbase", lambda: str(tmp_path / "user"))
    found = [p for p in mkl._library_paths() if p.startswith(str(tmp_path))]
    assert found == [str(venv / "lib" / "libmkl_rt.so.3"), str(venv / "lib" / "libmkl_rt.so.2"),
                     str(venv / "lib" / "libmkl_rt.so"), str(base / "lib" / "libmkl_rt.so.3")]


def _mkl_products():
    from mlplab.accel import products

    lib = products.mkl_library()
    if lib is None:
        pytest.skip("MKL with threads not installed (pip install 'mlplab[mkl]')")
    return products, lib


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_the_products_in_mkl_equal_numpys_for_every_layout_the_steps_pass(dtype, tol):
    products, lib = _mkl_products()
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 5)).astype(dtype)
    W = rng.normal(size=(6, 5)).astype(dtype)
    wide = rng.normal(size=(6, 9)).astype(dtype)  # a block of its columns: rows of stride 9
    cases = {"plain": (A, W.T.copy()), "transposed": (A, W.T),
             "F-ordered": (np.asfortranarray(A), W.T),
             "column block, transposed": (A[:, :5], wide[:, :5].T),
             "one column": (A[:, :1], W[:, :1].T), "one row": (A[:1], W.T)}
    prepared = products.Products(lib)
    for name, (X, Y) in cases.items():
        for order in "CF":  # a column-major out: a gradient of a column-major W
            out = np.full((X.shape[0], Y.shape[1]), np.nan, dtype, order=order)
            assert products.matmul(X, Y, out, lib) is out, name
            np.testing.assert_allclose(out, X @ Y, rtol=tol, atol=tol, err_msg=name)
            for _ in range(2):  # prepared once, then called again from the plan
                out[...] = np.nan
                assert prepared(X, Y, out) is out
                np.testing.assert_allclose(out, X @ Y, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("threads", [2, 3])
def test_a_long_inner_dimension_in_blocks_on_threads_sums_to_the_product(dtype, tol, threads):
    """InnerSplit: a convolution's ∂C/∂W = δ colsᵀ (and the other layouts a step may pass) as
    blocks of the inner dimension, one MKL call each on numba's threads, summed: the product,
    the same numbers at every call; a product whose inner dimension is not long is matmul's."""
    products, lib = _mkl_products()
    pytest.importorskip("numba")
    split = products.InnerSplit(lib, threads)
    assert split.threads == threads
    rng = np.random.default_rng(3)
    delta = rng.normal(size=(5, 1001)).astype(dtype)
    cols = rng.normal(size=(7, 1001)).astype(dtype)
    cases = {"δ colsᵀ": (delta, cols.T), "plain": (delta, cols.T.copy()),
             "transposed A": (delta.T.copy().T, cols.T),
             "column block": (np.hstack([delta, delta])[:, :1001], cols.T)}
    for name, (X, Y) in cases.items():
        assert split.worth(X, Y), name
        for order in "CF":
            out = np.full((5, 7), np.nan, dtype, order=order)
            assert split(X, Y, out) is out
            np.testing.assert_allclose(out, X @ Y, rtol=tol, atol=tol * 30, err_msg=name)
            again = np.empty_like(out)
            np.testing.assert_array_equal(split(X, Y, again), out)
    square = rng.normal(size=(40, 40)).astype(dtype)
    assert not split.worth(square, square)
    out = np.empty((40, 40), dtype)
    np.testing.assert_array_equal(split(square, square, out),
                                  products.matmul(square, square, np.empty_like(out), lib))
    for one in (products.InnerSplit(lib, 1), products.InnerSplit(None, threads)):
        assert one.threads == 1 and not one.worth(delta, cols.T)  # one thread, or NumPy's BLAS


def test_a_product_mkl_cannot_take_is_numpys():
    products, lib = _mkl_products()
    A = np.arange(12.0).reshape(3, 4)
    out = np.empty((3, 3))
    for X, Y in ((A[:, ::2], np.ones((2, 3))),      # no contiguous axis: NumPy's matmul
                 (A.astype(np.float32), np.ones((4, 3)))):  # a dtype other than out's
        np.testing.assert_array_equal(products.matmul(X, Y, out, lib), X @ Y)
    B = np.ones((4, 4))
    for X, out in ((B, B), (B, B.T)):  # out is an input: NumPy's matmul, which buffers
        assert products._matmul_call(X, np.eye(4), out, lib) is None
    out_view = np.empty((3, 6))[:, ::2]  # out neither C- nor F-contiguous
    np.testing.assert_array_equal(products.matmul(A, np.ones((4, 3)), out_view, lib),
                                  A @ np.ones((4, 3)))


@pytest.mark.skipif(not plugins.accelerators(), reason="MLPLAB_ACCEL=off: no accelerated fit")
@pytest.mark.parametrize("numpy_threads, seen_calls", [(1, [1, 3]), (None, [])])
@pytest.mark.parametrize("raises", [False, True])
def test_a_fit_gives_mkl_numpys_thread_count_in_its_thread_and_restores_it(
        monkeypatch, numpy_threads, seen_calls, raises):
    """The one setting: the limit on NumPy's BLAS holds for MKL's products, in the fitting
    thread only, and ends with the fit, also one that raised; where NumPy's BLAS cannot be
    told (a NumPy outside its own wheel), MKL's own count is left as it is."""
    import mlplab
    from mlplab.accel import threads
    from mlplab.callbacks import Callback

    _mkl_products()
    b = mkl.binding()
    seen = []
    real = b._local

    def spy(n):
        seen.append(n)
        return real(n)

    class Fails(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            raise RuntimeError("a callback failed")

    monkeypatch.setattr(b, "_local", spy)
    monkeypatch.setenv("MLPLAB_MKL", "on")
    monkeypatch.setattr(threads, "numpy_blas_threads", lambda: numpy_threads)
    X = np.random.default_rng(0).normal(size=(40, 3))
    before = real(3)  # this thread's own setting before the fit: 3
    try:
        net = mlplab.Network([3, 4, 2], seed=0)
        if raises:
            with pytest.raises(RuntimeError, match="a callback failed"):
                net.fit(X, X[:, 0] > 0, max_epochs=2, batch_size=8, callbacks=[Fails()])
        else:
            h = net.fit(X, X[:, 0] > 0, max_epochs=2, batch_size=8)
            assert "+mkl" in h.backend
        assert seen == seen_calls  # NumPy's limit for the fit, then this thread's own again
        assert real(3) == 3
    finally:
        real(before)


def test_mlplab_mkl_off_is_read_on_every_fit_even_after_mkl_was_loaded(monkeypatch):
    from mlplab.accel import products

    _mkl_products()  # MKL loaded and cached

    class Run:  # a fit large enough for MKL, as for_fit sees it
        batch_size, max_epochs, m = 1000, 100, 60_000
        net = type("Net", (), {"params": [np.zeros((1000, 1000))]})()

    assert products.for_fit(Run())[0] is not None
    monkeypatch.setenv("MLPLAB_MKL", "off")
    lib, threads = products.for_fit(Run())
    assert lib is None and products.mkl_library() is None
    with threads:  # nothing to set
        pass
    monkeypatch.setenv("MLPLAB_MKL", "auto")
    Run.batch_size = 10  # 10 rows × 1e6 parameters = 1e7 ≥ PRODUCT_WORK: still large
    assert products.for_fit(Run())[0] is not None
    Run.net = type("Net", (), {"params": [np.zeros((10, 10))]})()  # small products: NumPy
    assert products.for_fit(Run())[0] is None


def test_tbb_is_chosen_only_where_a_run_of_mkl_on_it_works(tmp_path):
    """MKL ends the process it runs in when it cannot load its threading layer: TBB is tried in
    a process of its own first, and anything short of a right product is sequential MKL."""
    b = _binding()
    assert mkl._threading("libmkl_rt.so.2") == mkl.SEQUENTIAL  # a bare name: nothing beside
    fake = tmp_path / "libmkl_rt.so.3"
    fake.write_bytes(b"")
    assert mkl._threading(str(fake)) == mkl.SEQUENTIAL  # no libtbb beside it
    (tmp_path / "libtbb.so.12").write_bytes(b"not a library")
    assert mkl._threading(str(fake)) == mkl.SEQUENTIAL  # the separate run fails: no abort here
    import glob
    import os

    if glob.glob(os.path.join(os.path.dirname(os.path.realpath(b.path)), "libtbb.so.12*")):
        assert mkl._threading(b.path) == mkl.TBB  # the wheel's own: TBB
