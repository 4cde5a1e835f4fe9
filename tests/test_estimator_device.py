"""MLPClassifier/MLPRegressor(device=...): the network trains on PyTorch tensors (on the CPU
here, on a GPU in the tests that skip without one) and on array_api_strict (the array API
standard's conformance library, which refuses NumPy-only calls), and ends with the numbers of
device='cpu' to float64 rounding, scikit-learn's conventions kept: NumPy out, pickles that
load anywhere."""

import pickle
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning

from mlplab import MLPClassifier, MLPRegressor
from mlplab.core.xp import Place
from mlplab.errors import ConfigError

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

RTOL, ATOL = 1e-10, 1e-12  # float64 rounding: the libraries sum in different orders
LBFGS_RTOL = 1e-8  # L-BFGS-B's line search amplifies the last bits over its iterations


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(params=["torch", "array_api_strict"])
def device(request):
    pytest.importorskip(request.param)
    return request.param


def _library(a) -> str:
    return type(a).__module__.split(".")[0]


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    Xr, yr = make_regression(120, 5, n_targets=2, noise=1.0, random_state=0)
    weights = np.random.default_rng(0).uniform(0.2, 2.0, 150)
    return {"multiclass": (X, y, weights), "binary": (X, (y == 0).astype(int), weights),
            "regression": (Xr, yr / 100, weights[:120]),
            "poisson": (Xr, np.abs(yr[:, 0]) / 100, weights[:120])}


CASES = [  # data, estimator options, sample weights
    ("multiclass", {"solver": "sgd", "alpha": 1e-3, "batch_size": 32}, False),
    ("binary", {"solver": "sgd", "nesterovs_momentum": False, "learning_rate": "invscaling",
                "activation": "logistic"}, True),
    ("multiclass", {"solver": "adam", "alpha": 1e-2}, True),
    ("multiclass", {"solver": "adam", "early_stopping": True, "n_iter_no_change": 3}, True),
    ("multiclass", {"solver": "gd", "shuffle": False, "activation": "tanh"}, False),
    ("binary", {"loss": "squared_error", "l1": 1e-3, "dropout": 0.2}, False),
    ("multiclass", {"solver": "lbfgs", "alpha": 1e-2}, True),
    ("regression", {"solver": "adam", "alpha": 1e-2, "batch_size": 50, "activation": "tanh"},
     True),
    ("regression", {"solver": "sgd", "early_stopping": True, "activation": "tanh"}, False),
    ("poisson", {"loss": "poisson", "solver": "adam"}, True),
    ("regression", {"solver": "lbfgs"}, False),
]


def _fit(kind, options, weighted, data, device, max_iter=12):
    X, y, weights = data[kind]
    Estimator = MLPRegressor if kind in ("regression", "poisson") else MLPClassifier
    est = Estimator(hidden_layer_sizes=(7, 5), learning_rate_init=0.01, max_iter=max_iter,
                    random_state=3, device=device, **options)
    return est.fit(X, y, sample_weight=weights if weighted else None), X


def _assert_same_model(a, b, X, rtol=RTOL):
    for name in ("coefs_", "intercepts_"):
        for p, q in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_allclose(p, q, rtol=rtol, atol=ATOL)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_
    if getattr(a, "validation_scores_", None):
        np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=rtol)
    out = a.predict_proba(X) if hasattr(a, "predict_proba") else a.predict(X)
    expected = b.predict_proba(X) if hasattr(b, "predict_proba") else b.predict(X)
    assert isinstance(out, np.ndarray) and out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=ATOL)
    if is_classifier(a):
        np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("kind, options, weighted", CASES)
def test_the_device_gives_the_numbers_of_the_cpu(kind, options, weighted, data, device):
    on_device, X = _fit(kind, options, weighted, data, device)
    on_cpu, _ = _fit(kind, options, weighted, data, "cpu")
    assert all(_library(p) == device for p in on_device.net_.params)
    assert all(isinstance(p, np.ndarray) for p in on_cpu.net_.params)
    rtol = LBFGS_RTOL if options.get("solver") == "lbfgs" else RTOL
    _assert_same_model(on_device, on_cpu, X, rtol)
    assert on_device.loss_curve_[-1] < on_device.loss_curve_[0]


