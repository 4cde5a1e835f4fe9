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


@pytest.fixture
def no_convergence_warnings():
    """Short fits that stop at max_iter on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
