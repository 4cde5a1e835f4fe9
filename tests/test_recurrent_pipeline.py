"""The recurrent accelerator training each batch in two halves of its sequences, the second
on a worker thread (mlplab.accel.rnn_base), computes what the core computes, the same numbers
every run, and passes on an error raised on the worker."""

import os
import select
import signal
import threading
import time

import numpy as np
import pytest

import mlplab
from mlplab.accel import handoff, recurrent, rnn_base, rnn_cells, rnn_kernels
from mlplab.layers import GRU, LSTM, Dense, Input, SimpleRNN, TimeDense

KINDS = {"lstm": LSTM, "gru": GRU}


@pytest.fixture
def worker(monkeypatch):
    """Fits as on a machine with a core to spare for the worker; the rows of the halves the
    worker ran."""
    if rnn_cells.loops() is None:
        pytest.skip("needs numba and MKL (pip install 'mlplab[mkl]')")
    monkeypatch.setattr(recurrent, "numpy_blas_threads", lambda: 2)
    ran = []
    submit = handoff.Worker.submit

    def spy(self, fn, *args):
        ran.append(args[0].rows if args and isinstance(args[0], rnn_base.Kernel) else None)
        return submit(self, fn, *args)

    monkeypatch.setattr(handoff.Worker, "submit", spy)
    return ran


def _net(kind, sequences, m_in=3, dtype=np.float64, T=7):
    cls = KINDS[kind]
    head = TimeDense(4, 3, "softmax", rng=np.random.default_rng(3), dtype=dtype) if sequences \
        else Dense(4, 1, "identity", rng=np.random.default_rng(3), dtype=dtype)
    layers = [Input((T, m_in)),
              cls(m_in, 5, return_sequences=True, rng=np.random.default_rng(1), dtype=dtype),
              cls(5, 4, return_sequences=sequences, rng=np.random.default_rng(2), dtype=dtype),
              head]
    return mlplab.Network.from_layers(layers, loss="cross_entropy" if sequences else "mse",
                                      seed=0)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("batch, T", [(16, 7), (5, 10), (1, 2)])  # odd halves; one row: whole
