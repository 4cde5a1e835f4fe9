"""Sweeps on Dask: real clusters on 127.0.0.1, compared with the serial run.

Two clusters are started: the embedded LocalCluster that ``sweep`` starts itself, and a
scheduler and two workers started as separate processes with the ``dask`` command (as a
user's cluster is), stopped by the fixture's finalizer. Every wait is bounded.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

import mlplab
from mlplab import ConfigError, MLPClassifier
from mlplab.cli import app
from mlplab.sklearn.sweep import TIMING, ranked, sweep

from imagecheck import assert_not_blank

distributed = pytest.importorskip("dask.distributed")
ROOT = Path(__file__).resolve().parents[1]
GRID = {"hidden_layer_sizes": [(8,), (24,)], "learning_rate_init": [0.003, 0.03]}
runner = CliRunner()


def estimator():
    return MLPClassifier(max_iter=60, batch_size=100)


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=600, n_features=8, n_informative=5, random_state=0)


def quiet_sweep(*args, **kwargs):
    """``sweep`` with the expected ConvergenceWarnings (short fits) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sweep(*args, **kwargs)


@pytest.fixture(scope="module")
def serial(data):
    """The reference: n_jobs=1, no Dask, one BLAS thread as each Dask worker has."""
    events = []
    with threadpool_limits(limits=1, user_api="blas"):
        search = quiet_sweep(estimator(), GRID, *data, cv=3, n_jobs=1, progress=events.append)
    return search, events


def assert_same_results(search, reference) -> None:
    """Every column of cv_results_ but the timings is equal, bit for bit."""
    got, expected = search.cv_results_, reference.cv_results_
    assert set(got) == set(expected)
    for key in expected:
        if key not in TIMING:
            assert list(got[key]) == list(expected[key]), key


def test_serial_sweep_reports_progress_and_ranks(serial):
    search, events = serial
    assert [e.done for e in events] == [3, 6, 9, 12] and {e.total for e in events} == {12}
    assert events[-1].best_score == search.best_score_
    assert events[-1].best_params == search.best_params_
    rows = ranked(search)
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert rows[0]["params"] == search.best_params_ and rows[0]["mean"] == search.best_score_
    assert search.best_score_ > 0.8  # the grid holds models that learn this problem


