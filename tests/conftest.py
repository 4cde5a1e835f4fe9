"""Fixtures shared by several test modules."""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits


@pytest.fixture
def one_blas_thread():
    """Small matrices: one BLAS thread is many times faster on a shared 2-core machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(params=["numpy", "mkl"])
def products(request, monkeypatch):
    """The accelerated steps' products in NumPy's BLAS, and in MKL for every fit where the
    ``mkl`` extra has it with threads (``MLPLAB_MKL=on``); returns the step names' suffix."""
    if request.param == "numpy":
        monkeypatch.setenv("MLPLAB_MKL", "off")
        return ""
    from mlplab.accel import products

    if products.mkl_library() is None:
        pytest.skip("MKL with threads not installed (pip install 'mlplab[mkl]')")
    monkeypatch.setenv("MLPLAB_MKL", "on")
    return "+mkl"


@pytest.fixture
def no_convergence_warnings():
    """Short fits that stop at max_iter on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _writable(folder) -> bool:
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process may not write in: a folder of mode 0500, or, for root (whom
    modes do not stop), /sys."""
    from pathlib import Path

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        found = next((f for f in (folder, Path("/sys")) if f.is_dir() and not _writable(f)),
                     None)
        if found is None:
            pytest.skip("no folder on this machine refuses this process's writes")
        yield found
    finally:
        folder.chmod(0o700)