def test_fits_with_the_worker_equal_the_core(worker, kind, sequences, batch, T):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, T, 3))
    y = rng.integers(0, 3, (20, T)) if sequences else X[:, :, 0].sum(1, keepdims=True)
    kw = dict(optimizer="adam", learning_rate=0.01, batch_size=batch, max_epochs=3,
              epsilon=None, seed=1)
    fast, core = _net(kind, sequences, T=T), _net(kind, sequences, T=T)
    h_fast = fast.fit(X, y, accelerate=True, **kw)
    h_core = core.fit(X, y, accelerate=False, **kw)
    assert h_fast.backend == "numpy-recurrent+numba+mkl"
    if batch > 1:  # the second half of every batch (the last one's too), both ways
        assert slice(batch // 2, batch) in worker and slice(0, batch // 2) not in worker
        assert len(worker) == 2 * 2 * 3 * (20 // batch + (20 % batch > 0))  # layers, epochs
    else:
        assert worker == []  # one sequence: nothing to share
    for p, q in zip(fast.params, core.params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h_fast.loss, h_core.loss, rtol=1e-9)


def test_the_same_fit_gives_the_same_numbers_every_run(worker):
    """Each half's sums, then theirs: bit for bit the same."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(24, 10, 3)).astype(np.float32), rng.normal(size=(24, 1))
    runs = []
    for _ in range(3):
        net = _net("lstm", False, dtype=np.float32, T=10)
        net.fit(X, y.astype(np.float32), optimizer="sgd", learning_rate=0.05, batch_size=8,
                max_epochs=2, epsilon=None, seed=1, accelerate=True)
        runs.append(net.params)
    assert worker
    for other in runs[1:]:
        for p, q in zip(runs[0], other):
            np.testing.assert_array_equal(p, q)


def test_an_error_on_the_worker_reaches_the_fit_after_both_halves_ended(worker, monkeypatch):
    done = []
    steps_back = rnn_kernels.GRUKernel.steps_back

    def failing(self, dh, dA_seq):
        done.append(self.rows)
        if self.rows.start:  # the worker's half
            raise MemoryError("no room for the second half")
        steps_back(self, dh, dA_seq)

    monkeypatch.setattr(rnn_kernels.GRUKernel, "steps_back", failing)
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(8, 7, 3)), rng.normal(size=(8, 1))
    with pytest.raises(MemoryError, match="second half"):
        _net("gru", False).fit(X, y, batch_size=8, max_epochs=1, accelerate=True)
    assert sorted(r.start for r in done) == [0, 4]  # the loop's half ran to its end too


def test_the_simple_rnn_keeps_its_products_on_mkls_threads(worker):
    """For SimpleRNN the worker measured slower (its steps are short beside the products)."""
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(8, 7, 3)), rng.normal(size=(8, 1))
    net = mlplab.Network.from_layers([Input((7, 3)), SimpleRNN(3, 4), Dense(4, 1, "identity")],
                                     loss="mse")
    net.fit(X, y, batch_size=8, max_epochs=1, accelerate=True)
    assert worker == []


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python ≥ 3.12's warning
def test_a_forked_process_gets_a_worker_of_its_own():
    if not handoff.available():
        pytest.skip("needs numba")
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    first = handoff.worker()
    assert handoff.worker() is first and first.submit(lambda: 3).result() == 3
    read, write = os.pipe()
    ready, pid = [], None
    try:
        pid = os.fork()
        if pid == 0:  # the child: the parent's worker thread is not here; it starts its own
            try:
                child = handoff.worker()
                ok = child is not first and child.submit(lambda: 7).result() == 7
                os.write(write, b"y" if ok else b"n")
            except BaseException as exc:  # said to the parent, not lost with the child
                os.write(write, repr(exc).encode()[:500])
            finally:
                os._exit(0)
        os.close(write)
        write = None
        ready, _, _ = select.select([read], [], [], 60)
        answer = os.read(read, 500) if ready else b"hung"
    finally:
        if pid and not ready:
            os.kill(pid, signal.SIGKILL)
        if pid:
            os.waitpid(pid, 0)
        for fd in (read, write):
            if fd is not None:
                os.close(fd)
    assert answer == b"y"
    assert handoff.worker() is first and first.submit(lambda: 4).result() == 4  # the parent's


def test_the_worker_runs_one_task_at_a_time_and_hands_back_its_error():
    if not handoff.available():
        pytest.skip("needs numba")
    worker, seen = handoff.worker(), []

    def slow(k):
        seen.append(("start", k))
        time.sleep(0.02)
        seen.append(("end", k))
        return k

    def other_thread():
        seen.append(("result", worker.submit(slow, 2).result()))

    task = worker.submit(slow, 1)
    thread = threading.Thread(target=other_thread)
    thread.start()  # its submit waits until this task's result is taken
    time.sleep(0.05)
    assert task.result() == 1
    thread.join()
    assert seen == [("start", 1), ("end", 1), ("start", 2), ("end", 2), ("result", 2)]
    with pytest.raises(ZeroDivisionError):
        worker.submit(lambda: 1 / 0).result()
    assert worker.submit(lambda: "still there").result() == "still there"
    time.sleep(0.01)  # past its spinning: asleep, and woken by the next task
    assert worker.submit(lambda: 3).result() == 3


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("shape", [(12, 5), (5,), (1, 5)])  # per sequence, or one for all
def test_each_half_starts_from_its_rows_of_an_initial_state(worker, kind, shape):
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(12, 7, 3)), rng.normal(size=(12, 1))
    h0 = rng.normal(size=shape)
    nets = [_net(kind, False), _net(kind, False)]
    for net in nets:
        net.layers[1].initial_state = (h0, -h0) if kind == "lstm" else h0
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=12, max_epochs=3, epsilon=None)
    nets[0].fit(X, y, accelerate=True, **kw)
    nets[1].fit(X, y, accelerate=False, **kw)
    assert slice(6, 12) in worker
    for p, q in zip(nets[0].params, nets[1].params):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    for a, b in zip(nets[0].layers[1].state, nets[1].layers[1].state):  # the last states
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_an_interrupted_wait_still_waits_for_the_task_and_frees_the_worker(monkeypatch):
    if not handoff.available():
        pytest.skip("needs numba")
    worker = handoff.worker()
    monkeypatch.setattr(handoff, "SPIN", 1)  # straight to the event
    calls = []
    wait = threading.Event.wait
    caller = threading.get_ident()
    # the task runs until the caller's wait is interrupted, whatever the machine's load (a
    # timed task could end first, and then its worker thread, going back to sleep, was the
    # one interrupted: it died, and every later task of this process hung)
    gate = threading.Lock()
    gate.acquire()

    def interrupted(self, timeout=None):  # the first sleep of the caller is interrupted
        if not calls and threading.get_ident() == caller:
            calls.append(1)
            gate.release()  # the task ends now: after the interruption, not before
            raise KeyboardInterrupt
        return wait(self, timeout)

    task = worker.submit(gate.acquire)
    monkeypatch.setattr(threading.Event, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        task.result()
    monkeypatch.setattr(threading.Event, "wait", wait)
    assert worker._done[0] == 1  # the task had ended when the interruption went on
    assert worker.submit(lambda: "free").result() == "free"
