"""One contender on one case, in its own process: ``python bench/contenders.py NAME CASE REPS``.

Prints one JSON line: ``{"times": [seconds per epoch (or per call), ...], ...extra}``.
Run by ``bench/run.py``; each contender gets a fresh process because PyTorch's OpenMP pool and
NumPy's OpenBLAS pool busy-wait and slow each other down when they share one.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

# this checkout's mlplab (not an installed one), or MLPLAB_PATH's: an older version to compare
ROOT = os.environ.get("MLPLAB_PATH") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# the clock: wall time, or with BENCH_CLOCK=cpu this process's CPU time (run.py --clock cpu:
# one thread on a busy machine, where other processes' load stretches the wall time)
clock = time.process_time if os.environ.get("BENCH_CLOCK") == "cpu" else time.perf_counter
N, SIZES, LR = 60_000, [784, 256, 128, 10], 0.1
CASES = {  # name: (hidden activation, batch size)
    "relu-128": ("relu", 128), "relu-32": ("relu", 32), "relu-1024": ("relu", 1024),
    "sigmoid-128": ("sigmoid", 128),
}
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)
XOR_EPOCHS = 10_000


def rss_mib(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, SIZES[0]), dtype=np.float32)  # no float64 temporary
    labels = rng.integers(0, SIZES[-1], N)
    return X, labels


# ---------------------------------------------------------------- large networks
def epoch_clock():
    """A callback timing each epoch of ``fit`` (``.times``) and the peak RSS of the run
    (``.peak``, MiB). mlplab is imported here, not by this module: other contenders' processes
    never load it."""
    from mlplab.callbacks import Callback

    class Clock(Callback):
        def __init__(self):
            self.times, self.peak, self.code = [], None, None

        def on_train_begin(self, trainer):
            try:  # reset the peak-RSS mark: measure the epochs, not the input checks
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
            self.code_begin = rss_mib("RssFile")

        def on_epoch_begin(self, trainer, epoch):
            self.t0 = clock()

        def on_epoch_end(self, trainer, epoch, logs):
            self.times.append(clock() - self.t0)

        def on_train_end(self, trainer):
            self.peak = rss_mib("VmHWM")
            # the file-backed pages (the libraries' code: shared between processes, reclaimable)
            # as the epochs began and ended: where they are the same, VmHWM less them is the
            # peak of the rest (the data, the fit's arrays, the libraries' own allocations)
            self.code = (self.code_begin, rss_mib("RssFile"))

    return Clock()


def mlplab_epochs(case: str, reps: int) -> dict:
    import mlplab

    rss_start, code_start = rss_mib(), rss_mib("RssFile")
    X, labels = data()
    Y = np.eye(SIZES[-1], dtype=np.float32)[labels]
    act, bs = CASES[case]
    init = "he_normal" if act == "relu" else "xavier_normal"
    net = mlplab.Network(SIZES, activation=act, loss="cross_entropy", init=init, seed=0)
    net.fit(X[:4096], Y[:4096], optimizer="sgd", learning_rate=LR, batch_size=bs,
            max_epochs=1, epsilon=None)  # warm-up: BLAS threads, allocations
    rss_ready = rss_mib()  # the data, and the libraries the first fit loaded (numba, MKL)

    timer = epoch_clock()
    hist = net.fit(X, Y, optimizer="sgd", learning_rate=LR, batch_size=bs, max_epochs=reps,
                   epsilon=None, callbacks=[timer])
    assert np.isfinite(hist.loss[-1]), hist.loss
    assert net.layers[1].W.dtype == np.float32
    return {"times": timer.times, "backend": getattr(hist, "backend", "-"),
            "data_mib": (X.nbytes + Y.nbytes) / 2**20, "rss_start_mib": rss_start,
            "rss_ready_mib": rss_ready, "code_start_mib": code_start,
            "code_epochs_mib": timer.code, "peak_epochs_mib": timer.peak,
            "peak_process_mib": rss_mib("VmHWM") if timer.peak is None else None}


def gemm_epochs(case: str, reps: int, order: str = "F", mkl: bool = False) -> dict:
    """The matrix products an epoch needs and nothing else: the lower bound.

    ``order="F"``: W⁽ˡ⁾ laid out as mlplab's Dense keeps it (column-major, so ``A @ W.T`` is
    an untransposed product for BLAS), the bound for mlplab's own products. ``order="C"``:
    W row-major as most code (and PyTorch's Linear) keeps it, for reference. ``mkl``: the
    products in MKL, called as mlplab's dense step calls it (each product's call prepared once):
    the bound of mlplab's products where ``mlplab[mkl]`` is installed; an error elsewhere.
    """
    matmul = np.matmul
    if mkl:
        from mlplab.accel import products

        lib = products.mkl_library()
        if lib is None:
            raise SystemExit("MKL with threads is not installed: pip install 'mlplab[mkl]'")
        matmul = products.Products(lib)  # called as matmul(A, B, out=C)
    act, bs = CASES[case]
    rng = np.random.default_rng(0)
    n = SIZES
    W = [np.array(rng.standard_normal((n[l + 1], n[l]), dtype=np.float32) * 0.01, order=order)
         for l in range(3)]
    last = N % bs
    shapes = [bs] * (N // bs) + ([last] if last else [])
    bufs = {}
    for m in set(shapes):
        A = [rng.standard_normal((m, k), dtype=np.float32) for k in n]  # a⁽⁰⁾ … a⁽³⁾
        bufs[m] = (A, [np.empty((m, k), np.float32) for k in n[:3]],
                   [rng.standard_normal((m, k), dtype=np.float32) for k in n[1:]])
    dW = [np.empty_like(w) for w in W]
    WT = [w.T for w in W]  # the transposed views made once, as mlplab keeps them
    DT = {m: [d.T for d in bufs[m][2]] for m in bufs}

    def epoch():
        for m in shapes:
            A, dA, D = bufs[m]
            for l in range(3):  # 3 forward GEMMs
                matmul(A[l], WT[l], out=A[l + 1])
            for l in (2, 1, 0):  # 3 weight-gradient GEMMs
                matmul(DT[m][l], A[l], out=dW[l])
            for l in (2, 1):  # 2 delta GEMMs
                matmul(D[l], W[l], out=dA[l])

    epoch()
    times = []
    for _ in range(reps):
        t0 = clock()
        epoch()
        times.append(clock() - t0)
    return {"times": times}


def torch_epochs(case: str, reps: int) -> dict:
    import torch
    from torch import nn

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(0)
    act, bs = CASES[case]
    G = nn.ReLU if act == "relu" else nn.Sigmoid
    model = nn.Sequential(nn.Linear(784, 256), G(), nn.Linear(256, 128), G(),
                          nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    lossf = nn.CrossEntropyLoss()
    X, labels = data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels)

    def epoch(n):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / n

    epoch(4096)
    times = []
    for _ in range(reps):
        t0 = clock()
        epoch(N)
        times.append(clock() - t0)
    return {"times": times, "threads": torch.get_num_threads()}


def sklearn_epochs(case: str, reps: int) -> dict:
    import warnings

    from sklearn.neural_network import MLPClassifier

    act, bs = CASES[case]
    X, labels = data()
    clf = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]),
                        activation="relu" if act == "relu" else "logistic",
                        solver="sgd", learning_rate_init=LR, momentum=0.0,
                        nesterovs_momentum=False, alpha=0.0, batch_size=bs, shuffle=True,
                        random_state=0)
    classes = np.arange(SIZES[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:4096], labels[:4096], classes=classes)  # warm-up; one epoch each
        times = []
        for _ in range(reps):
            t0 = clock()
            clf.partial_fit(X, labels)
            times.append(clock() - t0)
    return {"times": times, "dtype": str(clf.coefs_[0].dtype)}


# ---------------------------------------------------------------- the estimators' defaults
def _estimator_epochs(make, reps: int) -> dict:
    """Epochs of ``make(max_iter)`` (a classifier with its default settings: one hidden layer
    of 100 ReLU units, Adam, alpha 1e-4, batch 200; ``tol=0`` so that no fit stops early) on
    the bench data. An epoch is timed as the difference between a fit of 4 epochs and one of
    1 epoch, over 3: the input checks, the label encoding and the set-up of ``fit`` cancel, and
    their noise is shared by three epochs (with 3 and 1 epochs, over 2, a slow set-up of the
    short fit made a best epoch of 0.185 s out of epochs of 0.265 s timed inside the fit)."""
    import warnings

    X, labels = data()
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(1).fit(X, labels)  # warm-up at the timed size: a first full-size fit's one-time
        # costs stay out of the timed fits (once they cost mlplab's first fit 0.1 s, and its
        # first differenced epoch looked ~15 % shorter: bench/README.md, 2026-12-05 evening)
        for _ in range(reps):
            t = []
            for epochs in (1, 4):
                clf = make(epochs)
                t0 = clock()
                clf.fit(X, labels)
                t.append(clock() - t0)
            times.append((t[1] - t[0]) / 3)
    return {"times": times}


def mlplab_estimator(case: str, reps: int) -> dict:
    import mlplab

    return _estimator_epochs(lambda k: mlplab.MLPClassifier(max_iter=k, tol=0, random_state=0),
                             reps)


def sklearn_estimator(case: str, reps: int) -> dict:
    from sklearn.neural_network import MLPClassifier

    return _estimator_epochs(lambda k: MLPClassifier(max_iter=k, tol=0, random_state=0), reps)


# ---------------------------------------------------------------- small full-batch Adam
SMALL_EPOCHS = 2000


def mlplab_small(case: str, reps: int) -> dict:
    """The overfitting lab's network: 2-100-100-1 ReLU, cross-entropy, 40 points, full-batch
    Adam (lr 0.01) for 2,000 epochs; time per epoch."""
    import mlplab

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)

    def fit(epochs):
        net = mlplab.Network([2, 100, 100, 1], activation="relu", loss="cross_entropy",
                             init="he_normal", seed=0)
        net.fit(X, y, optimizer="adam", learning_rate=0.01, max_epochs=epochs, epsilon=None,
                seed=0)
        return net

    fit(SMALL_EPOCHS)  # warm-up: numba's kernels loaded, first allocations
    times = []
    for _ in range(reps):
        t0 = clock()
        net = fit(SMALL_EPOCHS)
        times.append((clock() - t0) / SMALL_EPOCHS)
    return {"times": times, "backend": getattr(net.history, "backend", "-")}


# ---------------------------------------------------------------- tiny network
def mlplab_xor(case: str, reps: int, fast: bool = True) -> dict:
    import mlplab

    try:
        from mlplab.accel import tiny as fastpath
    except ImportError:  # an older version: mlplab.fastpath, or none
        try:
            from mlplab import fastpath
        except ImportError:
            fastpath = None
    if fastpath is not None:
        fastpath.ENABLED = fast
    net = mlplab.Network([2, 2, 1], activation="sigmoid", loss="mse", seed=0)
    net.fit(XOR_X, XOR_Y, optimizer="gd", learning_rate=0.5, max_epochs=10, epsilon=None)
    times = []
    for _ in range(reps):
        net = mlplab.Network([2, 2, 1], activation="sigmoid", loss="mse", seed=0)
        t0 = clock()
        net.fit(XOR_X, XOR_Y, optimizer="gd", learning_rate=0.5, max_epochs=XOR_EPOCHS,
                epsilon=None)
        times.append((clock() - t0) / XOR_EPOCHS)
    return {"times": times, "loss": net.history.loss[-1]}


def torch_xor(case: str, reps: int) -> dict:
    import torch
    from torch import nn

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
    X, Y = torch.tensor(XOR_X, dtype=torch.float32), torch.tensor(XOR_Y, dtype=torch.float32)
    times = []
    for r in range(reps + 1):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        epochs = 10 if r == 0 else XOR_EPOCHS
        t0 = clock()
        for _ in range(epochs):  # the lecture's loop: full batch, record the cost each epoch
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(X) - Y) ** 2).sum(1).mean()
            loss.backward()
            opt.step()
            loss.item()
        if r:
            times.append((clock() - t0) / epochs)
    return {"times": times}


# ---------------------------------------------------------------- inference
def mlplab_predict(case: str, reps: int) -> dict:
    """``predict`` on 60,000 rows against its three forward GEMMs, alternating in one process."""
    import mlplab

    X, labels = data()
    net = mlplab.Network(SIZES, activation="relu", loss="cross_entropy", init="he_normal",
                         seed=0, dtype="float32")
    Ws = [layer.W for layer in net.layers[1:]]
    outs = [np.empty((N, w.shape[0]), np.float32) for w in Ws]

    def gemms():
        A = X
        for W, out in zip(Ws, outs):
            A = np.matmul(A, W.T, out=out)

    net.predict(X)
    gemms()
    t_pred, t_gemm = [], []
    for _ in range(reps):
        t0 = clock()
        net.predict(X)
        t_pred.append(clock() - t0)
        t0 = clock()
        gemms()
        t_gemm.append(clock() - t0)
    return {"times": t_pred, "gemm_times": t_gemm}


RUNNERS = {
    ("mlplab", "large"): mlplab_epochs, ("gemm", "large"): gemm_epochs,
    ("gemm-Wrows", "large"): lambda c, r: gemm_epochs(c, r, order="C"),
    ("gemm-mkl", "large"): lambda c, r: gemm_epochs(c, r, mkl=True),
    ("mlplab-openblas", "large"): mlplab_epochs,  # run.py sets MLPLAB_MKL=off for it
    ("torch", "large"): torch_epochs, ("sklearn", "large"): sklearn_epochs,
    ("mlplab", "xor"): mlplab_xor, ("mlplab-numpy", "xor"): lambda c, r: mlplab_xor(c, r, False),
    ("torch", "xor"): torch_xor, ("mlplab", "predict"): mlplab_predict,
    ("mlplab", "estimator"): mlplab_estimator, ("sklearn", "estimator"): sklearn_estimator,
    ("mlplab", "adam-small"): mlplab_small,
}


def blas_info() -> dict:
    from threadpoolctl import threadpool_info

    return [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in threadpool_info() if p.get("user_api") == "blas"]


if __name__ == "__main__":
    name, case, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    kind = "large" if case in CASES else case
    result = RUNNERS[name, kind](case, reps)
    result["blas"] = blas_info()
    print(json.dumps(result))