def test_float32_data_trains_in_float32_on_the_device(data, torch):
    X, y, _ = data["multiclass"]
    on_torch = MLPClassifier((8,), max_iter=5, random_state=0, device="torch").fit(
        X.astype(np.float32), y)
    on_cpu = MLPClassifier((8,), max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    assert on_torch.net_.layers[1].W.dtype == torch.float32
    assert on_torch.coefs_[0].dtype == np.float32
    for p, q in zip(on_torch.coefs_, on_cpu.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)


def test_warm_start_and_partial_fit_continue_on_the_device(data, torch):
    X, y, weights = data["multiclass"]

    def train(device):
        est = MLPClassifier((6,), solver="adam", warm_start=True, max_iter=3, random_state=1,
                            device=device)
        est.fit(X, y).fit(X, y, sample_weight=weights)
        for _ in range(2):
            est.partial_fit(X, y)
        return est

    on_torch, on_cpu = train("torch"), train("cpu")
    assert all(isinstance(v, torch.Tensor) for s in on_torch._optimizer.state for v in s.values())
    assert on_torch._optimizer.t == on_cpu._optimizer.t
    _assert_same_model(on_torch, on_cpu, X)
    on_torch.set_params(device="cpu").partial_fit(X, y)  # the network and Adam's moments move
    on_cpu.partial_fit(X, y)
    assert all(isinstance(v, np.ndarray) for s in on_torch._optimizer.state for v in s.values())
    assert on_torch.net_.place.is_numpy
    _assert_same_model(on_torch, on_cpu, X)


def test_coefs_are_numpy_copies_and_assigning_them_sets_the_network(data, torch):
    X, y, _ = data["multiclass"]
    est = MLPClassifier((6,), max_iter=3, random_state=0, device="torch").fit(X, y)
    W1 = est.coefs_[0]
    assert isinstance(W1, np.ndarray) and W1.shape == (4, 6)
    W1[...] = 0.0  # a copy: the network keeps its weights
    assert np.abs(est.coefs_[0]).sum() > 0
    est.coefs_[0] = np.ones((4, 6))  # an assigned item is copied into W⁽¹⁾
    np.testing.assert_array_equal(est.net_.layers[1].W.cpu().numpy(), np.ones((6, 4)))
    est.intercepts_ = [np.zeros(6), np.zeros(3)]  # and so is an assigned list
    est.coefs_ = [np.ones((4, 6)), np.eye(6, 3)]
    hidden = np.maximum(X @ np.ones((4, 6)), 0)  # a⁽¹⁾ = relu(W⁽¹⁾x), b⁽¹⁾ = 0
    z = hidden @ np.eye(6, 3)
    softmax = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(X), softmax / softmax.sum(1, keepdims=True),
                               rtol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(4, 6\)"):
        est.coefs_[0] = np.ones((6, 4))


def test_a_pickled_device_estimator_loads_on_the_cpu_and_trains_on_where_it_was(
        data, device, tmp_path):
    X, y, _ = data["multiclass"]
    est = MLPClassifier((6,), solver="adam", max_iter=4, random_state=0, device=device)
    est.fit(X, y)
    joblib.dump(est, tmp_path / "est.joblib")
    loaded = joblib.load(tmp_path / "est.joblib")
    assert loaded.net_.place.is_numpy and isinstance(loaded._optimizer.state[0]["m"], np.ndarray)
    assert _library(est.net_.layers[1].W) == device  # the original stays where it was
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=1e-14)
    loaded.partial_fit(X, y)  # moves the network (and Adam's moments) back to the device
    est.partial_fit(X, y)
    assert _library(loaded.net_.layers[1].W) == device
    _assert_same_model(loaded, est, X)
    dropped = MLPRegressor(hidden_layer_sizes=(5,), early_stopping=True, dropout=0.2,
                           max_iter=4, random_state=0, device=device)
    pickled = pickle.dumps(dropped.fit(*data["regression"][:2]))
    assert all(isinstance(p, np.ndarray) for p in pickle.loads(pickled)._best_params)
    if device == "torch":
        assert b"_rebuild_tensor" not in pickled  # no tensor anywhere: loads without PyTorch


def test_device_is_a_parameter_scikit_learn_sees(torch):
    est = MLPRegressor(hidden_layer_sizes=(3,), device="torch")
    assert est.get_params()["device"] == "torch"
    assert clone(est).device == "torch"
    assert MLPClassifier().get_params()["device"] == "cpu"
    assert "device='torch'" in repr(est)