@pytest.mark.parametrize("n_iter", [None, 3])
def test_groups_give_scikit_learns_own_results(data, n_iter):
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    X, y = data[0][:200], data[1][:200]
    est = estimator().set_params(max_iter=5, random_state=0)
    ours = quiet_sweep(est, GRID, X, y, cv=2, n_iter=n_iter, seed=7, n_jobs=1)
    theirs = (GridSearchCV(est, GRID, cv=2) if n_iter is None else
              RandomizedSearchCV(est, GRID, n_iter=n_iter, cv=2, random_state=7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_same_results(ours, theirs.fit(X, y))
    assert len(ours.cv_results_["params"]) == (4 if n_iter is None else 3)


def test_embedded_cluster_matches_serial_scatters_data_once_and_stops(
        data, serial, monkeypatch):
    X, y = data
    scattered, submitted, seen = [], [], {}
    real_scatter, real_submit = distributed.Client.scatter, distributed.Client.submit

    def scatter(self, value, *args, **kwargs):
        futures = real_scatter(self, value, *args, **kwargs)
        if isinstance(value, list) and any(v is X for v in value):
            scattered.append(futures)
        return futures

    def submit(self, func, *args, **kwargs):
        submitted.append(kwargs.get("tasks", []))
        return real_submit(self, func, *args, **kwargs)

    def on_cluster(info):
        seen["info"] = info
        with distributed.Client(info.address, timeout=30) as client:  # look inside the workers
            seen["blas"] = client.run(lambda: [(p["internal_api"], p["num_threads"]) for p in
                                               __import__("threadpoolctl").threadpool_info()])
            seen["env"] = client.run(lambda: os.environ.get("OPENBLAS_NUM_THREADS"))

    monkeypatch.setattr(distributed.Client, "scatter", scatter)
    monkeypatch.setattr(distributed.Client, "submit", submit)
    events = []
    search = quiet_sweep(estimator(), GRID, X, y, cv=3, n_jobs=2, on_cluster=on_cluster,
                         progress=events.append)
    assert_same_results(search, serial[0])
    info = seen["info"]
    assert info.embedded and info.workers == 2 and info.threads == 2
    assert info.address.startswith("tcp://127.0.0.1:")
    # one BLAS thread in each single-threaded worker: 2 workers × 1 = the 2 cores asked for
    assert set(seen["env"].values()) == {"1"}
    assert all(n == 1 for threads in seen["blas"].values() for _, n in threads)
    # X and y went out once (to one worker); each fit's task refers to them by their futures
    assert len(scattered) == 1
    keys = {f.key for f in scattered[0]}
    tasks = [task for batch in submitted for task in batch]
    assert len(tasks) == 12
    for _, args, kwargs in tasks:
        refs = {a.key for a in [*args, *kwargs.values()] if isinstance(a, distributed.Future)}
        assert keys <= refs
        assert not any(isinstance(a, np.ndarray) and a.nbytes > 1000 for a in args)
    assert events[-1].done == events[-1].total == 12
    # and the cluster is gone
    with pytest.raises((OSError, TimeoutError)):
        distributed.Client(info.address, timeout=2)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """``dask scheduler`` and ``dask worker --nworkers 2`` as separate processes on 127.0.0.1;
    yields the scheduler's address. Both (and the workers they spawn) are stopped after."""
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    started = []

    def start(*args):
        # the dask command of this interpreter; its own session so the finalizer can end the
        # process and every worker process it spawned together
        process = subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=folder, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        started.append(process)

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(file), "--idle-timeout", "600")
        start("worker", "--scheduler-file", str(file), "--nworkers", "2", "--nthreads", "1",
              "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60")
        address, deadline = None, time.monotonic() + 60
        while address is None and time.monotonic() < deadline:
            time.sleep(0.1)
            try:  # the scheduler writes the file while we may read it: wait until it parses
                address = __import__("json").loads(file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                pass
        assert address is not None, "the scheduler wrote no scheduler file within 60 s"
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_a_worker_killed_mid_sweep_loses_no_fit(dask_cluster, data, serial):
    with distributed.Client(dask_cluster, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
        pids = client.run(os.getpid)
        killed = {}

        def kill_a_busy_worker():  # as soon as a worker is running a fit, SIGKILL it
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items() if keys and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed[busy[0]] = pids[busy[0]]
                time.sleep(0.005)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        search = quiet_sweep(estimator(), GRID, *data, cv=3, scheduler=dask_cluster)
        killer.join(timeout=65)
        assert killed, "no worker was seen running a fit"
        assert next(iter(killed)) not in client.scheduler_info()["workers"]  # it really died
    assert_same_results(search, serial[0])


def test_cli_sweep_on_a_cluster_saves_the_best_model(dask_cluster, tmp_path):
    with distributed.Client(dask_cluster, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)  # a worker killed by another test is back
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame({"x": rng.normal(size=n).round(3), "colour": rng.choice(["red", "blue"], n),
                          "noise": rng.normal(size=n).round(3)})
    frame["label"] = np.where((frame.x > 0) ^ (frame.colour == "red"), "yes", "no")
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "best"
    result = runner.invoke(app, ["sweep", "--csv", str(csv), "--target", "label",
                                 "--grid", "hidden=4,16x8", "--grid", "lr=0.003,0.03",
                                 "--cv", "3", "--max-epochs", "80", "--scheduler", dask_cluster,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"cluster {dask_cluster}: 2 workers, 2 threads; dashboard: none" in text
    assert "fits 12/12 best so far" in text and "4 candidates, best first" in text
    net = mlplab.load(out / "model.safetensors")
    tab = net.extra["tabular"]
    assert tab["target"]["classes"] == ["no", "yes"] and tab["metrics"]["cv_accuracy"] > 0.75
    results = pd.read_csv(out / "cv_results.csv")
    assert len(results) == 4 and results["rank_test_score"].min() == 1
    assert f"{tab['metrics']['cv_accuracy']:.4f}" in text
    assert_not_blank(out / "sweep.png")
    predicted = runner.invoke(app, ["predict", str(out / "model.safetensors"), "--csv", str(csv)])
    assert predicted.exit_code == 0 and "accuracy" in predicted.output


@pytest.mark.parametrize("args, message", [
    (["--grid", "hidden"], "must look like NAME=V1,V2"),
    (["--grid", "hidden=8,x"], "is not layer sizes like 16 or 32x16"),
    (["--grid", "lr=0.1", "--grid", "lr=0.2"], "names 'learning_rate_init' twice"),
    (["--grid", "colour=1,2"], "unknown name 'colour'; use hidden, lr, epochs, batch (short "
                               "names), or any estimator parameter: activation, alpha,"),
    (["--grid", "hiden=8,16"], "unknown name 'hiden'; did you mean 'hidden'?"),
    (["--grid", "lr=0.1", "--cv", "1"], "--cv must be at least 2 folds"),
    (["--grid", "lr=0.1", "--scheduler", "localhost:8786"], "must look like tcp://HOST:PORT"),
    (["--grid", "lr=0.1", "--n-jobs", "0"], "n_jobs must be 1 (serial)"),
])
def test_cli_sweep_errors_are_one_line(tmp_path, args, message):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,c\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    result = runner.invoke(app, ["sweep", "--csv", str(csv), "--target", "c", *args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:")
    assert message in lines[0], lines[0]


def test_unreachable_scheduler_and_missing_dask_are_clear_errors(data, monkeypatch):
    with pytest.raises(ConfigError, match="no Dask cluster answered at tcp://127.0.0.1:9"):
        sweep(estimator(), GRID, *data, scheduler="tcp://127.0.0.1:9", timeout=1)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'mlplab\[dask\]'"):
        sweep(estimator(), GRID, *data)
    assert quiet_sweep(estimator().set_params(max_iter=5), {"alpha": [0.1]}, *data, cv=2,
                       n_jobs=1).cv_results_["mean_test_score"].shape == (1,)  # serial needs no Dask