@pytest.mark.parametrize("device", ["torch", "cuda"])
def test_reading_back_is_once_a_batch_at_most_and_moving_there_once_an_epoch(
        device, data, torch, monkeypatch):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    X, y, weights = data["multiclass"]
    counts = _count_device_traffic(torch, monkeypatch, len(X))

    def traffic(batch_size, epochs):
        counts.update(to_host=0, to_device=0, data_to_device=0)
        MLPClassifier((6,), solver="adam", alpha=1e-3, l1=1e-4, batch_size=batch_size,
                      max_iter=epochs, n_iter_no_change=1000, random_state=0,
                      device=device).fit(X, y, sample_weight=weights)
        return dict(counts)

    few, many, longer = traffic(30, 3), traffic(10, 3), traffic(10, 6)  # 5, 15, 15 batches
    # per batch: the divergence guard reads the batch's cost (mlplab.core.step); nothing moves
    assert many["to_host"] - few["to_host"] <= (15 - 5) * 3
    assert many["to_device"] == few["to_device"]
    # per epoch: the order of the rows moves there once; the loss and the changes come back
    assert longer["to_device"] - many["to_device"] == 3
    assert longer["to_host"] - many["to_host"] <= 3 * (15 + 8)
    # per fit: X, Y and the weights move once (the core's check of Y moves Y once more)
    assert many["data_to_device"] - 3 <= 4


def _count_device_traffic(torch, monkeypatch, m: int) -> dict:
    """Count reads of tensors by the host, NumPy arrays moved to a device, and those of them
    with a row per sample (``m`` rows: data, not parameters)."""
    counts = {"to_host": 0, "to_device": 0, "data_to_device": 0}
    for name in ("__float__", "__bool__", "__int__", "__index__", "item", "tolist", "cpu",
                 "numpy", "__array__"):
        def counted(self, *args, _original=getattr(torch.Tensor, name), **kwargs):
            counts["to_host"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    asarray = Place.asarray

    def counted_asarray(self, a, dtype=None):
        moved = isinstance(a, np.ndarray) and not self.is_numpy
        counts["to_device"] += moved
        counts["data_to_device"] += moved and a.ndim > 0 and a.shape[0] == m
        return asarray(self, a, dtype)

    monkeypatch.setattr(Place, "asarray", counted_asarray)
    return counts


def test_read_only_data_trains_without_pytorch_warnings(data, torch):
    X, y, _ = data["multiclass"]
    X = X.copy()
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((4,), max_iter=2, random_state=0, device="torch").fit(X, y)
        assert est.predict(X).shape == (150,)


def test_without_pytorch_fit_says_which_extra_to_install(data, monkeypatch):
    X, y, _ = data["multiclass"]
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'mlplab\[torch\]'"):
        MLPClassifier((4,), device="torch").fit(X, y)


def test_a_bad_device_is_a_config_error_and_the_fitted_network_stays(data):
    X, y, _ = data["multiclass"]
    est = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(ConfigError, match="unknown device 'tpu'.*'cuda'"):
        est.set_params(device="tpu", warm_start=True).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_cuda_without_a_gpu_is_a_config_error(data, torch):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    X, y, _ = data["multiclass"]
    with pytest.raises(ConfigError, match="no CUDA GPU.*device='cpu'"):
        MLPRegressor(hidden_layer_sizes=(4,), device="cuda").fit(X, y)


def test_on_a_gpu_the_numbers_are_the_cpus(data, torch, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    for kind, options, weighted in CASES:
        on_gpu, X = _fit(kind, options, weighted, data, "cuda")
        on_cpu, _ = _fit(kind, options, weighted, data, "cpu")
        assert all(p.device.type == "cuda" for p in on_gpu.net_.params)
        rtol = LBFGS_RTOL if options.get("solver") == "lbfgs" else 1e-9
        _assert_same_model(on_gpu, on_cpu, X, rtol)
    joblib.dump(on_gpu, tmp_path / "gpu.joblib")
    loaded = joblib.load(tmp_path / "gpu.joblib")
    assert loaded.net_.place.is_numpy
    np.testing.assert_allclose(loaded.predict(X), on_gpu.predict(X), rtol=1e-12)
